/**
 * The task-specific rules of a sweep run, asked by the spec layer (sweeps/spec.ts) so that it
 * carries no task knowledge of its own: why a task does not read a parameter, the checks of one
 * resolved run (cell-type conditions, Table 1 pruning and data sources; sMNIST data folders;
 * pruning and sparsity together), which runs read a data directory, and the parameters a task
 * fixes itself (a cell-type run's N, nExc and threshold come from its layout).
 *
 * The run parameters are those of `RunParams` (sweeps/params.ts); this module reads them through
 * {@link TaskRunParams}, the structural subset it needs (tasks/ sits below sweeps/).
 */
import { CELLTYPE_CONDITIONS } from '../celltype/conditions.js';
import { celltypeLayout } from '../celltype/populations.js';
import type { TaskName } from './registry.js';

/** The parameters of a resolved run that the task rules read (a subset of sweeps' `RunParams`). */
export interface TaskRunParams {
  task: TaskName;
  nHidden: number;
  excFraction: number;
  threshold: number;
  nTrain: number;
  nTest: number;
  dataSource: string | null;
  dataDir: string | null;
  condition: string | null;
  latentScaling: number | null;
  celltypeData: 'files' | 'synthetic' | null;
  syntheticSamples: number | null;
  pruning: string | null;
  sparsity: number | null;
}

/**
 * One broken rule of a run: where it points (a run parameter, the run as a whole, or the sweep's
 * `stages.prune.mode`), the expected form, and whether the position is the key (true) or its
 * value (false), as the spec's error positions distinguish.
 */
export interface TaskRunProblem {
  at: { param: string } | 'run' | 'prune-mode';
  message: string;
  key: boolean;
}

/** Whether a run reads a data directory: celltype with celltypeData files, smnist with dataSource mnist. */
export function readsDataDir(p: Pick<TaskRunParams, 'task' | 'celltypeData' | 'dataSource'>): boolean {
  return (p.task === 'celltype' && p.celltypeData === 'files') || (p.task === 'smnist' && p.dataSource === 'mnist');
}

/** Why task `task` does not read run parameter `k` (one line for the spec's error). */
export function whyTaskIgnoresParam(k: string, task: TaskName): string {
  if (k === 'dataSource' && task !== 'celltype') return `dataSource (the sMNIST image source) applies only to task smnist (this run is task ${task})`;
  if (task !== 'celltype') return `${k} applies only to task celltype (this run is task ${task})`;
  switch (k) {
    case 'nHidden':
    case 'excFraction':
    case 'threshold':
      return `${k} does not apply to task celltype: its layout fixes N = 90 x latentScaling, nExc = 0.8 N and threshold 0 (set latentScaling instead)`;
    case 'dataSource':
      return 'dataSource (the sMNIST image source) does not apply to task celltype; use celltypeData: files | synthetic';
    case 'sparsity':
      return 'sparsity does not apply to task celltype: pruning celltype prunes each population block to its Table 1 connection probability';
    default:
      return `${k} does not apply to task celltype`;
  }
}

/**
 * The task rules one resolved run breaks, in the order the spec reports them (it reports the
 * first): for celltype a condition, pruning method celltype only (and not iterative), and a
 * consistent data source; for the other tasks no Table 1 pruning, held-out samples, pruning and
 * sparsity together, and an MNIST folder exactly when dataSource is mnist.
 * @param pruneMode the sweep's `stages.prune.mode`
 */
export function taskRunProblems(p: TaskRunParams, pruneMode: string): TaskRunProblem[] {
  const out: TaskRunProblem[] = [];
  const at = (param: string, message: string, key = true): void => {
    out.push({ at: { param }, message, key });
  };
  if (p.task === 'celltype') {
    if (p.condition === null) {
      out.push({ at: 'run', message: `task celltype needs a condition: give axes.condition (a list of ${CELLTYPE_CONDITIONS.join(', ')}) or fixed.condition`, key: false });
    }
    if (p.pruning !== null && p.pruning !== 'celltype') {
      at('pruning', `task celltype is pruned block-wise to the connection probabilities of Table 1: use pruning celltype (got ${p.pruning})`);
    }
    if (p.pruning !== null && pruneMode === 'iterative') {
      out.push({ at: 'prune-mode', message: 'iterative pruning does not apply to task celltype (Table 1 fixes every block\'s connection probability): use one-shot or at-init', key: false });
    }
    if (p.celltypeData === 'files' && p.dataDir === null) {
      at('celltypeData', "celltypeData files (the default) needs dataDir (the folder of the authors' dff_*_{train,test}.npy files); or set celltypeData: synthetic");
    }
    if (p.celltypeData === 'synthetic' && p.dataDir !== null) at('dataDir', 'dataDir is only read with celltypeData files (celltypeData is synthetic)');
    if (p.syntheticSamples !== null && p.celltypeData !== 'synthetic') {
      at('syntheticSamples', `syntheticSamples applies only to celltypeData synthetic (celltypeData is ${p.celltypeData})`);
    }
    if (p.syntheticSamples !== null && p.syntheticSamples < p.nTrain + p.nTest) {
      at('syntheticSamples', `syntheticSamples (${p.syntheticSamples}) must be at least nTrain + nTest (${p.nTrain} + ${p.nTest})`);
    }
    return out;
  }
  if (p.pruning === 'celltype') {
    at('pruning', `pruning celltype (Table 1 blocks) applies only to task celltype (this run is task ${p.task}); drop such runs with an exclude entry`);
  }
  if (p.nTest === 0) at('nTest', `nTest 0 is allowed only for task celltype (this run is task ${p.task})`);
  if (p.sparsity !== null && p.pruning === null) at('sparsity', 'sparsity needs a pruning method: give axes.pruning or fixed.pruning');
  if (p.pruning !== null && p.sparsity === null) at('pruning', 'pruning needs sparsity: give axes.sparsity (a list in [0, 1)) or fixed.sparsity');
  if (p.task === 'smnist' && p.dataSource === 'mnist' && p.dataDir === null) {
    at('dataSource', 'dataSource mnist needs dataDir (a folder holding the MNIST IDX files)');
  }
  if (p.task === 'smnist' && p.dataDir !== null && p.dataSource !== 'mnist') {
    at('dataDir', `dataDir is only read with dataSource mnist (dataSource is ${p.dataSource})`);
  }
  return out;
}

/**
 * Sets, in place, the parameters a task fixes itself once the others are resolved: a celltype
 * run's nHidden, excFraction and threshold from its layout (N = 90 · latentScaling, nExc = 0.8 N,
 * threshold 0; latentScaling defaults to 16), and its syntheticSamples (nTrain + nTest) when
 * synthetic data has none. Other tasks fix nothing.
 */
export function applyTaskFixedParams(p: TaskRunParams): void {
  if (p.task !== 'celltype') return;
  const layout = celltypeLayout(p.latentScaling ?? 16);
  p.nHidden = layout.N;
  p.excFraction = layout.nExc / layout.N;
  p.threshold = 0;
  if (p.celltypeData === 'synthetic') p.syntheticSamples ??= p.nTrain + p.nTest;
}
