/**
 * Scheduling overhead of the local engine (issue: < 5 ms per stage): a plan of noop stages that
 * do no training, run on the piscina pool against a filesystem store, so the wall time is the
 * engine's own work (scheduling, thread hand-off, manifest writes). Two shapes:
 * - 0 ms stages: wall / stages is the overhead per stage;
 * - 20 ms stages: overhead = (wall - ideal) / stages with ideal = stages × 20 ms / threads, and
 *   overhead as a fraction of the total wall time.
 *
 *   node dist/bench/engine.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runPlanLocally } from '../engines/local.js';
import { openStore } from '../store/open.js';
import { noopSweep } from '../sweeps/plan.js';
import { formatTable, isQuick, printJsonLines, type Figure } from './figures.js';

export const name = 'engine';

/** Figures of one shape. */
export interface EngineBenchResult {
  stages: number;
  threads: number;
  sleepMs: number;
  wallMs: number;
  overheadMsPerStage: number;
  overheadFraction: number;
}

/** Runs `n` noop stages of `sleepMs` each on `threads` threads in a fresh store. */
export async function measureLocal(n: number, sleepMs: number, threads: number): Promise<EngineBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-bench-engine-'));
  try {
    const store = await openStore(dir);
    const plan = noopSweep(n, { codeVersion: 'bench', sleepMs });
    const t0 = performance.now();
    const r = await runPlanLocally(plan, { store, storeUrl: dir, codeVersion: 'bench', concurrency: threads });
    const wallMs = performance.now() - t0;
    if (r.ran !== n) throw new Error(`bench engine: ran ${r.ran} of ${n} stages`);
    const ideal = (n * sleepMs) / threads;
    return { stages: n, threads, sleepMs, wallMs, overheadMsPerStage: (wallMs - ideal) / n, overheadFraction: (wallMs - ideal) / wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm run bench` entry: prints a table and JSON lines. */
export async function run(): Promise<void> {
  const quick = isQuick();
  const threads = 2;
  const results = [await measureLocal(quick ? 300 : 2000, 0, threads), await measureLocal(quick ? 100 : 500, 20, threads)];
  console.log(
    formatTable(
      ['stages', 'threads', 'stage ms', 'wall s', 'overhead ms/stage', 'overhead % of wall', 'target < 5 ms'],
      results.map((r) => [String(r.stages), String(r.threads), String(r.sleepMs), (r.wallMs / 1000).toFixed(2), r.overheadMsPerStage.toFixed(2), (100 * r.overheadFraction).toFixed(1), r.overheadMsPerStage < 5 ? 'met' : 'NOT met']),
    ),
  );
  const figures: Figure[] = results.flatMap((r) => [
    { bench: name, figure: 'overhead_ms_per_stage', value: Math.round(r.overheadMsPerStage * 100) / 100, unit: 'ms', stageMs: r.sleepMs, stages: r.stages, threads: r.threads },
    { bench: name, figure: 'overhead_fraction', value: Math.round(r.overheadFraction * 1000) / 1000, stageMs: r.sleepMs, stages: r.stages, threads: r.threads },
  ]);
  printJsonLines(figures);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
