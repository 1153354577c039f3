/**
 * Native TensorFlow beside js: training steps per second of backend tfjs-node with 1 and 2
 * TensorFlow threads (TF_NUM_INTRAOP_THREADS = TF_NUM_INTEROP_THREADS = k) and of the js backend
 * (one thread), on flip-flop (N = 128), sequential MNIST (N = 128) and the CelltypeRNN (N = 1440),
 * batch 200. One step = lossAndGrad + Adam + the rule's projection (bench/model.ts, each
 * measurement in its own child process). The measurements are interleaved in rounds, and each
 * speed-up is the median over rounds of that round's ratio, so that load from other processes on
 * a shared machine hits both sides alike.
 *
 *   npm run bench -- --only tfnode [--quick]     (needs bash infra/tensorflow.sh install cpu)
 */
import { cpus } from 'node:os';
import { TFJS_NODE_PACKAGES, isPackageInstalled } from '../rnn/backend-tfjs.js';
import { formatTable, isQuick, median, printJsonLines, type Figure } from './figures.js';
import { TASK_LABEL, measureInChild, type ModelBenchResult, type ModelBenchSpec, type ModelBenchTask } from './model.js';

export const name = 'tfnode';

/** One column of the table: js, or tfjs-node on k threads. */
interface Column {
  label: string;
  backend: 'js' | 'tfjs-node';
  threads?: number;
}

const COLUMNS: Column[] = [
  { label: 'js', backend: 'js' },
  { label: 'tfjs-node 1 thread', backend: 'tfjs-node', threads: 1 },
  { label: 'tfjs-node 2 threads', backend: 'tfjs-node', threads: 2 },
];
const TASKS: ModelBenchTask[] = ['flipflop', 'smnist', 'celltype'];


/** Steps/s per (task, column) over rounds, and the per-round ratios to js. */
export interface TfnodeRow {
  task: ModelBenchTask;
  column: string;
  threads: number;
  stepsPerSec: number;
  /** Median over rounds of (this column's steps/s) / (js steps/s in the same round); 1 for js. */
  speedupVsJs: number;
  rounds: number;
  lastLoss: number;
}

/** Runs the benchmark; returns the rows (also printed). */
export async function measureAll(rounds: number, quick: boolean): Promise<TfnodeRow[]> {
  const settings = (task: ModelBenchTask): Omit<ModelBenchSpec, 'backend' | 'task'> =>
    task === 'celltype'
      ? quick
        ? { warmup: 1, minSteps: 1, minSeconds: 0, maxSteps: 1 }
        : { warmup: 1, minSteps: 3, minSeconds: 3, maxSteps: 30 }
      : quick
        ? { warmup: 1, minSteps: 3, minSeconds: 0.3, maxSteps: 20 }
        : { warmup: 2, minSteps: 5, minSeconds: 3, maxSteps: 300 };
  const by = new Map<string, ModelBenchResult[]>();
  const key = (t: ModelBenchTask, c: Column): string => `${t}|${c.label}`;
  for (let r = 0; r < rounds; r++) {
    for (const task of TASKS) {
      // Alternate the order per round: neither side always runs first.
      const cols = r % 2 === 0 ? COLUMNS : [...COLUMNS].reverse();
      for (const c of cols) {
        const res = await measureInChild({ backend: c.backend, task, ...settings(task), ...(c.threads !== undefined ? { threads: c.threads } : {}) });
        by.set(key(task, c), [...(by.get(key(task, c)) ?? []), res]);
      }
    }
  }
  const rows: TfnodeRow[] = [];
  for (const task of TASKS) {
    const js = by.get(key(task, COLUMNS[0]))!;
    for (const c of COLUMNS) {
      const rs = by.get(key(task, c))!;
      rows.push({
        task,
        column: c.label,
        threads: c.threads ?? 1,
        stepsPerSec: median(rs.map((x) => x.stepsPerSec)),
        speedupVsJs: median(rs.map((x, i) => x.stepsPerSec / js[i].stepsPerSec)),
        rounds: rs.length,
        lastLoss: rs[rs.length - 1].lastLoss,
      });
    }
  }
  return rows;
}

/** Runs the tfnode benchmark and prints its table and figures. */
export async function run(): Promise<void> {
  if (!isPackageInstalled(TFJS_NODE_PACKAGES.node)) {
    console.log('skipped: @tensorflow/tfjs-node is not installed (bash infra/tensorflow.sh install cpu)');
    return;
  }
  const quick = isQuick();
  const rounds = quick ? 1 : 3;
  console.log(`tfnode: one step = lossAndGrad + Adam + rule projection, batch 200; ${rounds} interleaved round(s); speed-up = median of per-round ratios`);
  for (const t of TASKS) console.log(`  ${t}: ${TASK_LABEL[t]}`);
  console.log(`  machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
  const rows = await measureAll(rounds, quick);
  console.log(
    formatTable(
      ['task', 'backend', 'steps/s', 'ms/step', 'vs js', 'loss'],
      rows.map((r) => [r.task, r.column, r.stepsPerSec.toFixed(2), (1000 / r.stepsPerSec).toFixed(1), r.speedupVsJs.toFixed(2) + 'x', r.lastLoss.toFixed(4)]),
    ),
  );
  for (const task of TASKS) {
    const best = rows.filter((r) => r.task === task && r.column !== 'js').sort((a, b) => b.speedupVsJs - a.speedupVsJs)[0];
    console.log(`  ${task}: ${best.speedupVsJs > 1 ? `${best.column} is ${best.speedupVsJs.toFixed(2)}x js` : `js is ${(1 / best.speedupVsJs).toFixed(2)}x the best tfjs-node (${best.column})`}`);
  }
  const figs: Figure[] = rows.flatMap((r) => [
    { bench: name, figure: 'steps_per_s', value: Math.round(r.stepsPerSec * 1000) / 1000, unit: 'steps/s', task: r.task, backend: r.column, threads: r.threads },
    { bench: name, figure: 'speedup_vs_js', value: Math.round(r.speedupVsJs * 1000) / 1000, unit: 'x', task: r.task, backend: r.column, threads: r.threads },
  ]);
  printJsonLines(figs);
}
