/**
 * The one training loop of dalesweep: dense training and masked fine-tuning alike
 * (SCIENCE.md §2, §3). Per step: gradients from the backend, masked gradient entries zeroed,
 * optimiser update (frozen tensors skipped), the rule's projection, then the fixed masks.
 */
import { allocBatch, type Dataset } from './dataset.js';
import { cloneParams, zerosLike } from './init.js';
import { learningRateAt, LrScheduleError, validateLrSchedule, type LrSchedule } from './lr-schedule.js';
import { makeOptimizer, type OptimizerName, type OptimizerState } from './optim.js';
import { Rng } from './rng.js';
import { applyMasks, applyRuleProjection, maskGrads, ruleContext } from './rules.js';
import type { Backend, Batch, EpochRecord, ModelConfig, ModelMasks, ParamName, Params } from './types.js';

/** Thrown when the loss becomes NaN or infinite. */
export class DivergenceError extends Error {
  /**
   * @param epoch 1-based epoch in which the loss diverged
   * @param where `train batch <i>` or `test`
   * @param loss the offending loss value
   */
  constructor(
    readonly epoch: number,
    readonly where: string,
    readonly loss: number,
  ) {
    super(`training diverged in epoch ${epoch} (${where}): loss = ${loss}`);
    this.name = 'DivergenceError';
  }
}

/** Thrown on invalid training options. */
export class TrainOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainOptionsError';
  }
}

/** State handed to {@link TrainOptions.onEpoch} at the end of each epoch. */
export interface EpochProgress {
  /** Epochs completed so far (= record.epoch). */
  epochsDone: number;
  /** Total epochs of the run. */
  epochs: number;
  /** Deep copy of the optimiser state (for a checkpoint; computed on call). */
  optimizerState(): OptimizerState;
}

/** Options of {@link train}. */
export interface TrainOptions {
  cfg: ModelConfig;
  /** Initial parameters (copied, never mutated). When resuming, the checkpointed parameters. */
  params: Params;
  backend: Backend;
  train: Dataset;
  /** Test set evaluated after every epoch; omit to skip (testLoss is then NaN). */
  test?: Dataset;
  /** Total epochs (including those done before `startEpoch`). */
  epochs: number;
  /** Training batch size (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Test batch size. @default batchSize */
  testBatchSize?: number;
  /** @default 'adam' */
  optimizer?: OptimizerName;
  /** Base learning rate (eta_max of a cosine schedule). @default 1e-3 */
  lr?: number;
  /**
   * Learning rate per epoch: epoch e (1-based, counted from the start of the run, so also across
   * a resume) trains with `learningRateAt(lr, lrSchedule, e - 1)` (rnn/lr-schedule.ts: stepped
   * once per epoch, as the authors call `scheduler.step()` after each epoch).
   * @default { kind: 'constant' }
   */
  lrSchedule?: LrSchedule;
  /** SGD momentum. @default 0 */
  momentum?: number;
  /** Seed of the batch order: `new Rng(seed, 'batches')`, one permutation per epoch. */
  seed: number;
  /** Fixed masks, applied to the initial params and after every step after the projection. */
  masks?: ModelMasks;
  /** Tensors never updated (e.g. the cell-type model's frozen readouts). */
  frozen?: readonly ParamName[];
  /**
   * Called after each epoch with its record and the current parameters (do not mutate; they may
   * be views of the optimiser's memory, updated in place by the next step and reused once `train`
   * returns: copy what is kept).
   */
  onEpoch?: (record: EpochRecord, params: Params, progress: EpochProgress) => void;
  /** Epochs already completed (resume from a checkpoint taken at that epoch). @default 0 */
  startEpoch?: number;
  /** Optimiser state of the checkpoint; required when startEpoch > 0. */
  optimizerState?: OptimizerState;
}

/** Result of {@link train}. */
export interface TrainResult {
  /** The trained parameters (arrays of their own, never views of the optimiser's memory). */
  params: Params;
  /** Records of the epochs run by this call (startEpoch+1 .. epochs). */
  records: EpochRecord[];
  optimizerState: OptimizerState;
}

/**
 * Mean loss and accuracy of `params` on a dataset, in sequential batches.
 * @returns loss = mean over batches of the backend loss, weighted by batch size; accuracy =
 *   correct / n when the backend reports correct counts
 */
export function evaluateDataset(
  backend: Backend,
  cfg: ModelConfig,
  params: Params,
  ds: Dataset,
  batchSize: number,
): { loss: number; accuracy?: number } {
  const idx = new Int32Array(ds.n);
  for (let i = 0; i < ds.n; i++) idx[i] = i;
  let lossSum = 0;
  let correct = 0;
  let hasCorrect = false;
  const buffers = new Map<number, Batch>();
  for (let s = 0; s < ds.n; s += batchSize) {
    const sub = idx.subarray(s, Math.min(ds.n, s + batchSize));
    const b = ds.batch(sub, bufferFor(buffers, ds, sub.length));
    const r = backend.evaluate(cfg, params, b);
    lossSum += r.loss * sub.length;
    if (r.correct !== undefined) {
      hasCorrect = true;
      correct += r.correct;
    }
  }
  const out: { loss: number; accuracy?: number } = { loss: lossSum / ds.n };
  if (hasCorrect) out.accuracy = correct / ds.n;
  return out;
}

function bufferFor(buffers: Map<number, Batch>, ds: Dataset, B: number): Batch {
  let b = buffers.get(B);
  if (b === undefined) {
    b = allocBatch(ds, B);
    buffers.set(B, b);
  }
  return b;
}

function validate(o: TrainOptions): void {
  const pos = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new TrainOptionsError(`${name} must be a positive integer, got ${v}`);
  };
  pos('epochs', o.epochs);
  pos('batchSize', o.batchSize);
  if (o.testBatchSize !== undefined) pos('testBatchSize', o.testBatchSize);
  const start = o.startEpoch ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > o.epochs) {
    throw new TrainOptionsError(`startEpoch must be an integer in [0, epochs=${o.epochs}], got ${start}`);
  }
  if (start > 0 && o.optimizerState === undefined) throw new TrainOptionsError('optimizerState is required when startEpoch > 0');
  const { cfg } = o;
  for (const [name, ds] of [['train', o.train], ['test', o.test]] as const) {
    if (ds === undefined) continue;
    if (ds.nIn !== cfg.nInput || ds.nOut !== cfg.nOutput) {
      throw new TrainOptionsError(`${name} dataset has nIn=${ds.nIn}, nOut=${ds.nOut}; the model expects nInput=${cfg.nInput}, nOutput=${cfg.nOutput}`);
    }
    if (ds.classification !== (cfg.head === 'softmax-last')) {
      throw new TrainOptionsError(`${name} dataset ${ds.classification ? 'has labels' : 'has per-step targets'} but head is ${cfg.head}`);
    }
  }
  if (!(typeof o.lr === 'undefined' || (Number.isFinite(o.lr) && o.lr > 0))) throw new TrainOptionsError(`lr must be a positive number, got ${o.lr}`);
  if (o.lrSchedule !== undefined) {
    try {
      validateLrSchedule(o.lrSchedule);
    } catch (err) {
      if (err instanceof LrScheduleError) throw new TrainOptionsError(err.message);
      throw err;
    }
  }
}

/**
 * Train `opts.params` (a copy) for epochs startEpoch+1 .. epochs. Each epoch visits the training
 * set in the order of a fresh permutation from `new Rng(seed, 'batches')` (epoch e uses the e-th
 * permutation of that stream, and its learning rate is a function of e alone (`lrSchedule`), so
 * resuming at epoch k with the checkpointed params and optimiser state reproduces an
 * uninterrupted run bit for bit).
 * @throws DivergenceError when a train or test loss is NaN or infinite
 * @throws TrainOptionsError on inconsistent options
 */
export function train(opts: TrainOptions): TrainResult {
  validate(opts);
  const { cfg, backend } = opts;
  const baseLr = opts.lr ?? 1e-3;
  const schedule: LrSchedule = opts.lrSchedule ?? { kind: 'constant' };
  const opt = makeOptimizer(opts.params, { kind: opts.optimizer ?? 'adam', lr: baseLr, momentum: opts.momentum ?? 0 });
  try {
    // Parameters and gradients where the optimiser updates them without copies (its kernel memory).
    const placed = opt.placeParams?.(opts.params);
    const params = placed?.params ?? cloneParams(opts.params);
    // (beside placed parameters, where the update kernels apply them)
    const masks = placed !== undefined && opts.masks !== undefined ? (opt.placeMasks?.(opts.masks) ?? opts.masks) : opts.masks;
    applyMasks(params, masks);
    const grads = placed?.grads ?? zerosLike(params);
    if (opts.optimizerState !== undefined) opt.setState(opts.optimizerState);
    const frozen = new Set<ParamName>(opts.frozen ?? []);
    const ctx = ruleContext(cfg);
    const ds = opts.train;
    const rng = new Rng(opts.seed, 'batches');
    const start = opts.startEpoch ?? 0;
    rng.skipPermutations(ds.n, start); // past the batch orders of the done epochs, in O(log) time
    const buffers = new Map<number, Batch>();
    const records: EpochRecord[] = [];
    const testBatch = opts.testBatchSize ?? opts.batchSize;

    for (let epoch = start + 1; epoch <= opts.epochs; epoch++) {
      // A function of the epoch alone (closed form), so a resumed run uses the same rates.
      opt.setLr(learningRateAt(baseLr, schedule, epoch - 1));
      const perm = rng.permutation(ds.n);
      let lossSum = 0;
      let nb = 0;
      for (let s = 0; s < ds.n; s += opts.batchSize) {
        const sub = perm.subarray(s, Math.min(ds.n, s + opts.batchSize));
        const batch = ds.batch(sub, bufferFor(buffers, ds, sub.length));
        const r = backend.lossAndGrad(cfg, params, batch, grads, masks);
        if (!Number.isFinite(r.loss)) throw new DivergenceError(epoch, `train batch ${nb}`, r.loss);
        lossSum += r.loss;
        nb++;
        maskGrads(grads, masks);
        opt.step(params, grads, frozen);
        applyRuleProjection(cfg, params, ctx);
        applyMasks(params, masks);
      }
      const record: EpochRecord = { epoch, trainLoss: lossSum / nb, testLoss: Number.NaN };
      if (schedule.kind !== 'constant') record.lr = opt.lr;
      if (opts.test !== undefined) {
        const ev = evaluateDataset(backend, cfg, params, opts.test, testBatch);
        if (!Number.isFinite(ev.loss)) throw new DivergenceError(epoch, 'test', ev.loss);
        record.testLoss = ev.loss;
        if (ev.accuracy !== undefined) record.testAccuracy = ev.accuracy;
      }
      records.push(record);
      opts.onEpoch?.(record, params, { epochsDone: epoch, epochs: opts.epochs, optimizerState: () => opt.getState() });
    }
    // A copy: the optimiser's memory is handed back for reuse below (and a view would clone all of it when posted).
    return { params: placed === undefined ? params : cloneParams(params), records, optimizerState: opt.getState() };
  } finally {
    opt.release?.();
  }
}
