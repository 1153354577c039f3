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
 *
 * One module per stage kind: activities/stage-train.ts (train, finetune), stage-prune.ts,
 * stage-evaluate.ts; their shared network setup is model-setup.ts and the stored model
 * stored-model.ts. This module dispatches on the kind.
 */
import type { StageContext, StageProduct } from './stage-context.js';
import { runEvaluate } from './stage-evaluate.js';
import { runPrune } from './stage-prune.js';
import { runTraining } from './stage-train.js';
import type { Stage } from '../sweeps/types.js';

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
