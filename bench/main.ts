/**
 * `npm run bench`: runs the benchmark modules in order and prints their figures (aligned text,
 * then one JSON line per figure).
 *
 *   node dist/bench/main.js [--quick] [--only model,plan,tfnode]
 *
 * `--quick` (or DALESWEEP_BENCH_QUICK=1) shortens every module. To add a benchmark, export
 * `name` and `run(): Promise<void>` from a bench/*.ts file and append it to {@link BENCHES}.
 */
import * as model from './model.js';
import * as engine from './engine.js';
import * as torch from './torch.js';
import { formatTable, isQuick, printJsonLines } from './figures.js';

/** A benchmark module. */
export interface Bench {
  name: string;
  run(): Promise<void>;
}

/**
 * Planning a 10,000-stage sweep: time and memory (targets: < 2 s, < 200 MB); then, each in a
 * fresh process for its own peak RSS, 10^5 runs (target: < 5 s) and 10^6 runs (over the
 * planning limit: refused before planning). `--quick` skips the two large ones.
 */
async function planBench(): Promise<void> {
  const { run } = await import('./plan.js');
  const r = await run({ seeds: isQuick() ? 2 : 10 });
  console.log(
    formatTable(
      ['stages', 'rows', 'plan ms', 'heap delta MB', 'peak RSS MB', 'plan.json MB', 'targets (< 2 s, < 200 MB)'],
      [[String(r.stages), String(r.rows), String(r.planMs), String(r.heapDeltaMB), String(r.peakRssMB), String(r.planJsonMB), r.targetsMet ? 'met' : 'NOT met']],
    ),
  );
  printJsonLines([
    { bench: 'plan', figure: 'plan_ms', value: r.planMs, unit: 'ms', stages: r.stages },
    { bench: 'plan', figure: 'heap_delta_mb', value: r.heapDeltaMB, unit: 'MB', stages: r.stages },
    { bench: 'plan', figure: 'peak_rss_mb', value: r.peakRssMB, unit: 'MB', stages: r.stages },
  ]);
  if (isQuick()) return;
  const { measureInChild } = await import('./plan-scale.js');
  const rows: string[][] = [];
  for (const [runs, timeoutMs] of [
    [100_000, 120_000],
    [1_000_000, 60_000],
  ] as const) {
    const { result: s, error } = await measureInChild(runs, timeoutMs);
    if (s === null) {
      rows.push([String(runs), '-', '-', '-', '-', '-', '-', `failed: ${error}`]);
      continue;
    }
    const outcome = s.refused !== null ? 'refused before planning (after parse)' : runs <= 100_000 ? (s.totalMs < 5000 ? 'target met (< 5 s)' : 'target NOT met (< 5 s)') : 'planned';
    rows.push([String(s.runs), String(s.stages), String(s.rows), String(s.parseMs), String(s.planMs), String(s.totalMs), String(s.peakRssMB), outcome]);
    printJsonLines([
      { bench: 'plan', figure: 'scale_total_ms', value: s.totalMs, unit: 'ms', runs: s.runs, stages: s.stages, refused: s.refused !== null },
      { bench: 'plan', figure: 'scale_plan_ms', value: s.planMs, unit: 'ms', runs: s.runs, stages: s.stages, refused: s.refused !== null },
      { bench: 'plan', figure: 'scale_peak_rss_mb', value: s.peakRssMB, unit: 'MB', runs: s.runs, stages: s.stages, refused: s.refused !== null },
    ]);
  }
  console.log(formatTable(['runs', 'stages', 'rows', 'parse ms', 'plan ms', 'total ms', 'peak RSS MB', 'outcome'], rows));
}

/** Temporal vs local overhead on light stages (needs the dev server: bash infra/temporal.sh start). */
async function temporalBench(): Promise<void> {
  if (!process.env.DALESWEEP_TEMPORAL_ADDRESS) {
    console.log('skipped: DALESWEEP_TEMPORAL_ADDRESS is not set (bash infra/temporal.sh start; eval "$(bash infra/temporal.sh env)")');
    return;
  }
  const { run } = await import('./temporal.js');
  const r = await run({ stages: isQuick() ? 300 : 2000 });
  console.log(
    formatTable(
      ['engine', 'stages', 'workers x threads', 'wall s', 'stages/s', 'ms/stage', 'Ray Tune ms/trial'],
      [
        ['temporal', String(r.stages), `${r.workers} x ${r.threadsPerWorker}`, (r.temporalWallMs / 1000).toFixed(1), r.temporalStagesPerSec.toFixed(0), r.temporalMsPerStage.toFixed(2), '~9'],
        ['local', String(r.stages), `1 x ${r.window}`, (r.localWallMs / 1000).toFixed(1), r.localStagesPerSec.toFixed(0), r.localMsPerStage.toFixed(2), '~9'],
      ],
    ),
  );
  printJsonLines([
    { bench: 'temporal', figure: 'ms_per_stage', value: Math.round(r.temporalMsPerStage * 100) / 100, unit: 'ms', engine: 'temporal', stages: r.stages },
    { bench: 'temporal', figure: 'ms_per_stage', value: Math.round(r.localMsPerStage * 100) / 100, unit: 'ms', engine: 'local', stages: r.stages },
    { bench: 'temporal', figure: 'stages_per_s', value: Math.round(r.temporalStagesPerSec), unit: 'stages/s', engine: 'temporal', stages: r.stages },
  ]);
}

/** The 1440-neuron cell-type model: steps/s and the estimated time of one condition. */
async function celltypeBench(): Promise<void> {
  const { run, runFinetune, runThreads, runTrained, runUpdate } = await import('./celltype.js');
  const r = await run(isQuick() ? { steps: 2 } : {});
  console.log(JSON.stringify(r, null, 2));
  const th = await runThreads(isQuick() ? { rounds: 1 } : {});
  printJsonLines([
    { bench: 'celltype', figure: 'dense_steps_per_s', value: th.stepsPerSec1, unit: 'steps/s', threads: 1, rounds: th.rounds },
    { bench: 'celltype', figure: 'dense_steps_per_s', value: th.stepsPerSec2, unit: 'steps/s', threads: th.threadsUsed, rounds: th.rounds },
    { bench: 'celltype', figure: 'dense_speedup_2_threads', value: th.speedup, unit: 'x', note: 'median of per-round ratios' },
    { bench: 'celltype', figure: 'dense_cpu_s_per_step', value: th.cpuSecPerStep1, unit: 's', threads: 1 },
    { bench: 'celltype', figure: 'dense_cpu_s_per_step', value: th.cpuSecPerStep2, unit: 's', threads: th.threadsUsed },
    { bench: 'celltype', figure: 'dense_main_thread_cpu_s_per_step', value: th.mainCpuSecPerStep2 ?? 'n/a (no process.threadCpuUsage)', unit: 's', threads: th.threadsUsed },
    { bench: 'celltype', figure: 'dense_speedup_predicted_from_cpu', value: th.cpuPredictedSpeedup ?? 'n/a (no process.threadCpuUsage)', unit: 'x', note: '1-thread CPU / main-thread CPU with 2 threads' },
    { bench: 'celltype', figure: 'dense_same_bytes_1_vs_2_threads', value: th.identical ? 1 : 0, unit: 'bool' },
  ]);
  const tr = await runTrained(isQuick() ? { rounds: 1, warmEpochs: 1 } : {});
  const at = { warm_epochs: tr.warmEpochs, rounds: tr.rounds, steps_per_train_call: tr.stepsPerRound };
  printJsonLines([
    { bench: 'celltype', figure: 'trained_active_fraction', value: tr.activeFraction, unit: 'fraction', ...at },
    { bench: 'celltype', figure: 'trained_steps_per_s', value: tr.trainedStepsPerSec, unit: 'steps/s', threads: 1, products: 'activity-sparse (default)', ...at },
    { bench: 'celltype', figure: 'trained_steps_per_s', value: tr.trainedDenseStepsPerSec, unit: 'steps/s', threads: 1, products: 'dense only', ...at },
    { bench: 'celltype', figure: 'trained_steps_per_s', value: tr.trainedStepsPerSec2, unit: 'steps/s', threads: tr.threadsUsed, products: 'activity-sparse (default)', ...at },
    { bench: 'celltype', figure: 'trained_speedup_2_threads', value: tr.trainedSpeedup2, unit: 'x', note: 'median of per-round ratios', ...at },
    { bench: 'celltype', figure: 'init_steps_per_s', value: tr.initStepsPerSec, unit: 'steps/s', threads: 1 },
    { bench: 'celltype', figure: 'dense_epochs_s', value: tr.denseEpochsSeconds, unit: 's', threads: 1, note: '100 epochs of 10 steps: the first at the initial rate, 99 at the trained rate' },
    {
      bench: 'celltype', figure: 'protocol_s_trained_rates', unit: 's', threads: 1,
      value: Math.round(tr.denseEpochsSeconds + (100 * 10) / tr.trainedEvalBatchesPerSec + 50 * (10 / r.finetuneStepsPerSec + 10 / r.evalBatchesPerSec)),
      note: 'dense epochs as dense_epochs_s, their evaluations at the trained rate, 50 fine-tuning epochs at the rates above',
    },
    { bench: 'celltype', figure: 'trained_same_bytes', value: tr.identical ? 1 : 0, unit: 'bool', note: 'activity-sparse vs dense products, 1 vs 2 threads' },
  ]);
  const ft = await runFinetune(isQuick() ? { rounds: 1, warmEpochs: 1 } : {});
  const fat = { kept_fraction: ft.keptFraction, rounds: ft.rounds, steps_per_train_call: ft.stepsPerRound };
  printJsonLines([
    { bench: 'celltype', figure: 'finetune_steps_per_s', value: ft.stepsPerSec1, unit: 'steps/s', threads: 1, ...fat },
    { bench: 'celltype', figure: 'finetune_steps_per_s', value: ft.stepsPerSec2, unit: 'steps/s', threads: ft.threadsUsed, ...fat },
    { bench: 'celltype', figure: 'finetune_speedup_2_threads', value: ft.speedup2, unit: 'x', note: 'median of per-round ratios', ...fat },
    { bench: 'celltype', figure: 'pruned_eval_batches_per_s', value: ft.evalBatchesPerSec1, unit: 'batches/s', threads: 1, ...fat },
    { bench: 'celltype', figure: 'pruned_eval_batches_per_s', value: ft.evalBatchesPerSec2, unit: 'batches/s', threads: ft.threadsUsed, ...fat },
    { bench: 'celltype', figure: 'finetune_same_bytes', value: ft.identical ? 1 : 0, unit: 'bool', note: '1 vs 2 threads' },
  ]);
  const up = await runUpdate(isQuick() ? { rounds: 1 } : {});
  printJsonLines([
    { bench: 'celltype', figure: 'update_ms', value: up.kernelMs, unit: 'ms', params: up.params, code: 'update kernels (default)', rounds: up.rounds },
    { bench: 'celltype', figure: 'update_ms', value: up.loopMs, unit: 'ms', params: up.params, code: 'JavaScript loops', rounds: up.rounds },
    { bench: 'celltype', figure: 'update_same_bytes', value: up.identical ? 1 : 0, unit: 'bool', note: 'Adam + Dale projection, kernels vs loops' },
  ]);
}

/** tfjs-node (native TensorFlow, 1 and 2 threads) beside js on flip-flop, sMNIST and the CelltypeRNN. */
async function tfnodeBench(): Promise<void> {
  const { run } = await import('./tfnode.js');
  await run();
}

/** The benchmarks, in the order they run. */
export const BENCHES: Bench[] = [
  { name: model.name, run: model.run },
  { name: torch.name, run: () => torch.run() },
  { name: 'plan', run: planBench },
  { name: engine.name, run: engine.run },
  { name: 'temporal', run: temporalBench },
  { name: 'celltype', run: celltypeBench },
  { name: 'tfnode', run: tfnodeBench },
];

/** Thrown when `--only` names no known benchmark. */
export class BenchSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchSelectionError';
  }
}

/** The benchmarks selected by `--only a,b` (all when absent). */
export function selectBenches(argv: string[]): Bench[] {
  const at = argv.indexOf('--only');
  if (at < 0) return BENCHES;
  const names = (argv[at + 1] ?? '').split(',').filter((s) => s !== '');
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (names.length === 0 || unknown.length > 0) {
    throw new BenchSelectionError(`--only expects a comma-separated list of ${BENCHES.map((b) => b.name).join(', ')}; got '${argv[at + 1] ?? ''}'`);
  }
  return BENCHES.filter((b) => names.includes(b.name));
}

for (const b of selectBenches(process.argv.slice(2))) {
  console.log(`\n=== bench ${b.name} ===`);
  const t0 = performance.now();
  await b.run();
  console.log(`=== bench ${b.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s ===`);
}
