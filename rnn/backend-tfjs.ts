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
 * Gradients: tfjs autodiff over that forward; the kernel gradients it needs are registered by
 * rnn/tfjs-gradients.ts because tfjs-core's node build ships none.
 *
 * The engine (wasm, cpu, tfjs-node's `tensorflow`) is tfjs's global backend; this module's
 * backend objects switch to their own engine before each call, so several may coexist. Loading and
 * initialising engines is rnn/tfjs-engines.ts; this module re-exports what callers of the backend
 * need from it, so `import('./backend-tfjs.js')` stays the one entry point to the tfjs backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, checkShapes, rectifiesState, usesAbsParam } from './model-js.js';
import { PARAM_NAMES, type Backend, type Batch, type LossResult, type ModelConfig, type Params } from './types.js';
import { ensureGradients } from './tfjs-gradients.js';
import {
  TFJS_ENGINE_CHOICES, TfjsEngineError, activateEngine, checkTfjsEngineInstalled, initTfjsEngine,
  loadedTensorflowPackage, tensorflowThreads, tensorflowUsesGpu, tfjsEngineVersion,
  type TfjsEngineChoice, type TfjsEngineName,
} from './tfjs-engines.js';

export {
  NoGpuDeviceError, TFJS_ENGINE_CHOICES, TFJS_NODE_PACKAGES, TfjsEngineError, TfjsEngineUnavailableError,
  activateEngine, checkTfjsEngineInstalled, isPackageInstalled, loadedTensorflowPackage, tensorflowThreads,
  tensorflowUsesGpu, tfjsWasmThreads, type TfjsEngineChoice, type TfjsEngineName,
} from './tfjs-engines.js';

/** The tfjs backend object: a {@link Backend} plus what it runs on. */
export interface TfjsBackend extends Backend {
  readonly name: 'tfjs';
  /** tfjs engine the ops run on. */
  readonly engine: TfjsEngineName;
  /** tfjs memory counters of the engine (tensors alive, bytes). */
  memory(): tf.MemoryInfo;
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

  const facts: Record<string, string> = { engine, device: 'cpu', engineVersion: tfjsEngineVersion(engine) };
  if (engine === 'tensorflow') {
    facts.device = tensorflowUsesGpu() ? 'gpu' : 'cpu';
    facts.threads = tensorflowThreads();
  }
  const nodePackage = loadedTensorflowPackage();
  if (engine === 'tensorflow' && nodePackage !== undefined) facts.enginePackage = nodePackage;
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

/** Options of {@link createTfjsBackend}. */
export interface TfjsBackendOptions {
  /** Engine to run on. @default 'wasm' */
  engine?: TfjsEngineChoice;
  /**
   * Whether an npm package can be loaded from here (a test hook).
   * @default `isPackageInstalled` (Node's `require.resolve` from rnn/)
   */
  isInstalled?: (pkg: string) => boolean;
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
  return tfjsBackendOn(await initTfjsEngine(resolved));
}
