/**
 * Connectivity constraints of the CelltypeRNN (SCIENCE.md §6, paper §4.2 and App. 12):
 *
 * - intra-area blocks (post population × pre population within V1, or within LM) are pruned
 *   block-wise with top-prob pruning to the connection probability p of Table 1
 *   (celltype/connectivity.json; rows = post, columns = pre; the same table for both areas), i.e.
 *   each block to sparsity 1 − p;
 * - inter-area blocks are zero except three excitatory bands with independent Bernoulli(0.3)
 *   masks (the authors' `np.random.binomial(1, 0.3)`): feedforward V1 L2/3 Pyr → LM L4
 *   (Pyr, Sst, Vip), feedback LM L5 Pyr → V1 L2/3 (Pyr, Sst, Vip) and LM L5 Pyr → V1 L5
 *   (Pyr, Sst, Vip).
 *
 * Dense training (as in the authors' code) uses no recurrent mask; the pruning mask and the
 * inter-area mask are both imposed from the prune stage on, and kept during fine-tuning.
 *
 * All matrices here are in the model's internal (Pyr-first) neuron order unless a function says
 * otherwise (see celltype/populations.ts); they are `Float32Array` [N, N] row-major [post, pre].
 */
import table from './connectivity.json' with { type: 'json' };
import { blockwiseTopProbMask, type BlockMaskResult, type PruneBlock } from '../rnn/prune.js';
import { Rng } from '../rnn/rng.js';
import type { Fidelity } from '../rnn/types.js';
import {
  CELL_TYPES,
  LAYERS,
  population,
  type Area,
  type CellType,
  type CelltypeLayout,
  type Layer,
  type Population,
} from './populations.js';

/** Thrown when the shipped connectivity table is malformed. */
export class ConnectivityTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectivityTableError';
  }
}

/** Connection probability of inter-area bands (paper §4.2). */
export const INTER_AREA_P = 0.3;

/** One inter-area band: presynaptic population → postsynaptic populations. */
export interface InterAreaBand {
  /** Name used in reports: `feedforward V1 L2/3 → LM L4`, ... */
  name: string;
  kind: 'feedforward' | 'feedback';
  pre: { area: Area; layer: Layer; type: CellType };
  post: { area: Area; layer: Layer; types: readonly CellType[] };
}

/** The three excitatory inter-area bands, in the order their Bernoulli masks are drawn. */
export const INTER_AREA_BANDS: readonly InterAreaBand[] = [
  {
    name: 'feedforward V1 L2/3 → LM L4',
    kind: 'feedforward',
    pre: { area: 'V1', layer: 'L23', type: 'Pyr' },
    post: { area: 'LM', layer: 'L4', types: CELL_TYPES },
  },
  {
    name: 'feedback LM L5 → V1 L2/3',
    kind: 'feedback',
    pre: { area: 'LM', layer: 'L5', type: 'Pyr' },
    post: { area: 'V1', layer: 'L23', types: CELL_TYPES },
  },
  {
    name: 'feedback LM L5 → V1 L5',
    kind: 'feedback',
    pre: { area: 'LM', layer: 'L5', type: 'Pyr' },
    post: { area: 'V1', layer: 'L5', types: CELL_TYPES },
  },
];

interface TableJson {
  source: string;
  orientation: string;
  populations: string[];
  p: number[][];
}

/** Validated Table 1: p[post][pre] indexed by {@link tableKey}. */
function loadTable(): Map<string, Map<string, number>> {
  const t = table as TableJson;
  if (t.orientation !== 'rows-post-columns-pre') {
    throw new ConnectivityTableError(`celltype/connectivity.json: orientation must be 'rows-post-columns-pre', got '${t.orientation}'`);
  }
  const expected = LAYERS.flatMap((l) => CELL_TYPES.map((c) => tableKey(l, c))).sort();
  const got = [...t.populations].sort();
  if (JSON.stringify(expected) !== JSON.stringify(got)) {
    throw new ConnectivityTableError(`celltype/connectivity.json: populations must be ${expected.join(', ')}, got ${t.populations.join(', ')}`);
  }
  if (t.p.length !== 9 || t.p.some((r) => r.length !== 9)) throw new ConnectivityTableError('celltype/connectivity.json: p must be a 9x9 array');
  const m = new Map<string, Map<string, number>>();
  t.populations.forEach((post, i) => {
    const row = new Map<string, number>();
    t.populations.forEach((pre, j) => {
      const v = t.p[i][j];
      if (!(typeof v === 'number' && v >= 0 && v <= 1)) {
        throw new ConnectivityTableError(`celltype/connectivity.json: p[${i}][${j}] (${post} ← ${pre}) must be a probability in [0, 1], got ${v}`);
      }
      row.set(pre, v);
    });
    m.set(post, row);
  });
  return m;
}

function tableKey(layer: Layer, type: CellType): string {
  return `${layer} ${type}`;
}

const TABLE = loadTable();

/** Where Table 1 comes from (for reports). */
export const CONNECTIVITY_SOURCE: string = (table as TableJson).source;

/**
 * Connection probability of Table 1 from (preLayer, preType) to (postLayer, postType) within
 * one area.
 */
export function connectionProbability(postLayer: Layer, postType: CellType, preLayer: Layer, preType: CellType): number {
  return TABLE.get(tableKey(postLayer, postType))!.get(tableKey(preLayer, preType))!;
}

/**
 * Target connection probability of every population pair, [18, 18] row-major [post, pre] in
 * nesting order: Table 1 within an area, 0.3 in the inter-area bands, 0 elsewhere.
 */
export function populationConnectionProbabilities(layout: CelltypeLayout): Float64Array {
  const P = new Float64Array(18 * 18);
  for (const post of layout.populations) {
    for (const pre of layout.populations) {
      if (post.area === pre.area) P[post.index * 18 + pre.index] = connectionProbability(post.layer, post.type, pre.layer, pre.type);
    }
  }
  for (const b of INTER_AREA_BANDS) {
    const pre = population(layout, b.pre.area, b.pre.layer, b.pre.type);
    for (const t of b.post.types) P[population(layout, b.post.area, b.post.layer, t).index * 18 + pre.index] = INTER_AREA_P;
  }
  return P;
}

/** A population block with its target, in internal coordinates (for the block-wise pruner). */
export interface CelltypeBlock extends PruneBlock {
  post: Population;
  pre: Population;
  /** Table 1 connection probability p (the block's sparsity is 1 − p). */
  p: number;
}

/**
 * The intra-area blocks (2 areas × 9 × 9 = 162), in the order area, post population, pre
 * population (nesting order), each `{ rows, cols, sparsity: 1 − p }` in internal coordinates.
 */
export function intraAreaBlocks(layout: CelltypeLayout): CelltypeBlock[] {
  const out: CelltypeBlock[] = [];
  for (const post of layout.populations) {
    for (const pre of layout.populations) {
      if (post.area !== pre.area) continue;
      const p = connectionProbability(post.layer, post.type, pre.layer, pre.type);
      out.push({
        rows: [post.internalStart, post.internalEnd],
        cols: [pre.internalStart, pre.internalEnd],
        sparsity: 1 - p,
        post,
        pre,
        p,
      });
    }
  }
  return out;
}

/**
 * The inter-area mask, [N, N] internal order: 1 on every intra-area entry (those are constrained
 * by pruning, not by this mask), Bernoulli(0.3) in the three bands, 0 on every other inter-area
 * entry. Draws one `rng.uniform()` per band entry from `new Rng(seed, 'celltype:interarea')`,
 * band by band in {@link INTER_AREA_BANDS} order, post populations in nesting order, row-major
 * within each post × pre block.
 */
export function interAreaMask(layout: CelltypeLayout, seed: number): Float32Array {
  const N = layout.N;
  const m = new Float32Array(N * N);
  for (const post of layout.populations) {
    for (const pre of layout.populations) {
      if (post.area !== pre.area) continue;
      for (let i = post.internalStart; i < post.internalEnd; i++) m.fill(1, i * N + pre.internalStart, i * N + pre.internalEnd);
    }
  }
  const rng = new Rng(seed, 'celltype:interarea');
  for (const b of INTER_AREA_BANDS) {
    const pre = population(layout, b.pre.area, b.pre.layer, b.pre.type);
    for (const t of b.post.types) {
      const post = population(layout, b.post.area, b.post.layer, t);
      for (let i = post.internalStart; i < post.internalEnd; i++) {
        for (let j = pre.internalStart; j < pre.internalEnd; j++) m[i * N + j] = rng.uniform() < INTER_AREA_P ? 1 : 0;
      }
    }
  }
  return m;
}

/**
 * Input mask [N, 18] (internal neuron order × nesting-order channel): `corrected` lets each
 * population receive only its own channel (paper §4.2); `paper-code` is all ones (the authors'
 * mask is computed but never applied: `weight.data.mul(mask)` is not in place).
 */
export function inputMask(layout: CelltypeLayout, fidelity: Fidelity): Float32Array {
  const N = layout.N;
  const m = new Float32Array(N * 18);
  if (fidelity === 'paper-code') return m.fill(1);
  for (let i = 0; i < N; i++) m[i * 18 + layout.popOfInternal[i]] = 1;
  return m;
}

/** Readout mask [18, N]: readout k reads only population k's neurons (both fidelities). */
export function readoutMask(layout: CelltypeLayout): Float32Array {
  const N = layout.N;
  const m = new Float32Array(18 * N);
  for (const p of layout.populations) m.fill(1, p.index * N + p.internalStart, p.index * N + p.internalEnd);
  return m;
}

/** Masks of a CelltypeRNN (internal order). */
export interface CelltypeMasks {
  /** [N, 18] input mask. */
  input: Float32Array;
  /** [18, N] readout mask. */
  readout: Float32Array;
  /** [N, N] inter-area mask (1 on all intra-area entries). */
  interArea: Float32Array;
}

/** Input, readout and inter-area masks of the model with this seed and fidelity. */
export function buildCelltypeMasks(layout: CelltypeLayout, seed: number, fidelity: Fidelity): CelltypeMasks {
  return { input: inputMask(layout, fidelity), readout: readoutMask(layout), interArea: interAreaMask(layout, seed) };
}

/** Result of {@link pruneCelltype}. */
export interface CelltypePruneResult {
  /** Recurrent mask [N, N] internal order: pruned intra-area blocks ∪ inter-area bands. */
  mask: Float32Array;
  /** The pruned weights w ⊙ mask. */
  weights: Float32Array;
  /** Per intra-area block figures, in {@link intraAreaBlocks} order. */
  blocks: (BlockMaskResult['blocks'][number] & { post: string; pre: string; p: number })[];
}

/**
 * Prune the recurrent weights of a trained CelltypeRNN: block-wise top-prob pruning of the
 * intra-area blocks to Table 1 (rnn/prune.ts {@link blockwiseTopProbMask}, drawing from
 * `new Rng(pruneSeed, 'prune:celltype')`; under `paper-code` without renormalisation and with
 * the authors' z0, as their block code), combined with the inter-area band mask of `maskSeed`.
 * @param w W_hh (effective weights), [N, N] internal order
 * @param pruneSeed seed of the pruning draw
 * @param maskSeed seed of the inter-area mask (the run's seed: the same mask for every prune of
 *   the run)
 */
export function pruneCelltype(layout: CelltypeLayout, w: Float32Array, pruneSeed: number, maskSeed: number, fidelity: Fidelity): CelltypePruneResult {
  const N = layout.N;
  if (w.length !== N * N) throw new ConnectivityTableError(`pruneCelltype: w has length ${w.length}, expected N*N = ${N * N}`);
  const blocks = intraAreaBlocks(layout);
  const res = blockwiseTopProbMask(w, N, N, blocks, new Rng(pruneSeed, 'prune:celltype'), { fidelity });
  const inter = interAreaMask(layout, maskSeed);
  const mask = res.mask;
  for (const post of layout.populations) {
    for (const pre of layout.populations) {
      if (post.area === pre.area) continue;
      for (let i = post.internalStart; i < post.internalEnd; i++) {
        for (let j = pre.internalStart; j < pre.internalEnd; j++) mask[i * N + j] = inter[i * N + j];
      }
    }
  }
  const weights = new Float32Array(N * N);
  for (let k = 0; k < weights.length; k++) weights[k] = mask[k] === 0 ? 0 : w[k];
  return {
    mask,
    weights,
    blocks: res.blocks.map((b, i) => ({ ...b, post: blocks[i].post.label, pre: blocks[i].pre.label, p: blocks[i].p })),
  };
}
