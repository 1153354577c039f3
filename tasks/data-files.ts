/**
 * The data files planned stages read, checked before any stage runs: each task says which files
 * it reads and checks their headers next to its own data-reading code
 * ({@link smnistDataProblems}, {@link celltypeDataProblems}); this module maps a stage config to
 * that task's options, as the stage runners do (activities/model-setup.ts), and collects the
 * problems of every distinct data source once.
 */
import type { ModelTaskConfig } from '../sweeps/stage-config.js';
import { celltypeDataProblems } from './celltype.js';
import { smnistDataProblems } from './smnist.js';

/** A data file (or folder) that a planned stage would fail to read, and what is expected of it. */
export interface DataFileProblem {
  /** Absolute path of the file or folder. */
  file: string;
  /** What is wrong and what is expected, e.g. `missing; expected ... (samples, 15)`. */
  problem: string;
}

/** The problems of one stage config's data (none for flip-flop and wave, which generate theirs). */
function configProblems(c: ModelTaskConfig): DataFileProblem[] {
  switch (c.task) {
    case 'smnist':
      return smnistDataProblems({ source: c.dataSource ?? undefined, dataDir: c.dataDir ?? undefined, nTrain: c.nTrain, nTest: c.nTest });
    case 'celltype': {
      const ct = c.celltype;
      if (ct === undefined) return [];
      return celltypeDataProblems({ condition: ct.condition, dataSource: ct.data, dataDir: c.dataDir ?? undefined, nTrain: c.nTrain, nTest: c.nTest });
    }
    case 'flipflop':
    case 'wave':
      return [];
  }
}

/**
 * Checks every data folder and file the given stage configs read (existence, a regular file, a
 * valid header of the expected type and shape, enough samples), each distinct source once.
 * Reads headers only.
 * @returns every problem, each file once (the first problem found for it), in stage order; empty
 *   when all data look readable
 */
export function stageDataProblems(configs: Iterable<ModelTaskConfig>): DataFileProblem[] {
  const seen = new Set<string>();
  const byFile = new Map<string, DataFileProblem>();
  for (const c of configs) {
    if (c.task === 'flipflop' || c.task === 'wave') continue; // generated data (a plan may hold 10^5 such stages)
    const key = `${c.task}\0${c.dataSource}\0${c.dataDir}\0${c.nTrain}\0${c.nTest}\0${c.celltype?.condition}\0${c.celltype?.data}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const p of configProblems(c)) if (!byFile.has(p.file)) byFile.set(p.file, p);
  }
  return [...byFile.values()];
}
