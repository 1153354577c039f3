/**
 * The `tfjs` backend: the forward pass of rnn/types.ts written with `@tensorflow/tfjs-core` ops,
 * gradients by tfjs autodiff (`tf.valueAndGrads`) over that same forward. It is the comparison
 * baseline of the hand-written `js` backend and the way onto tfjs-node / tfjs-node-gpu.
 *
 * Layout, chosen for tfjs-wasm (measured; see bench/model.ts): matrices are uploaded transposed
 * (W_inᵀ, W_hhᵀ, W_outᵀ) so every product is an untransposed matMul, which wasm runs on XNNPACK
 * (transposed products take a generic loop, ~10x slower). Each step does, for the whole batch,
 * x_t·W_inᵀ [B, nIn]·[nIn, N], r_{t-1}·W_effᵀ [B, N]·[N, N] and, for per-step heads, the readout
 * a_t·W_outᵀ. Inputs are uploaded as one [B, nIn] tensor per step: tfjs-wasm's Slice/SplitV copy
 * the whole source tensor for every piece, so one [T·B, nIn] product split into steps is slower.
 * Everything runs in `tf.tidy`; the only transfers are the uploads of params/batch and one
 * `dataSync` per gradient tensor.
 *
 * Gradients: tfjs autodiff over that forward; the kernel gradients it needs are registered here
 * (see {@link ensureGradients}) because tfjs-core's node build ships none.
 *
 * The engine (wasm, cpu, tfjs-node's `tensorflow`) is tfjs's global backend; this module's
 * backend objects switch to their own engine before each call, so several may coexist.
 */
import { createRequire } from 'node:module';
import nodeUtil from 'node:util';
import { availableParallelism } from 'node:os';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, checkShapes, rectifiesState, usesAbsParam } from './model-js.js';
import { PARAM_NAMES, type Backend, type Batch, type LossResult, type ModelConfig, type Params } from './types.js';

/** tfjs engine (tfjs "backend") names as registered with tfjs-core. */
export type TfjsEngineName = 'wasm' | 'cpu' | 'tensorflow';

/**
 * Which tfjs engine to run on: `wasm` (@tensorflow/tfjs-backend-wasm, SIMD), `cpu`
 * (@tensorflow/tfjs-backend-cpu, plain JS), `node` / `node-gpu` (the optional peer dependencies
 * @tensorflow/tfjs-node / @tensorflow/tfjs-node-gpu: native TensorFlow, installed by
 * `bash infra/tensorflow.sh install cpu|gpu`). There is no automatic choice: a run names its engine.
 */
export type TfjsEngineChoice = 'wasm' | 'cpu' | 'node' | 'node-gpu';
export const TFJS_ENGINE_CHOICES: readonly TfjsEngineChoice[] = ['wasm', 'cpu', 'node', 'node-gpu'];

/** npm package of the optional libtensorflow engines. */
export const TFJS_NODE_PACKAGES = { node: '@tensorflow/tfjs-node', 'node-gpu': '@tensorflow/tfjs-node-gpu' } as const;

/** Thrown when a tfjs engine that was asked for by name is not installed. */
export class TfjsEngineUnavailableError extends Error {
  /** The engine asked for. */
  readonly engine: TfjsEngineChoice;
  /** The npm package that provides it. */
  readonly packageName: string;
  constructor(engine: 'node' | 'node-gpu') {
    const pkg = TFJS_NODE_PACKAGES[engine];
    const variant = engine === 'node-gpu' ? 'gpu' : 'cpu';
    super(
      `backend tfjs-${engine} needs ${pkg}, which is not installed: run \`bash infra/tensorflow.sh install ${variant}\` ` +
        `(builds native TensorFlow from the package registries, cached per user), or choose backend js or tfjs`,
    );
    this.name = 'TfjsEngineUnavailableError';
    this.engine = engine;
    this.packageName = pkg;
  }
}

/** Thrown when the tfjs engine cannot be used (not initialised, or not float32). */
export class TfjsEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TfjsEngineError';
  }
}

/** The tfjs backend object: a {@link Backend} plus what it runs on. */
export interface TfjsBackend extends Backend {
  readonly name: 'tfjs';
  /** tfjs engine the ops run on. */
  readonly engine: TfjsEngineName;
  /** tfjs memory counters of the engine (tensors alive, bytes). */
  memory(): tf.MemoryInfo;
}

/**
 * Make `engine` tfjs's current backend. It must already be initialised (see rnn/backends.ts):
 * then tfjs-core's `setBackend` switches synchronously and its promise only reports success.
 * @throws TfjsEngineError when the engine is not initialised
 */
export function activateEngine(engine: TfjsEngineName): void {
  if (tf.getBackend() === engine) return;
  if (!tf.engine().registry[engine]) {
    throw new TfjsEngineError(`tfjs engine '${engine}' is not initialised: create the backend with createBackend('tfjs', ...) first`);
  }
  // Already initialised: Engine.setBackend switches before its first await and resolves true.
  void tf.setBackend(engine);
  if (tf.getBackend() !== engine) throw new TfjsEngineError(`could not switch tfjs to engine '${engine}' (current: ${tf.getBackend()})`);
}

// ---------------------------------------------------------------------------------------------
// Gradients. The node build of @tensorflow/tfjs-core registers no kernel gradients (the
// @tensorflow/tfjs union package does, via tfjs-core/dist/register_all_gradients, an ES module
// that Node cannot load on its own). These are the gradients of the kernels the forward pass
// uses, registered only where none is registered yet (so tfjs-node's own are kept when loaded).

/** Sum `dx` over the axes broadcast from `shape` and reshape to it. */
function unbroadcast(dx: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dx.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dx, axes) : dx, shape);
}

/**
 * Aᵀ·B for A [M, K], B [M, N] with untransposed products only: the wasm engine runs those on
 * XNNPACK and transposed ones on a slow generic loop, about 10x slower. Transposes whichever is
 * smaller: A (M·K entries), or B and the [N, K] result (M·N + N·K entries).
 */
function matMulTN(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [M, K] = a.shape as [number, number];
  const N = b.shape[1] as number;
  if (M * K <= M * N + N * K) return tf.matMul(tf.transpose(a), b);
  return tf.transpose(tf.matMul(tf.transpose(b), a));
}

function single(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(dy)) throw new TfjsEngineError('internal: a single-output kernel received several gradients');
  return dy;
}

const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved, attrs) => {
      const dy = single(dyIn);
      const [a, b] = saved;
      if (a.rank !== 2 || b.rank !== 2 || attrs.transposeA === true || attrs.transposeB === true) {
        throw new TfjsEngineError('internal: the BatchMatMul gradient here supports rank-2 untransposed products only');
      }
      return { a: () => tf.matMul(dy, tf.transpose(b)), b: () => matMulTN(a, dy) };
    },
  },
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = single(dyIn);
      return { a: () => unbroadcast(dy, saved[0].shape), b: () => unbroadcast(dy, saved[1].shape) };
    },
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = single(dyIn);
      return { a: () => unbroadcast(dy, saved[0].shape), b: () => unbroadcast(tf.neg(dy), saved[1].shape) };
    },
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = single(dyIn);
      const [a, b] = saved;
      return { a: () => unbroadcast(tf.mul(dy, b), a.shape), b: () => unbroadcast(tf.mul(dy, a), b.shape) };
    },
  },
  {
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dyIn, saved) => {
      const y = saved[0];
      return { x: () => tf.mul(single(dyIn), tf.sub(1, tf.square(y))) };
    },
  },
  {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    // d relu(x)/dx = [x > 0].
    gradFunc: (dyIn, saved) => ({ x: () => tf.mul(single(dyIn), tf.step(saved[0])) }),
  },
  {
    kernelName: 'Step',
    gradFunc: (dyIn) => ({ x: () => tf.zerosLike(single(dyIn)) }),
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dyIn, saved, attrs) => {
      const x = saved[0];
      const shape = x.shape.slice();
      for (const ax of tf.util.parseAxisParam(attrs.axis as number | number[], x.shape)) shape[ax] = 1;
      return { x: () => tf.mul(tf.reshape(single(dyIn), shape), tf.onesLike(x)) };
    },
  },
  {
    kernelName: 'SplitV',
    inputsToSave: ['x'],
    gradFunc: (dyIn, saved, attrs) => {
      const x = saved[0];
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      const parts = Array.isArray(dyIn) ? dyIn : [dyIn];
      const spec = attrs.numOrSizeSplits as number | number[];
      const sizes = Array.isArray(spec) ? spec : new Array<number>(spec).fill(x.shape[axis] / spec);
      return {
        x: () =>
          tf.concat(
            parts.map((d, k) => {
              if (d !== null && d !== undefined) return d;
              const shape = x.shape.slice();
              shape[axis] = sizes[k];
              return tf.zeros(shape);
            }),
            axis,
          ),
      };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dyIn, saved, attrs) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0].shape)[0];
      const pieces = tf.split(single(dyIn), saved.map((t) => t.shape[axis]), axis);
      const out: Record<string, () => tf.Tensor> = {};
      pieces.forEach((p, k) => (out[String(k)] = () => p));
      return out;
    },
  },
];

let gradientsChecked = false;
/** Register the {@link GRADIENTS} whose kernels have no gradient yet (once per process/thread). */
function ensureGradients(): void {
  if (gradientsChecked) return;
  for (const g of GRADIENTS) if (tf.getGradient(g.kernelName) === undefined) tf.registerGradient(g);
  gradientsChecked = true;
}

/** Constant (non-trained) tensors of one batch. */
interface BatchTensors {
  /** Inputs of each step, T tensors [B, nIn]. */
  xs: tf.Tensor2D[];
  /** Per-step targets, time-major [T·B, nOut] (per-step heads). */
  target?: tf.Tensor2D;
  /** One-hot labels [B, nOut] (softmax-last). */
  oneHot?: tf.Tensor2D;
  /** Labels [B] (softmax-last). */
  labels?: tf.Tensor1D;
  /** (sign(W~)·D)ᵀ [N, N] for rectified/corrected: W_effᵀ = W~ᵀ ⊙ this (no gradient through it). */
  absSignT?: tf.Tensor2D;
}

/** [B, T, k] row-major → [T·B, k] row-major (row t·B + b). */
function timeMajor(src: Float32Array, B: number, T: number, k: number): Float32Array {
  const out = new Float32Array(B * T * k);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const s = (b * T + t) * k;
      const d = (t * B + b) * k;
      for (let j = 0; j < k; j++) out[d + j] = src[s + j];
    }
  }
  return out;
}

function batchTensors(cfg: ModelConfig, params: Params, batch: Batch): BatchTensors {
  const { B, T } = batch;
  const nIn = cfg.nInput;
  const xtm = timeMajor(batch.x, B, T, nIn);
  const xs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) xs.push(tf.tensor2d(xtm.subarray(t * B * nIn, (t + 1) * B * nIn), [B, nIn], 'float32'));
  const out: BatchTensors = { xs };
  if (cfg.head === 'softmax-last') {
    const labels = batch.labels!;
    for (let b = 0; b < B; b++) {
      const lab = labels[b];
      if (!(lab >= 0 && lab < cfg.nOutput)) throw new ShapeError(`batch.labels[${b}] = ${lab} outside [0, ${cfg.nOutput})`);
    }
    out.labels = tf.tensor1d(labels, 'int32');
    out.oneHot = tf.cast(tf.oneHot(out.labels, cfg.nOutput), 'float32') as tf.Tensor2D;
  } else {
    out.target = tf.tensor2d(timeMajor(batch.target, B, T, cfg.nOutput), [T * B, cfg.nOutput], 'float32');
  }
  if (usesAbsParam(cfg)) {
    // Transposed like wHhT: entry [j, i] = sign(W~[i, j]) · D_j.
    const N = cfg.nHidden;
    const s = new Float32Array(N * N);
    const w = params.wHh;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const v = w[i * N + j];
        const sg = v > 0 ? 1 : v < 0 ? -1 : 0;
        s[j * N + i] = j < cfg.nExc ? sg : -sg;
      }
    }
    out.absSignT = tf.tensor2d(s, [N, N], 'float32');
  }
  return out;
}

/** rows × cols row-major → its transpose, cols × rows. */
function transposed(src: Float32Array, rows: number, cols: number, out: Float32Array = new Float32Array(rows * cols)): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/**
 * Parameter tensors in {@link PARAM_NAMES} order, the matrices transposed so that every forward
 * product is an untransposed matMul: [W_inᵀ [nIn, N], b_in, W_hhᵀ [N, N], b_hh, W_outᵀ [N, nOut],
 * b_out].
 */
type ParamTensors = [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];

/** [rows, cols] of each stored parameter matrix (undefined for vectors), PARAM_NAMES order. */
function paramDims(cfg: ModelConfig): ([number, number] | undefined)[] {
  const N = cfg.nHidden;
  return [[N, cfg.nInput], undefined, [N, N], undefined, [cfg.nOutput, N], undefined];
}

function paramTensors(cfg: ModelConfig, p: Params): ParamTensors {
  const dims = paramDims(cfg);
  return PARAM_NAMES.map((k, q) => {
    const d = dims[q];
    if (d === undefined) return tf.tensor1d(p[k], 'float32');
    return tf.tensor2d(transposed(p[k], d[0], d[1]), [d[1], d[0]], 'float32');
  }) as ParamTensors;
}

/** Write the gradients of the transposed parameter tensors into `grads` (stored layout). */
function downloadGrads(cfg: ModelConfig, g: tf.Tensor[], grads: Params): void {
  const dims = paramDims(cfg);
  PARAM_NAMES.forEach((k, q) => {
    const data = g[q].dataSync() as Float32Array;
    const d = dims[q];
    if (d === undefined) grads[k].set(data);
    else transposed(data, d[1], d[0], grads[k]);
  });
}

/** Loss tensor and, for softmax-last, the logits of the last step [B, nOut]. */
interface ForwardOut {
  loss: tf.Scalar;
  logits?: tf.Tensor2D;
}

/** The forward pass of rnn/types.ts on tensors; differentiable in the six parameter tensors. */
function forward(cfg: ModelConfig, B: number, T: number, c: BatchTensors, w: ParamTensors): ForwardOut {
  const [wInT, bIn, wHhT, bHh, wOutT, bOut] = w;
  const rect = rectifiesState(cfg);
  const th = cfg.threshold;
  // Per step: one [B, nIn]·[nIn, N] and one [B, N]·[N, N] product for the whole batch. (One
  // [T·B, nIn] product split into steps would be fewer ops, but tfjs-wasm's Slice/SplitV copy the
  // whole source tensor for every piece, which costs more than it saves.)
  const bias = tf.add(bIn, bHh);
  const wEffT = c.absSignT !== undefined ? tf.mul(wHhT, c.absSignT) : wHhT;
  const perStep = cfg.head !== 'softmax-last';
  const zs: tf.Tensor[] = [];
  let r: tf.Tensor2D | undefined;
  let a: tf.Tensor2D | undefined;
  for (let t = 0; t < T; t++) {
    const u = tf.add(tf.matMul(c.xs[t], wInT), bias);
    const pre = r === undefined ? u : tf.add(u, tf.matMul(r, wEffT));
    a = tf.tanh(pre) as tf.Tensor2D;
    if (perStep) zs.push(tf.add(tf.matMul(a, wOutT), bOut));
    if (!rect) r = a;
    else if (th === 0) r = tf.relu(a);
    else r = tf.mul(a, tf.step(tf.sub(a, th))); // [a > th]: a - th is exactly > 0 iff a > th
  }
  if (!perStep) {
    const z = tf.add(tf.matMul(a!, wOutT), bOut) as tf.Tensor2D;
    const ce = tf.sum(tf.mul(c.oneHot!, tf.logSoftmax(z)));
    return { loss: tf.mul(ce, -1 / B) as tf.Scalar, logits: z };
  }
  const zAll = T === 1 ? zs[0] : tf.concat(zs, 0);
  const y = cfg.head === 'tanh' ? tf.tanh(zAll) : zAll;
  const d = tf.sub(y, c.target!);
  return { loss: tf.mul(tf.sum(tf.mul(d, d)), 1 / (T * B * cfg.nOutput)) as tf.Scalar };
}

function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): number {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0];
}

/**
 * Create the tfjs backend on an already initialised tfjs engine (use `createBackend('tfjs', ...)`
 * from rnn/backends.ts, which loads and initialises engines). Checks the engine computes in
 * float32.
 * @throws TfjsEngineError when the engine is not initialised or is not float32
 */
export function tfjsBackendOn(engine: TfjsEngineName): TfjsBackend {
  activateEngine(engine);
  ensureGradients();
  const precision = tf.backend().floatPrecision();
  if (precision !== 32) throw new TfjsEngineError(`tfjs engine '${engine}' computes in float${precision}; dalesweep needs float32`);

  const lossAndGrad = (cfg: ModelConfig, params: Params, batch: Batch, grads: Params): LossResult => {
    checkShapes(cfg, params, batch);
    activateEngine(engine);
    const { B, T } = batch;
    let res: LossResult = { loss: NaN };
    tf.tidy(() => {
      const c = batchTensors(cfg, params, batch);
      const w = paramTensors(cfg, params);
      let logits: tf.Tensor2D | undefined;
      const f = (...args: tf.Tensor[]): tf.Scalar => {
        const out = forward(cfg, B, T, c, args as ParamTensors);
        if (out.logits !== undefined) logits = tf.keep(out.logits);
        return out.loss;
      };
      const { value, grads: g } = tf.valueAndGrads(f)(w);
      downloadGrads(cfg, g, grads);
      res = { loss: value.dataSync()[0] };
      if (logits !== undefined) {
        res.correct = correctCount(logits, c.labels!);
        logits.dispose();
      }
    });
    return res;
  };

  const evaluate = (cfg: ModelConfig, params: Params, batch: Batch): LossResult => {
    checkShapes(cfg, params, batch);
    activateEngine(engine);
    let res: LossResult = { loss: NaN };
    tf.tidy(() => {
      const c = batchTensors(cfg, params, batch);
      const out = forward(cfg, batch.B, batch.T, c, paramTensors(cfg, params));
      res = { loss: out.loss.dataSync()[0] };
      if (out.logits !== undefined) res.correct = correctCount(out.logits, c.labels!);
    });
    return res;
  };

  const facts: Record<string, string> = { engine, device: 'cpu', engineVersion: engineVersion(engine) };
  if (engine === 'tensorflow') {
    facts.device = tensorflowUsesGpu() ? 'gpu' : 'cpu';
    facts.threads = tensorflowThreads();
  }
  if (engine === 'tensorflow' && loadedNodePackage !== undefined) facts.enginePackage = loadedNodePackage;
  return {
    name: 'tfjs',
    engine,
    facts: () => ({ ...facts }),
    lossAndGrad,
    evaluate,
    memory: () => {
      activateEngine(engine);
      return tf.memory();
    },
    dispose: () => {
      // Every call frees its tensors in tf.tidy; nothing is held between calls.
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Engines: loading and initialising tfjs backends.

/** Options of {@link createTfjsBackend}. */
export interface TfjsBackendOptions {
  /** Engine to run on. @default 'wasm' */
  engine?: TfjsEngineChoice;
  /**
   * Whether an npm package can be loaded from here (a test hook).
   * @default resolution with Node's `require.resolve` from this module
   */
  isInstalled?: (pkg: string) => boolean;
}

const require_ = createRequire(import.meta.url);

/** True when `pkg` resolves from this module; false only when it is not installed. */
export function isPackageInstalled(pkg: string): boolean {
  try {
    require_.resolve(pkg);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return false;
    throw err;
  }
}

let wasmPathsSet = false;
/** Thread count of the wasm engine once initialised (XNNPACK threads; 1 in Node, see below). */
let wasmThreads: number | undefined;

/**
 * Initialise tfjs-backend-wasm, reading its .wasm binaries from the installed package (offline;
 * works the same in worker threads, where each thread has its own instance). In Node, tfjs 4.x
 * disables the multi-threaded binary (tfjs issue 3830), so it runs the SIMD binary on 1 thread.
 */
async function initWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet && !tf.engine().registry.wasm) {
    wasm.setWasmPaths(dirname(require_.resolve('@tensorflow/tfjs-backend-wasm')) + sep);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new TfjsEngineError('tfjs engine wasm failed to initialise (see the warning tfjs printed above)');
  wasmThreads = wasm.getThreadsCount();
}

/** Threads the wasm engine uses, once initialised. */
export function tfjsWasmThreads(): number | undefined {
  return wasmThreads;
}

/** The tfjs-node package whose `tensorflow` engine this process (thread) loaded, if any. */
let loadedNodePackage: string | undefined;

/** The package of the loaded `tensorflow` engine (tfjs-node or tfjs-node-gpu), if one is loaded. */
export function loadedTensorflowPackage(): string | undefined {
  return loadedNodePackage;
}

/** Whether the loaded `tensorflow` engine places ops on a GPU (TensorFlow lists a GPU device). */
export function tensorflowUsesGpu(): boolean {
  const be = tf.engine().registry.tensorflow as unknown as { isUsingGpuDevice?: boolean } | undefined;
  return be?.isUsingGpuDevice === true;
}

/**
 * Threads native TensorFlow computes with: TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS (read
 * by TensorFlow when its context starts), else all cores. Its results depend on them.
 */
export function tensorflowThreads(env: NodeJS.ProcessEnv = process.env): string {
  const intra = env.TF_NUM_INTRAOP_THREADS;
  const inter = env.TF_NUM_INTEROP_THREADS;
  const d = `${availableParallelism()} (all cores)`;
  return `intra-op ${intra && intra !== '0' ? intra : d}, inter-op ${inter && inter !== '0' ? inter : d}`;
}

/** Version of the library behind a tfjs engine, e.g. `TensorFlow 2.10.1`, `tfjs-backend-wasm 4.22.0`. */
function engineVersion(engine: TfjsEngineName): string {
  if (engine === 'tensorflow') {
    const be = tf.engine().registry.tensorflow as unknown as { binding?: { TF_Version?: string } } | undefined;
    return `TensorFlow ${be?.binding?.TF_Version ?? 'unknown'}`;
  }
  return `tfjs-backend-${engine} ${tf.version_core}`;
}

/**
 * tfjs-node 4.22 calls `util.isNullOrUndefined` from node:util for every op's attributes; Node 23
 * removed it (DEP0051), so on Node 24 every op would throw "isNullOrUndefined is not a function".
 * Puts back its documented definition (`value === null || value === undefined`) where it is
 * missing, before the package loads; nothing else in node:util is touched.
 */
function restoreUtilIsNullOrUndefined(): void {
  const u = nodeUtil as unknown as Record<string, unknown>;
  if (typeof u.isNullOrUndefined !== 'function') u.isNullOrUndefined = (v: unknown): boolean => v === null || v === undefined;
}

/**
 * Load the libtensorflow binding (`tensorflow` engine) from `pkg`. One process (thread) holds one
 * of tfjs-node and tfjs-node-gpu: they register the same engine name. `node-gpu` must see a GPU
 * device: TensorFlow itself would run on the CPU without one, which would be a silent fallback.
 */
async function initNode(engine: 'node' | 'node-gpu'): Promise<void> {
  const pkg = TFJS_NODE_PACKAGES[engine];
  if (loadedNodePackage !== undefined) {
    if (loadedNodePackage !== pkg) {
      throw new TfjsEngineError(`this process already loaded ${loadedNodePackage}; ${pkg} cannot be loaded beside it (run tfjs-node and tfjs-node-gpu stages in separate workers)`);
    }
    return;
  }
  // TensorFlow's C++ start-up messages (CPU features, oneDNN) go to stderr unless told otherwise.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  restoreUtilIsNullOrUndefined();
  try {
    await import(pkg);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(pkg)) {
      throw new TfjsEngineUnavailableError(engine);
    }
    throw err;
  }
  if (tf.findBackendFactory('tensorflow') === null || tf.findBackendFactory('tensorflow') === undefined) {
    throw new TfjsEngineError(
      `${pkg} loaded but registered no 'tensorflow' engine with this copy of @tensorflow/tfjs-core: ` +
        `install versions that share one @tensorflow/tfjs-core (npm ls @tensorflow/tfjs-core)`,
    );
  }
  if (!(await tf.setBackend('tensorflow'))) throw new TfjsEngineError(`tfjs engine 'tensorflow' of ${pkg} failed to initialise`);
  loadedNodePackage = pkg;
}

/**
 * Thrown for backend tfjs-node-gpu when TensorFlow loads but lists no GPU device (no GPU, or the
 * CUDA / cuDNN libraries not on the library path).
 */
export class NoGpuDeviceError extends TfjsEngineError {
  constructor() {
    super(
      `${TFJS_NODE_PACKAGES['node-gpu']} loaded but TensorFlow sees no GPU device: run on a machine with an NVIDIA GPU, ` +
        `with the CUDA libraries on the library path (bash infra/tensorflow.sh exec gpu -- COMMAND)`,
    );
    this.name = 'NoGpuDeviceError';
  }
}

/**
 * Check that the package of an engine is installed (wasm and cpu always are).
 * @throws TfjsEngineUnavailableError naming the install command
 */
export function checkTfjsEngineInstalled(choice: TfjsEngineChoice, isInstalled: (pkg: string) => boolean = isPackageInstalled): void {
  if ((choice === 'node' || choice === 'node-gpu') && !isInstalled(TFJS_NODE_PACKAGES[choice])) throw new TfjsEngineUnavailableError(choice);
}

/**
 * Load and initialise a tfjs engine and return the tfjs backend on it. tfjs runs in float32
 * everywhere (the WebGL float16 switch is turned off where that engine is present).
 * @throws TfjsEngineUnavailableError when `node` / `node-gpu` is asked for and not installed
 * @throws NoGpuDeviceError when `node-gpu` loads but TensorFlow lists no GPU device
 * @throws TfjsEngineError when the engine fails to initialise or is not float32
 */
export async function createTfjsBackend(opts: TfjsBackendOptions = {}): Promise<TfjsBackend> {
  const resolved = opts.engine ?? 'wasm';
  if (!TFJS_ENGINE_CHOICES.includes(resolved)) {
    throw new TfjsEngineError(`tfjs engine must be one of ${TFJS_ENGINE_CHOICES.join(', ')}, got '${String(resolved)}'`);
  }
  checkTfjsEngineInstalled(resolved, opts.isInstalled);
  // Production mode: no debug checks, and no console advice to install tfjs-node.
  tf.env().set('PROD', true);
  let engine: TfjsEngineName;
  if (resolved === 'wasm') {
    if (!tf.engine().registry.wasm) await initWasm();
    engine = 'wasm';
  } else if (resolved === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!tf.engine().registry.cpu && !(await tf.setBackend('cpu'))) throw new TfjsEngineError('tfjs engine cpu failed to initialise');
    engine = 'cpu';
  } else {
    await initNode(resolved);
    if (resolved === 'node-gpu' && !tensorflowUsesGpu()) throw new NoGpuDeviceError();
    engine = 'tensorflow';
  }
  // Only the WebGL engine can store float16; keep it off should one be registered in this process.
  const flags = (tf.env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry;
  if (flags?.WEBGL_FORCE_F16_TEXTURES !== undefined) tf.env().set('WEBGL_FORCE_F16_TEXTURES', false);
  return tfjsBackendOn(engine);
}
