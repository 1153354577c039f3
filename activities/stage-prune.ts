/**
 * Pruning (stage kind `prune`): of the effective W_hh by the configured method, with the MST
 * overlap against the dense network's tree and its expectations (SCIENCE.md §3–§4), or for task
 * celltype block-wise to Table 1 (`blocks.json`).
 */
import { modelSetup, type ModelSetup } from './model-setup.js';
import type { StageContext, StageProduct } from './stage-context.js';
import { ParentArtifactError, modelFiles, readModel, singleParent, zeroCount, zeroFraction, type StoredModel } from './stored-model.js';
import { effectiveRecurrent } from '../rnn/init.js';
import { maximumSpanningTree, mstOverlap, randomOverlapTheory, topProbOverlapLowerBound, type LowerBoundProbabilities } from '../rnn/mst.js';
import { pruneMatrix } from '../rnn/prune.js';
import type { ModelConfig } from '../rnn/types.js';
import { readStageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { PruneStageConfig } from '../sweeps/stage-config.js';
import type { Stage } from '../sweeps/types.js';
import type { CelltypeTask } from '../tasks/celltype.js';
import { populationConnectionProbabilities } from '../celltype/connectivity.js';

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
export async function runPrune(stage: Stage, c: PruneStageConfig, ctx: StageContext): Promise<StageProduct> {
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
