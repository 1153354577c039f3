/**
 * Dense training (stage kind `train`) and masked fine-tuning (`finetune`): one epoch at a time,
 * a checkpoint after each (activities/checkpoint.ts), resuming from the newest checkpoint so an
 * interrupted stage ends with the numbers of an uninterrupted one.
 */
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.js';
import { jsThreads, modelSetup, type ModelSetup } from './model-setup.js';
import { DeterministicStageError, type StageContext, type StageProduct } from './stage-context.js';
import { ParentArtifactError, modelFiles, parentMetrics, pickPruneMetrics, readModel, singleParent, withRecurrentMask, type StoredModel } from './stored-model.js';
import { createBackend } from '../rnn/backends.js';
import type { OptimizerState } from '../rnn/optim.js';
import { DivergenceError, train } from '../rnn/train.js';
import type { Backend, EpochRecord, ModelMasks, Params } from '../rnn/types.js';
import type { FinetuneStageConfig, TrainStageConfig } from '../sweeps/stage-config.js';
import type { Stage } from '../sweeps/types.js';

/** Dense training (train) or masked fine-tuning (finetune), one epoch at a time with checkpoints. */
export async function runTraining(stage: Stage, c: TrainStageConfig | FinetuneStageConfig, ctx: StageContext): Promise<StageProduct> {
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
    return { files, metrics, backend: c.backend, extra: { resumedFromEpoch, ...jsThreads(c.backend), ...backend.facts?.() } };
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
