/**
 * The model contract shared by both backends (`js`, `tfjs`), the training loop, pruning and the
 * stage runners. Every matrix is a row-major `Float32Array`; a weight matrix is `[post, pre]`
 * (rows post-synaptic, columns pre-synaptic), as in PyTorch's `nn.Linear.weight`.
 *
 * Forward pass for a batch of B sequences of T steps (SCIENCE.md §1, §2):
 *
 *   W_eff = W_hh                       (conventional, dale, rectified/paper-code)
 *   W_eff = |W_hh| * D                 (rectified/corrected: W_hh holds W~, D = +1 E cols, -1 I cols)
 *   r_0   = 0
 *   a_t   = tanh(W_in x_t + b_in + W_eff r_{t-1} + b_hh)          [B, N]
 *   r_t   = a_t * [a_t > threshold]    if the rule rectifies the recurrent state
 *                                      (dale; rectified/corrected), else r_t = a_t
 *   z_t   = (W_out ⊙ readoutMask) a_t + b_out                     [B, nOut]  (reads a_t, unrectified)
 *   head `linear`:       y_t = z_t,       loss = mean over B·T·nOut of (y_t - target_t)^2
 *   head `tanh`:         y_t = tanh(z_t), loss as `linear`
 *   head `softmax-last`: loss = mean over B of cross-entropy(softmax(z_T), label)
 *   head `wave-ei`:      as `linear` with nOut = 2 and readoutMask row 0 = E units, row 1 = I units
 *
 * After each optimiser step the rule's projection is applied (dale: E columns max(0, w), I columns
 * min(0, w); rectified/paper-code: w[w<0] = 0 then w *= sign(W_init)), then a fixed pruning mask
 * if one is set.
 */

/** Learning rule (the `rule` sweep axis). */
export type Rule = 'conventional' | 'rectified' | 'dale';
export const RULES: readonly Rule[] = ['conventional', 'rectified', 'dale'];

/** Where the paper and the authors' code differ (SCIENCE.md preamble). */
export type Fidelity = 'paper-code' | 'corrected';
export const FIDELITIES: readonly Fidelity[] = ['paper-code', 'corrected'];

/**
 * Output head of a task. `wave-ei` is `linear` with nOut = 2 and a readout mask (row 0 reads the
 * E units, row 1 the I units); the mask itself lives in {@link ModelMasks}.
 */
export type Head = 'linear' | 'tanh' | 'softmax-last' | 'wave-ei';

/** Backend name: `js` is the hand-written Float32Array kernel, `tfjs` the tfjs ops. */
export type BackendName = 'js' | 'tfjs';

/**
 * A run's `backend` (sweep files, stage configs): `js`, or the `tfjs` backend on one engine —
 * `tfjs` on tfjs-backend-wasm, `tfjs-cpu` on tfjs-backend-cpu, `tfjs-node` / `tfjs-node-gpu` on
 * native TensorFlow through @tensorflow/tfjs-node / @tensorflow/tfjs-node-gpu (installed by
 * `bash infra/tensorflow.sh install cpu|gpu`). The engine is part of the choice, so it is part of
 * the stage identity, and a stage never runs on another engine than the one it names.
 */
export type BackendChoice = 'js' | 'tfjs' | 'tfjs-cpu' | 'tfjs-node' | 'tfjs-node-gpu';

/** Static description of a network. */
export interface ModelConfig {
  /** Input dimension. */
  nInput: number;
  /** Hidden units N. */
  nHidden: number;
  /** Output dimension (number of classes for `softmax-last`, 2 for `wave-ei`). */
  nOutput: number;
  /** Number of excitatory units: columns 0..nExc-1 of W_hh are E, the rest I. @default round(0.8 N) */
  nExc: number;
  rule: Rule;
  head: Head;
  /** Threshold of the recurrent-state rectification. @default 0 */
  threshold: number;
  fidelity: Fidelity;
}

/**
 * Trainable parameters. Shapes: wIn [N, nIn], bIn [N], wHh [N, N] (post, pre), bHh [N],
 * wOut [nOut, N], bOut [nOut]. For rectified/corrected, wHh stores W~ (the effective weight is
 * |W~| * D).
 */
export interface Params {
  wIn: Float32Array;
  bIn: Float32Array;
  wHh: Float32Array;
  bHh: Float32Array;
  wOut: Float32Array;
  bOut: Float32Array;
}

export const PARAM_NAMES = ['wIn', 'bIn', 'wHh', 'bHh', 'wOut', 'bOut'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/**
 * One batch. x: [B, T, nIn] row-major. For per-step heads `target` is [B, T, nOut]; for
 * `softmax-last`, `labels` is [B] (class indices) and `target` is unused (length 0).
 */
export interface Batch {
  B: number;
  T: number;
  x: Float32Array;
  target: Float32Array;
  labels?: Int32Array;
}

/** Loss (mean, as defined above) and, for classification, the number of correct predictions. */
export interface LossResult {
  loss: number;
  correct?: number;
}

/**
 * A compute backend: loss and gradients of the model on one batch. Gradients are written into
 * `grads` (same shapes as params, overwritten, not accumulated) with respect to the stored
 * parameters (for rectified/corrected, with respect to W~).
 */
export interface Backend {
  readonly name: BackendName;
  /**
   * Loss and gradients on one batch. `masks` is an optional hint: the fixed masks the caller
   * keeps applied (the parameters arrive already masked). Given `masks.recurrent`, a backend may
   * skip the entries of `grads.wHh` where the mask is 0 and leave them at 0 (the training loop
   * zeroes masked gradients anyway); everything else is unchanged. The `js` backend then computes
   * the W_hh gradient only at the mask's entries when the mask is sparse.
   */
  lossAndGrad(cfg: ModelConfig, params: Params, batch: Batch, grads: Params, masks?: ModelMasks): LossResult;
  /** Loss (and correct count) without gradients. */
  evaluate(cfg: ModelConfig, params: Params, batch: Batch): LossResult;
  /** Frees backend resources (tfjs tensors). */
  dispose?(): void;
  /**
   * What computes the results, for the stage's manifest (tfjs): the engine, its device and the
   * library version, e.g. `{ engine: 'tensorflow', device: 'cpu', engineVersion: 'TensorFlow 2.10.1' }`.
   */
  facts?(): Record<string, string>;
}

/**
 * Fixed 0/1 masks the training loop keeps applied to the parameters (initially and after every
 * step). Parameters reach backends already masked; the training loop also passes the masks to
 * {@link Backend.lossAndGrad} as a hint (gradients outside the recurrent mask may be skipped).
 */
export interface ModelMasks {
  /** [N, N] pruning mask of W_hh (1 keep, 0 pruned). */
  recurrent?: Float32Array;
  /** [N, nIn] mask of W_in (e.g. one input channel per population). */
  input?: Float32Array;
  /** [nOut, N] mask of W_out (e.g. the wave task's E/I readouts, one readout per population). */
  readout?: Float32Array;
}

/** Per-epoch record of a training run. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  /** Test accuracy in [0, 1], classification only. */
  testAccuracy?: number;
  /** Learning rate the epoch trained with; recorded only under a non-constant lr schedule. */
  lr?: number;
}
