/**
 * Scheduling overhead of the Temporal engine on light (noop, 0 ms) stages, beside the local
 * engine's, in one run: stages per second and wall milliseconds per stage. The Temporal figure
 * uses the dev server (`bash infra/temporal.sh start`) and two `dalesweep worker` child processes.
 *
 * Reference: Ray Tune reports 10,000 one-second trials on 16 CPUs in 715 s against an ideal
 * 625 s, i.e. (715 - 625) / 10,000 = 9 ms of overhead per trial (wall time). For 0 ms stages the
 * ideal is 0, so wall / stages is the overhead per stage on the same footing.
 *
 *   node dist/bench/temporal.js [stages]     (default 2000; DALESWEEP_TEMPORAL_ADDRESS must be set)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { codeVersion } from '../activities/code-version.js';
import { runPlanLocally } from '../engines/local.js';
import { runSweepOnTemporal } from '../engines/temporal.js';
import { noopPlan, temporalAddress, tempStoreDir, uniqueTag } from '../engines/temporal-testing.js';
import { openStore } from '../store/open.js';
import { bundleSweepWorkflows } from '../workers/temporal-worker.js';

export const name = 'temporal';

/** Figures of one benchmark run. */
export interface TemporalBenchResult {
  stages: number;
  workers: number;
  threadsPerWorker: number;
  window: number;
  temporalWallMs: number;
  temporalStagesPerSec: number;
  /** Wall ms per stage (compare Ray Tune's ~9 ms per trial). */
  temporalMsPerStage: number;
  localWallMs: number;
  localStagesPerSec: number;
  localMsPerStage: number;
}

function startWorker(args: string[]): { child: ChildProcess; ready: Promise<void> } {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: temporalAddress() } });
  let err = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/worker: serving/.test(err)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${code}: ${err}`)));
  });
  return { child, ready };
}

/** Runs the benchmark: `stages` noop stages on Temporal (2 workers) and locally. */
export async function run(opts: { stages?: number; threadsPerWorker?: number } = {}): Promise<TemporalBenchResult> {
  const n = opts.stages ?? 2000;
  const k = opts.threadsPerWorker ?? 8;
  const workers = 2;
  const window = workers * k;
  const cv = codeVersion();
  const tag = uniqueTag();
  const storeUrl = tempStoreDir();
  const store = await openStore(storeUrl);
  await bundleSweepWorkflows();
  const args = ['--task-queue', `bench-${tag}`, '--control-queue', `bench-ctl-${tag}`, '--concurrency', String(k), '--store', storeUrl, '--shutdown-grace', '5'];
  const procs = [startWorker(args), startWorker(args)];
  let temporalWallMs: number;
  try {
    await Promise.all(procs.map((p) => p.ready));
    const plan = noopPlan(n, { codeVersion: cv, queue: () => `bench-${tag}` });
    const t0 = performance.now();
    const res = await runSweepOnTemporal(plan, { address: temporalAddress(), store, codeVersion: cv, controlQueue: `bench-ctl-${tag}`, window, loadMetrics: false });
    temporalWallMs = performance.now() - t0;
    if (res.ran !== n) throw new Error(`bench: Temporal ran ${res.ran} of ${n} stages`);
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
  }
  const local = noopPlan(n, { codeVersion: cv });
  const t1 = performance.now();
  const lr = await runPlanLocally(local, { store, storeUrl, codeVersion: cv, concurrency: window });
  const localWallMs = performance.now() - t1;
  if (lr.ran !== n) throw new Error(`bench: local engine ran ${lr.ran} of ${n} stages`);
  return {
    stages: n,
    workers,
    threadsPerWorker: k,
    window,
    temporalWallMs,
    temporalStagesPerSec: (n / temporalWallMs) * 1000,
    temporalMsPerStage: temporalWallMs / n,
    localWallMs,
    localStagesPerSec: (n / localWallMs) * 1000,
    localMsPerStage: localWallMs / n,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await run({ stages: process.argv[2] ? Number(process.argv[2]) : undefined });
  process.stdout.write(
    `temporal: ${r.stages} noop stages, ${r.workers} workers x ${r.threadsPerWorker} threads: ${(r.temporalWallMs / 1000).toFixed(1)} s, ` +
      `${r.temporalStagesPerSec.toFixed(0)} stages/s, ${r.temporalMsPerStage.toFixed(2)} ms/stage (Ray Tune: ~9 ms/trial)\n` +
      `local:    ${r.stages} noop stages, ${r.window} threads: ${(r.localWallMs / 1000).toFixed(1)} s, ${r.localStagesPerSec.toFixed(0)} stages/s, ${r.localMsPerStage.toFixed(2)} ms/stage\n`,
  );
}
