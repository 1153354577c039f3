/**
 * Evaluation (stage kind `evaluate`): test loss and accuracy of the parent model, the sparsity
 * and Dale sign violations of its effective W_hh (`wEff.npy`), and for task celltype the band
 * means and block means (`blockMeans.json`).
 */
import { jsThreads, modelSetup } from './model-setup.js';
import type { StageContext, StageProduct } from './stage-context.js';
import { encodeNpyBytes, parentMetrics, pickPruneMetrics, readModel, singleParent, zeroFraction } from './stored-model.js';
import { createBackend } from '../rnn/backends.js';
import { effectiveRecurrent } from '../rnn/init.js';
import { daleViolations } from '../rnn/rules.js';
import { evaluateDataset } from '../rnn/train.js';
import type { EvaluateStageConfig } from '../sweeps/stage-config.js';
import type { Stage } from '../sweeps/types.js';
import { bandMeans, blockAverages, heatmapToJSON } from '../celltype/analysis.js';

/** Test loss/accuracy and weight statistics of the parent model. */
export async function runEvaluate(stage: Stage, c: EvaluateStageConfig, ctx: StageContext): Promise<StageProduct> {
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
  return { files, metrics, backend: c.backend, extra: { ...jsThreads(c.backend), ...facts } };
}
