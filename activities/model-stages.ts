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
 * Task celltype (SCIENCE.md §6, tasks/celltype.ts): the network, data, input/readout masks, frozen
 * tensors (biases, readouts) and initial parameters come from {@link celltypeTask}; its prune
 * stage (method `celltype`) also writes `blocks.json` (per intra-area block: post, pre, Table 1
 * p, kept, size). Its matrices are in the model's internal (Pyr-first) neuron order
 * (celltype/populations.ts). Evaluate adds the mean |w| of the feedforward and feedback bands.
 *
 * Training-like stages checkpoint after every epoch (`activities/checkpoint.ts`) and resume from
 * the newest checkpoint, so an interrupted stage continues where it stopped and ends with the same
 * numbers as an uninterrupted one.
 */
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.js';
import { encodeNpy, parseNpy } from '../io/npy.js';
import { DeterministicStageError, type StageContext, type StageProduct } from './stage-context.js';
import { createBackend } from '../rnn/backends.js';
import type { Dataset } from '../rnn/dataset.js';
import { defaultModelConfig, effectiveRecurrent, excitatoryCount, initParams } from '../rnn/init.js';
import { maximumSpanningTree, mstOverlap, randomOverlapTheory, topProbOverlapLowerBound, type LowerBoundProbabilities } from '../rnn/mst.js';
import type { OptimizerState } from '../rnn/optim.js';
import { pruneMatrix } from '../rnn/prune.js';
import { daleViolations } from '../rnn/rules.js';
import { DivergenceError, evaluateDataset, train } from '../rnn/train.js';
import { PARAM_NAMES, type Backend, type EpochRecord, type ModelConfig, type ModelMasks, type ParamName, type Params } from '../rnn/types.js';
import { readStageFile, readStageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { EvaluateStageConfig, FinetuneStageConfig, ModelTaskConfig, PruneStageConfig, TrainStageConfig } from '../sweeps/stage-config.js';
import type { Stage } from '../sweeps/types.js';
import { makeTask } from '../tasks/index.js';
import { celltypeTask, type CelltypeTask } from '../tasks/celltype.js';
import { bandMeans, blockAverages, heatmapToJSON } from '../celltype/analysis.js';
import { populationConnectionProbabilities } from '../celltype/connectivity.js';

/** A parent stage's outputs were missing or inconsistent. */
export class ParentArtifactError extends Error {
  override name = 'ParentArtifactError';
}

/** Everything a model stage needs about its network and data. */
export interface ModelSetup {
  cfg: ModelConfig;
  train: Dataset;
  test: Dataset;
  /** Fixed masks of the task (input / readout); the recurrent mask is added by pruning. */
  taskMasks: ModelMasks;
  frozen: readonly ParamName[];
  initParams(): Params;
  /** The cell-type task (layout, Table 1 pruning), for task celltype only. */
  celltype?: CelltypeTask;
}

/** A model as stored by a stage: parameters and, once pruned, the W_hh mask. */
interface StoredModel {
  params: Params;
  mask: Float32Array | null;
}

const setupCache = new Map<string, Promise<ModelSetup>>();
const SETUP_CACHE_SIZE = 4;

/**
 * The network and data of a stage config. Cached per thread (the data of a task is fixed by its
 * config, and sMNIST loading or cell-type data generation costs more than a small stage); a
 * failed load is not cached.
 */
function modelSetup(c: ModelTaskConfig): Promise<ModelSetup> {
  const key = JSON.stringify([c.task, c.seed, c.fidelity, c.nTrain, c.nTest, c.dataSource, c.dataDir, c.nHidden, c.excFraction, c.rule, c.threshold, c.celltype ?? null]);
  const hit = setupCache.get(key);
  if (hit !== undefined) return hit;
  const made = buildSetup(c);
  if (setupCache.size >= SETUP_CACHE_SIZE) setupCache.delete(setupCache.keys().next().value as string);
  setupCache.set(key, made);
  made.catch(() => {
    if (setupCache.get(key) === made) setupCache.delete(key);
  });
  return made;
}

/**
 * Builds the network, data and masks of a stage config, uncached (the stages use the per-thread
 * cache {@link modelSetup}; the calibration of `dalesweep plan` builds small copies).
 */
export async function buildSetup(c: ModelTaskConfig): Promise<ModelSetup> {
  if (c.task === 'celltype') return celltypeSetup(c);
  if (c.celltype !== undefined) throw new Error(`stage config of task ${c.task} has cell-type fields`);
  const task = makeTask(c.task, {
    seed: c.seed,
    fidelity: c.fidelity,
    nTrain: c.nTrain,
    nTest: c.nTest,
    mnistSource: c.dataSource ?? undefined,
    dataDir: c.dataDir ?? undefined,
  });
  const nExc = excitatoryCount(c.nHidden, c.excFraction);
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
  return {
    cfg,
    train: task.train,
    test: task.test,
    taskMasks: task.masks(c.nHidden, nExc),
    frozen: [],
    initParams: () => initParams(cfg, c.seed),
  };
}

/** The CelltypeRNN of a celltype stage config (N, nExc from the layout; rule as configured). */
async function celltypeSetup(c: ModelTaskConfig): Promise<ModelSetup> {
  const ct = c.celltype;
  if (ct === undefined) throw new Error('celltype stage config without its celltype fields');
  const task = await celltypeTask({
    condition: ct.condition,
    seed: c.seed,
    fidelity: c.fidelity,
    rule: c.rule,
    dataSource: ct.data,
    dataDir: c.dataDir ?? undefined,
    syntheticSamples: ct.syntheticSamples ?? undefined,
    latentScaling: ct.latentScaling,
    nTrain: c.nTrain,
    nTest: c.nTest,
  });
  if (task.cfg.nHidden !== c.nHidden) throw new Error(`celltype stage config: nHidden ${c.nHidden} does not match the layout's N = ${task.cfg.nHidden}`);
  return {
    cfg: task.cfg,
    train: task.train,
    test: task.test,
    taskMasks: task.masks(),
    frozen: task.frozen,
    initParams: () => task.initParams(),
    celltype: task,
  };
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

/** Number of entries exactly 0. */
function zeroCount(a: Float32Array): number {
  let z = 0;
  for (let k = 0; k < a.length; k++) if (a[k] === 0) z++;
  return z;
}

/** Fraction of zero entries. */
function zeroFraction(a: Float32Array): number {
  return zeroCount(a) / a.length;
}

/** Dense training (train) or masked fine-tuning (finetune), one epoch at a time with checkpoints. */
async function runTraining(stage: Stage, c: TrainStageConfig | FinetuneStageConfig, ctx: StageContext): Promise<StageProduct> {
  const setup = await modelSetup(c);
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
    const resume = await loadLatestCheckpoint(ctx.store, stage.id, ctx.resumeCheckpointKey, ctx.onWarning);
    if (resume !== null && resume.checkpoint.epoch <= c.epochs) {
      ({ params, optimizerState, records } = resume.checkpoint);
    }
    const resumedFromEpoch = records.length;
    for (let epoch = records.length; epoch < c.epochs; epoch++) {
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
    return { files, metrics, backend: c.backend, extra: { resumedFromEpoch, ...backend.facts?.() } };
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
      lrSchedule: c.lrSchedule,
      seed: c.seed,
      masks,
      frozen: setup.frozen,
    });
  } catch (err) {
    if (err instanceof DivergenceError) throw new DeterministicStageError(err.message);
    throw err;
  }
}

const PRUNE_METRICS = ['targetSparsity', 'achievedSparsity', 'kept', 'blockMaxZ', 'mstOverlap', 'mstLowerBoundFormula', 'mstLowerBoundRenormalised', 'mstRandomTheory'] as const;

function pickPruneMetrics(m: Record<string, number | null>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of PRUNE_METRICS) if (k in m) out[k] = m[k];
  return out;
}

/**
 * The dense model a prune stage's chain starts from: walks the stored manifests from `parentId`
 * up through fine-tune and prune stages (iterative pruning: train → prune → finetune → prune ...)
 * to the train stage, and returns that stage's id.
 * @throws ParentArtifactError when a stage on the way is missing or has other than one parent
 */
async function denseAncestor(store: ArtifactStore, parentId: string): Promise<string> {
  let id = parentId;
  // A chain has at most 2 stages per round (rounds <= 1000) above its train stage.
  for (let depth = 0; depth <= 4096; depth++) {
    const m = await readStageManifest(store, id);
    if (m === null) throw new ParentArtifactError(`ancestor stage ${id.slice(0, 12)} has no manifest (not completed)`);
    if (m.kind === 'train') return id;
    if (m.parents.length !== 1) throw new ParentArtifactError(`ancestor ${m.kind} stage ${id.slice(0, 12)} has ${m.parents.length} parents, expected 1 on the way to the dense model`);
    id = m.parents[0];
  }
  throw new ParentArtifactError(`no train stage within 4096 ancestors of ${parentId.slice(0, 12)}`);
}

/**
 * The effective W_hh of a stored model with its mask applied (masked entries exactly 0).
 * @returns [N, N] row-major `[post, pre]`
 */
function maskedEffective(cfg: ModelConfig, model: StoredModel): Float32Array {
  const w = effectiveRecurrent(cfg, model.params);
  if (model.mask !== null) for (let k = 0; k < w.length; k++) if (model.mask[k] === 0) w[k] = 0;
  return w;
}

/**
 * Pruning of the effective W_hh (SCIENCE.md §3) and its MST overlap (§4). Magnitudes of the
 * stored and the effective matrix are equal (|W~| = |W_eff| for rectified/corrected), so the mask
 * is drawn from the effective matrix and applied to the stored one. A parent that is already
 * pruned (iterative mode) keeps its zeros: the new mask is ANDed with the old one.
 *
 * The MST is always the dense network's: in iterative mode a later round reads the train stage
 * at the root of its chain ({@link denseAncestor}) and measures the overlap of its cumulative
 * mask against that tree. The top-prob lower bounds (App. 10.1, both named variants of rnn/mst.ts
 * `topProbOverlapLowerBound`: `mstLowerBoundFormula` with the printed κ|w_(k)|,
 * `mstLowerBoundRenormalised` with the Alg. 3 probabilities) describe one pruning of a matrix
 * against its own tree, so they are null after the first round.
 *
 * `mstRandomTheory` is the expected overlap of random pruning at this stage's sparsity given the
 * parent ({@link randomOverlapTheory} with the z0 exact zeros of the matrix the pruner sees; the
 * exact-count pruner for method `random-exact`, the Bernoulli one otherwise):
 * the keep fraction q of the dense-tree edges still there (first round and one-shot: all of
 * them), times their share of the tree. "Still there" is non-zero in the parent's effective
 * matrix (`paper-code`: mask 1, as the authors' pruner can keep zeros).
 */
async function runPrune(stage: Stage, c: PruneStageConfig, ctx: StageContext): Promise<StageProduct> {
  const setup = await modelSetup(c);
  const { cfg } = setup;
  const N = cfg.nHidden;
  let model: StoredModel;
  if (c.atInit) {
    if (stage.parents.length !== 0) throw new ParentArtifactError(`at-init prune stage ${stage.id.slice(0, 12)} must have no parent`);
    model = { params: setup.initParams(), mask: null };
  } else {
    model = await readModel(ctx.store, singleParent(stage), cfg);
  }
  const wEff = maskedEffective(cfg, model);
  if (c.method === 'celltype') return pruneCelltypeStage(setup, c, model, wEff);
  if (c.sparsity === null) throw new Error(`prune stage ${stage.id.slice(0, 12)}: method ${c.method} needs a sparsity`);
  if (setup.celltype !== undefined) throw new Error(`prune stage ${stage.id.slice(0, 12)}: task celltype is pruned with method celltype, not ${c.method}`);
  const r = pruneMatrix(wEff, N, N, { method: c.method, sparsity: c.sparsity, seed: c.pruneSeed, fidelity: c.fidelity });
  const mask = r.mask;
  if (model.mask !== null) for (let k = 0; k < mask.length; k++) if (model.mask[k] === 0) mask[k] = 0;
  const params = { ...model.params, wHh: model.params.wHh.slice() };
  for (let k = 0; k < mask.length; k++) if (mask[k] === 0) params.wHh[k] = 0;
  // Iterative rounds after the first: the tree and the value matching are the dense model's.
  const laterRound = model.mask !== null;
  const dense = laterRound ? maskedEffective(cfg, await readModel(ctx.store, await denseAncestor(ctx.store, singleParent(stage)), cfg)) : wEff;
  const mst = maximumSpanningTree(dense, N, N);
  const overlap = mstOverlap(mst, mask, { fidelity: c.fidelity, w: dense });
  let alive = mst.length;
  if (laterRound) alive = Array.from(mst).filter((e) => (c.fidelity === 'paper-code' ? model.mask![e] !== 0 : wEff[e] !== 0)).length;
  const variant = c.method === 'random-exact' ? 'exact' : 'bernoulli';
  const randomTheory = randomOverlapTheory(N, c.sparsity, { fidelity: c.fidelity, zeros: zeroCount(wEff), variant, treeEdges: mst.length });
  const withBound = c.method === 'top-prob' && !laterRound;
  const sparsity = c.sparsity;
  const bound = (probabilities: LowerBoundProbabilities): number | null => (withBound ? topProbOverlapLowerBound(wEff, N, sparsity, { fidelity: c.fidelity, probabilities }).fraction : null);
  const metrics: Record<string, number | null> = {
    targetSparsity: c.sparsity,
    achievedSparsity: zeroFraction(mask),
    kept: r.kept,
    mstOverlap: overlap,
    mstLowerBoundFormula: bound('formula'),
    mstLowerBoundRenormalised: bound('renormalised'),
    mstRandomTheory: mst.length === 0 ? null : (alive / mst.length) * randomTheory.fraction,
  };
  return { files: modelFiles(cfg, { params, mask }), metrics, backend: 'none' };
}

/**
 * Table 1 pruning of a CelltypeRNN ({@link CelltypeTask.prune}): every intra-area population
 * block pruned block-wise with top-prob to its connection probability, the inter-area bands kept
 * with the run's Bernoulli(0.3) mask, every other inter-area entry zero; ANDed with the parent's
 * mask, if any. Metrics: targetSparsity (the expected fraction of zeros, 1 − Σ p·block size /
 * N²), achievedSparsity, kept, blockMaxZ (the largest |kept − p·size| / √(size·p·(1 − p)) over
 * intra-area blocks with 0 < p < 1: the realised fraction's distance from Table 1 in binomial
 * SDs), the MST overlap of the mask and its random-pruning expectation at targetSparsity.
 * @param wEff the parent's effective W_hh (internal order), its masked entries already zero
 */
function pruneCelltypeStage(setup: ModelSetup, c: PruneStageConfig, model: StoredModel, wEff: Float32Array): StageProduct {
  const task = setup.celltype;
  if (task === undefined) throw new Error(`pruning method celltype applies only to task celltype (task is ${c.task})`);
  const { cfg } = setup;
  const N = cfg.nHidden;
  const r = task.prune(wEff, c.pruneSeed);
  const mask = r.mask;
  if (model.mask !== null) for (let k = 0; k < mask.length; k++) if (model.mask[k] === 0) mask[k] = 0;
  const params = { ...model.params, wHh: model.params.wHh.slice() };
  let kept = 0;
  for (let k = 0; k < mask.length; k++) {
    if (mask[k] === 0) params.wHh[k] = 0;
    else kept++;
  }
  const P = populationConnectionProbabilities(task.layout);
  let expectedKept = 0;
  for (const post of task.layout.populations) for (const pre of task.layout.populations) expectedKept += P[post.index * 18 + pre.index] * post.size * pre.size;
  const targetSparsity = 1 - expectedKept / (N * N);
  let blockMaxZ = 0;
  for (const b of r.blocks) {
    if (b.p <= 0 || b.p >= 1) continue;
    blockMaxZ = Math.max(blockMaxZ, Math.abs(b.kept - b.p * b.size) / Math.sqrt(b.size * b.p * (1 - b.p)));
  }
  const mst = maximumSpanningTree(wEff, N, N);
  const metrics: Record<string, number | null> = {
    targetSparsity,
    achievedSparsity: zeroFraction(mask),
    kept,
    blockMaxZ,
    mstOverlap: mstOverlap(mst, mask, { fidelity: c.fidelity, w: wEff }),
    mstLowerBoundFormula: null,
    mstLowerBoundRenormalised: null,
    mstRandomTheory: randomOverlapTheory(N, targetSparsity, { fidelity: c.fidelity, zeros: zeroCount(wEff), treeEdges: mst.length }).fraction,
  };
  const files = modelFiles(cfg, { params, mask });
  const blocks = r.blocks.map((b) => ({ post: b.post, pre: b.pre, p: b.p, size: b.size, kept: b.kept, expectedKept: b.expectedKept }));
  files['blocks.json'] = new TextEncoder().encode(JSON.stringify(blocks));
  return { files, metrics, backend: 'none' };
}

/** Test loss/accuracy and weight statistics of the parent model. */
async function runEvaluate(stage: Stage, c: EvaluateStageConfig, ctx: StageContext): Promise<StageProduct> {
  const setup = await modelSetup(c);
  const { cfg } = setup;
  const parent = singleParent(stage);
  const model = await readModel(ctx.store, parent, cfg);
  const inherited = await parentMetrics(ctx.store, parent);
  const ds = setup.test.n > 0 ? setup.test : setup.train;
  const backend = await createBackend(c.backend);
  const facts = backend.facts?.();
  let ev: { loss: number; accuracy?: number };
  try {
    ev = evaluateDataset(backend, cfg, model.params, ds, 500);
  } finally {
    backend.dispose?.();
  }
  const wEff = effectiveRecurrent(cfg, model.params);
  const N = cfg.nHidden;
  const metrics: Record<string, number | null> = {
    ...pickPruneMetrics(inherited),
    testLoss: Number.isFinite(ev.loss) ? ev.loss : null,
    weightSparsity: zeroFraction(wEff),
    signViolations: daleViolations(wEff, N, cfg.nExc).count,
  };
  if (ev.accuracy !== undefined) metrics.testAccuracy = ev.accuracy;
  if ('trainLoss' in inherited) metrics.trainLoss = inherited.trainLoss;
  const files: Record<string, Uint8Array> = { 'wEff.npy': encodeNpyBytes(wEff, [N, N]) };
  if (setup.celltype !== undefined) {
    const layout = setup.celltype.layout;
    const [ff, fbL23, fbL5] = bandMeans(layout, wEff);
    metrics.bandFeedforward = ff.value;
    metrics.bandFeedbackL23 = fbL23.value;
    metrics.bandFeedbackL5 = fbL5.value;
    const blockMeans = {
      absolute: true,
      population: heatmapToJSON(blockAverages(layout, wEff, 'population')),
      layer: heatmapToJSON(blockAverages(layout, wEff, 'layer')),
    };
    files['blockMeans.json'] = new TextEncoder().encode(JSON.stringify(blockMeans));
  }
  return { files, metrics, backend: c.backend, extra: { ...facts } };
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
