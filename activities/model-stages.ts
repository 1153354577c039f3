/**
 * The model stages (SCIENCE.md §2–§5): dense training, pruning, masked fine-tuning and
 * evaluation, reading their parents' weights from the store and returning their own.
 *
 * Files a model stage writes (all `.npy`, float32, C order, loadable with `numpy.load`):
 * - `weights/{wIn,bIn,wHh,bHh,wOut,bOut}.npy`: the parameters as stored (W_hh `[post, pre]`;
 *   for rectified/corrected W_hh holds W~, the effective weight is |W~|·D);
 * - `mask.npy` (prune, finetune, and train after at-init pruning): the fixed `[N, N]` W_hh mask;
 * - `records.json` (train, finetune): one record per epoch (trainLoss, testLoss, testAccuracy);
 * - `wEff.npy` (evaluate): the effective recurrent matrix the metrics describe.
 *
 * Training-like stages checkpoint after every epoch (`activities/checkpoint.ts`) and resume from
 * the newest checkpoint, so an interrupted stage continues where it stopped and ends with the same
 * numbers as an uninterrupted one.
 */
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.js';
import { encodeNpy, parseNpy } from '../io/npy.js';
import type { StageContext, StageProduct } from './run-stage.js';
import { DeterministicStageError } from './run-stage.js';
import { createBackend } from '../rnn/backends.js';
import type { Dataset } from '../rnn/dataset.js';
import { defaultModelConfig, effectiveRecurrent, initParams } from '../rnn/init.js';
import { maximumSpanningTree, mstOverlap, randomOverlapTheory, topProbOverlapLowerBound } from '../rnn/mst.js';
import type { OptimizerState } from '../rnn/optim.js';
import { pruneMatrix } from '../rnn/prune.js';
import { DivergenceError, evaluateDataset, train } from '../rnn/train.js';
import { PARAM_NAMES, type Backend, type EpochRecord, type ModelConfig, type ModelMasks, type ParamName, type Params } from '../rnn/types.js';
import { readStageFile, readStageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { EvaluateStageConfig, FinetuneStageConfig, ModelTaskConfig, PruneStageConfig, TrainStageConfig } from '../sweeps/stage-config.js';
import type { Stage } from '../sweeps/types.js';
import { makeTask } from '../tasks/index.js';

/** A parent stage's outputs were missing or inconsistent. */
export class ParentArtifactError extends Error {
  override name = 'ParentArtifactError';
}

/** Everything a model stage needs about its network and data. */
interface ModelSetup {
  cfg: ModelConfig;
  train: Dataset;
  test: Dataset;
  /** Fixed masks of the task (input / readout); the recurrent mask is added by pruning. */
  taskMasks: ModelMasks;
  frozen: readonly ParamName[];
  initParams(): Params;
}

/** A model as stored by a stage: parameters and, once pruned, the W_hh mask. */
interface StoredModel {
  params: Params;
  mask: Float32Array | null;
}

const setupCache = new Map<string, ModelSetup>();
const SETUP_CACHE_SIZE = 4;

/**
 * The network and data of a stage config. Cached per thread (the data of a task is fixed by its
 * config, and sMNIST loading costs more than a small stage).
 */
function modelSetup(c: ModelTaskConfig): ModelSetup {
  const key = JSON.stringify([c.task, c.seed, c.fidelity, c.nTrain, c.nTest, c.dataSource, c.dataDir, c.nHidden, c.excFraction, c.rule, c.threshold]);
  const hit = setupCache.get(key);
  if (hit !== undefined) return hit;
  const task = makeTask(c.task, {
    seed: c.seed,
    fidelity: c.fidelity,
    nTrain: c.nTrain,
    nTest: c.nTest,
    mnistSource: c.dataSource,
    dataDir: c.dataDir ?? undefined,
  });
  const nExc = Math.round(c.excFraction * c.nHidden);
  const cfg = defaultModelConfig({
    nInput: task.nIn,
    nHidden: c.nHidden,
    nOutput: task.nOut,
    nExc,
    rule: c.rule,
    head: task.head,
    threshold: c.threshold,
    fidelity: c.fidelity,
  });
  const setup: ModelSetup = {
    cfg,
    train: task.train,
    test: task.test,
    taskMasks: task.masks(c.nHidden, nExc),
    frozen: [],
    initParams: () => initParams(cfg, c.seed),
  };
  if (setupCache.size >= SETUP_CACHE_SIZE) setupCache.delete(setupCache.keys().next().value as string);
  setupCache.set(key, setup);
  return setup;
}

/** Runs a train, prune, finetune or evaluate stage. */
export async function runModelStage(stage: Stage, ctx: StageContext): Promise<StageProduct> {
  const c = stage.config;
  switch (c.kind) {
    case 'train':
      return runTraining(stage, c, ctx);
    case 'finetune':
      return runTraining(stage, c, ctx);
    case 'prune':
      return runPrune(stage, c, ctx);
    case 'evaluate':
      return runEvaluate(stage, c, ctx);
    default:
      throw new Error(`runModelStage: stage kind '${stage.kind}' is not a model stage`);
  }
}

function singleParent(stage: Stage): string {
  if (stage.parents.length !== 1) throw new ParentArtifactError(`${stage.kind} stage ${stage.id.slice(0, 12)} needs exactly one parent, has ${stage.parents.length}`);
  return stage.parents[0];
}

async function readModel(store: ArtifactStore, stageId: string, cfg: ModelConfig): Promise<StoredModel> {
  const manifest = await readStageManifest(store, stageId);
  if (manifest === null) throw new ParentArtifactError(`parent stage ${stageId.slice(0, 12)} has no manifest (not completed)`);
  const params = {} as Params;
  for (const name of PARAM_NAMES) {
    params[name] = decodeNpy(await readStageFile(store, stageId, `weights/${name}.npy`, manifest), `stage ${stageId.slice(0, 12)} weights/${name}.npy`);
  }
  if (params.wHh.length !== cfg.nHidden * cfg.nHidden) throw new ParentArtifactError(`parent stage ${stageId.slice(0, 12)}: W_hh has ${params.wHh.length} entries, expected ${cfg.nHidden}²`);
  const mask = 'mask.npy' in manifest.files ? decodeNpy(await readStageFile(store, stageId, 'mask.npy', manifest), `stage ${stageId.slice(0, 12)} mask.npy`) : null;
  return { params, mask };
}

async function parentMetrics(store: ArtifactStore, stageId: string): Promise<Record<string, number | null>> {
  return (await readStageManifest(store, stageId))?.metrics ?? {};
}

function modelFiles(cfg: ModelConfig, m: StoredModel): Record<string, Uint8Array> {
  const N = cfg.nHidden;
  const shapes: Record<ParamName, number[]> = {
    wIn: [N, cfg.nInput],
    bIn: [N],
    wHh: [N, N],
    bHh: [N],
    wOut: [cfg.nOutput, N],
    bOut: [cfg.nOutput],
  };
  const files: Record<string, Uint8Array> = {};
  for (const name of PARAM_NAMES) files[`weights/${name}.npy`] = encodeNpyBytes(m.params[name], shapes[name]);
  if (m.mask !== null) files['mask.npy'] = encodeNpyBytes(m.mask, [N, N]);
  return files;
}

function withRecurrentMask(taskMasks: ModelMasks, mask: Float32Array | null): ModelMasks {
  return mask === null ? taskMasks : { ...taskMasks, recurrent: mask };
}

/** Fraction of zero entries. */
function zeroFraction(a: Float32Array): number {
  let z = 0;
  for (let k = 0; k < a.length; k++) if (a[k] === 0) z++;
  return z / a.length;
}

/** Dense training (train) or masked fine-tuning (finetune), one epoch at a time with checkpoints. */
async function runTraining(stage: Stage, c: TrainStageConfig | FinetuneStageConfig, ctx: StageContext): Promise<StageProduct> {
  const setup = modelSetup(c);
  const { cfg } = setup;
  let start: StoredModel;
  let inherited: Record<string, number | null> = {};
  if (c.kind === 'train' && stage.parents.length === 0) {
    start = { params: setup.initParams(), mask: null };
  } else {
    const parent = singleParent(stage);
    start = await readModel(ctx.store, parent, cfg);
    if (start.mask === null) throw new ParentArtifactError(`${c.kind} stage ${stage.id.slice(0, 12)}: parent ${parent.slice(0, 12)} has no mask.npy (expected a prune stage)`);
    inherited = await parentMetrics(ctx.store, parent);
  }
  const masks = withRecurrentMask(setup.taskMasks, start.mask);
  const backend = await createBackend(c.backend);
  try {
    let params = start.params;
    let optimizerState: OptimizerState | undefined;
    let records: EpochRecord[] = [];
    const resume = await loadLatestCheckpoint(ctx.store, stage.id, ctx.resumeCheckpointKey);
    if (resume !== null && resume.checkpoint.epoch <= c.epochs) {
      ({ params, optimizerState, records } = resume.checkpoint);
    }
    const resumedFromEpoch = records.length;
    for (let epoch = records.length; epoch < c.epochs; epoch++) {
      if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
      const r = trainOneEpoch(backend, setup, c, masks, params, optimizerState, epoch);
      params = r.params;
      optimizerState = r.optimizerState;
      records = [...records, ...r.records];
      const last = r.records[r.records.length - 1];
      const key = await saveCheckpoint(ctx.store, stage.id, { epoch: epoch + 1, params, optimizerState, records });
      ctx.onCheckpoint?.(key, epoch + 1);
      ctx.onProgress?.({ epoch: epoch + 1, epochs: c.epochs, loss: last.trainLoss });
    }
    const model: StoredModel = { params, mask: start.mask };
    const files = modelFiles(cfg, model);
    files['records.json'] = new TextEncoder().encode(JSON.stringify(records));
    const last = records[records.length - 1];
    const metrics: Record<string, number | null> = {
      ...pickPruneMetrics(inherited),
      epochs: c.epochs,
      trainLoss: last?.trainLoss ?? null,
      testLoss: last?.testLoss ?? null,
    };
    if (last?.testAccuracy !== undefined) metrics.testAccuracy = last.testAccuracy;
    return { files, metrics, backend: backend.name, extra: { resumedFromEpoch } };
  } finally {
    backend.dispose?.();
  }
}

function trainOneEpoch(
  backend: Backend,
  setup: ModelSetup,
  c: TrainStageConfig | FinetuneStageConfig,
  masks: ModelMasks,
  params: Params,
  optimizerState: OptimizerState | undefined,
  epochsDone: number,
): { params: Params; optimizerState: OptimizerState; records: EpochRecord[] } {
  try {
    return train({
      cfg: setup.cfg,
      params,
      backend,
      train: setup.train,
      test: setup.test.n > 0 ? setup.test : undefined,
      epochs: epochsDone + 1,
      startEpoch: epochsDone,
      optimizerState: epochsDone > 0 ? optimizerState : undefined,
      batchSize: c.batchSize,
      optimizer: c.optimizer,
      lr: c.lr,
      seed: c.seed,
      masks,
      frozen: setup.frozen,
    });
  } catch (err) {
    if (err instanceof DivergenceError) throw new DeterministicStageError(err.message);
    throw err;
  }
}

const PRUNE_METRICS = ['targetSparsity', 'achievedSparsity', 'kept', 'mstOverlap', 'mstLowerBound', 'mstRandomTheory'] as const;

function pickPruneMetrics(m: Record<string, number | null>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of PRUNE_METRICS) if (k in m) out[k] = m[k];
  return out;
}

/**
 * Pruning of the effective W_hh (SCIENCE.md §3) and its MST overlap (§4). Magnitudes of the
 * stored and the effective matrix are equal (|W~| = |W_eff| for rectified/corrected), so the mask
 * is drawn from the effective matrix and applied to the stored one. A parent that is already
 * pruned (iterative mode) keeps its zeros: the new mask is ANDed with the old one.
 */
async function runPrune(stage: Stage, c: PruneStageConfig, ctx: StageContext): Promise<StageProduct> {
  const setup = modelSetup(c);
  const { cfg } = setup;
  const N = cfg.nHidden;
  let model: StoredModel;
  if (c.atInit) {
    if (stage.parents.length !== 0) throw new ParentArtifactError(`at-init prune stage ${stage.id.slice(0, 12)} must have no parent`);
    model = { params: setup.initParams(), mask: null };
  } else {
    model = await readModel(ctx.store, singleParent(stage), cfg);
  }
  const wEff = effectiveRecurrent(cfg, model.params);
  if (model.mask !== null) for (let k = 0; k < wEff.length; k++) if (model.mask[k] === 0) wEff[k] = 0;
  const r = pruneMatrix(wEff, N, N, { method: c.method, sparsity: c.sparsity, seed: c.pruneSeed, fidelity: c.fidelity });
  const mask = r.mask;
  if (model.mask !== null) for (let k = 0; k < mask.length; k++) if (model.mask[k] === 0) mask[k] = 0;
  const params = { ...model.params, wHh: model.params.wHh.slice() };
  for (let k = 0; k < mask.length; k++) if (mask[k] === 0) params.wHh[k] = 0;
  const mst = maximumSpanningTree(wEff, N, N);
  const overlap = mstOverlap(mst, mask, { fidelity: c.fidelity, w: wEff });
  const bound = topProbOverlapLowerBound(wEff, N, c.sparsity, { fidelity: c.fidelity });
  const metrics: Record<string, number | null> = {
    targetSparsity: c.sparsity,
    achievedSparsity: zeroFraction(mask),
    kept: r.kept,
    mstOverlap: overlap,
    mstLowerBound: c.method === 'top-prob' ? bound.fraction : null,
    mstRandomTheory: randomOverlapTheory(N, c.sparsity, { fidelity: c.fidelity }).fraction,
  };
  return { files: modelFiles(cfg, { params, mask }), metrics, backend: 'none' };
}

/** Test loss/accuracy and weight statistics of the parent model. */
async function runEvaluate(stage: Stage, c: EvaluateStageConfig, ctx: StageContext): Promise<StageProduct> {
  const setup = modelSetup(c);
  const { cfg } = setup;
  const parent = singleParent(stage);
  const model = await readModel(ctx.store, parent, cfg);
  const inherited = await parentMetrics(ctx.store, parent);
  const ds = setup.test.n > 0 ? setup.test : setup.train;
  const backend = await createBackend(c.backend);
  let ev: { loss: number; accuracy?: number };
  try {
    ev = evaluateDataset(backend, cfg, model.params, ds, 500);
  } finally {
    backend.dispose?.();
  }
  const wEff = effectiveRecurrent(cfg, model.params);
  const N = cfg.nHidden;
  let violations = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const w = wEff[i * N + j];
      if (j < cfg.nExc ? w < 0 : w > 0) violations++;
    }
  }
  const metrics: Record<string, number | null> = {
    ...pickPruneMetrics(inherited),
    testLoss: Number.isFinite(ev.loss) ? ev.loss : null,
    weightSparsity: zeroFraction(wEff),
    signViolations: violations,
  };
  if (ev.accuracy !== undefined) metrics.testAccuracy = ev.accuracy;
  if ('trainLoss' in inherited) metrics.trainLoss = inherited.trainLoss;
  return { files: { 'wEff.npy': encodeNpyBytes(wEff, [N, N]) }, metrics, backend: backend.name };
}

/** A float32 array as `.npy` bytes of the given shape. */
function encodeNpyBytes(data: Float32Array, shape: number[]): Uint8Array {
  return encodeNpy({ data, shape, dtype: 'float32' });
}

/** A stored `.npy` as float32 (float64 files are narrowed). */
function decodeNpy(bytes: Uint8Array, what: string): Float32Array {
  const a = parseNpy(bytes, what);
  if (a.data instanceof Float32Array) return a.data;
  if (a.data instanceof Float64Array) return Float32Array.from(a.data);
  throw new ParentArtifactError(`${what}: dtype ${a.dtype}, expected float32 or float64`);
}
