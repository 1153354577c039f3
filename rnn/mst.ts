/**
 * Maximum spanning tree of a weight matrix and its overlap with a pruning mask
 * (SCIENCE.md §4, paper Fig. 3B and App. 10).
 *
 * The graph is the undirected bipartite graph on m + n nodes: node j < m is post-synaptic row j,
 * node m + i is pre-synaptic column i; entry (j, i) of the row-major `[post, pre]` matrix is the
 * edge between them with weight |w_ji|. Edges are identified by their flat index j n + i.
 */
import type { Fidelity } from './types.js';
import { topProbProbabilities, type FloatMatrix } from './prune.js';

/** Thrown on invalid MST arguments. */
export class MstError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MstError';
  }
}

/** Disjoint sets over 0..size-1 with path compression (halving) and union by rank. */
export class UnionFind {
  private readonly parent: Int32Array;
  private readonly rank: Uint8Array;

  constructor(size: number) {
    this.parent = new Int32Array(size);
    this.rank = new Uint8Array(size);
    for (let i = 0; i < size; i++) this.parent[i] = i;
  }

  /** Representative of x's set. */
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  /** Merges the sets of a and b; false if they were already one set. */
  union(a: number, b: number): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return false;
    if (this.rank[ra] < this.rank[rb]) {
      const t = ra;
      ra = rb;
      rb = t;
    }
    this.parent[rb] = ra;
    if (this.rank[ra] === this.rank[rb]) this.rank[ra]++;
    return true;
  }
}

/**
 * Maximum spanning tree (forest) of the bipartite graph of an m×n matrix by Kruskal's algorithm:
 * edges sorted by |w| descending, ties by flat index ascending (deterministic), each edge added if
 * it joins two components. Entries with w = 0 are not edges (as in the authors' networkx graph),
 * so a matrix with zeros may give a forest; a dense matrix gives m + n - 1 edges.
 * @param w weights, [m, n] row-major `[post, pre]`
 * @returns flat indices (j n + i) of the tree's edges, in the order Kruskal added them
 */
export function maximumSpanningTree(w: FloatMatrix, m: number, n: number): Int32Array {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1) throw new MstError(`shape must be positive integers, got ${m}x${n}`);
  if (w.length !== m * n) throw new MstError(`matrix length ${w.length} does not match shape ${m}x${n}`);
  const absw = new Float64Array(w.length);
  let nnz = 0;
  for (let k = 0; k < w.length; k++) {
    if (Number.isNaN(w[k])) throw new MstError(`entry ${k} is NaN`);
    absw[k] = Math.abs(w[k]);
    if (absw[k] !== 0) nnz++;
  }
  const order = new Int32Array(nnz);
  for (let k = 0, c = 0; k < w.length; k++) if (absw[k] !== 0) order[c++] = k;
  order.sort((a, b) => absw[b] - absw[a] || a - b);
  const uf = new UnionFind(m + n);
  const want = m + n - 1;
  const edges: number[] = [];
  for (let e = 0; e < order.length && edges.length < want; e++) {
    const k = order[e];
    const j = Math.floor(k / n);
    const i = k - j * n;
    if (uf.union(j, m + i)) edges.push(k);
  }
  return Int32Array.from(edges);
}

/** Options of {@link mstOverlap}. */
export interface OverlapOptions {
  /** @default 'corrected' (match edges by index) */
  fidelity?: Fidelity;
  /** The dense weights [m, n]; required for `paper-code` (value matching). */
  w?: FloatMatrix;
}

/**
 * Fraction of MST edges kept by a mask: |kept ∩ MST| / #MST edges.
 *
 * `corrected`: edges matched by index (mask[e] != 0). `paper-code`: the authors' value matching,
 * `len(intersect1d(mst_weights, pruned.ravel())) / nMST`: the number of distinct |w| values shared
 * by the MST edges and the pruned matrix (whose values are |w| on kept entries and 0 on pruned
 * ones), so MST edges of equal weight count once and an MST edge counts as kept whenever any
 * kept entry has the same |w|.
 * @param mstEdges flat indices from {@link maximumSpanningTree}
 * @param mask 0/1 mask (or the pruned matrix: non-zero = kept), same length as the matrix
 */
export function mstOverlap(mstEdges: Int32Array, mask: ArrayLike<number>, opts: OverlapOptions = {}): number {
  if (mstEdges.length === 0) return 0;
  for (const e of mstEdges) if (!(e >= 0 && e < mask.length)) throw new MstError(`MST edge ${e} outside the mask (length ${mask.length})`);
  if ((opts.fidelity ?? 'corrected') === 'paper-code') {
    const w = opts.w;
    if (w === undefined) throw new MstError('paper-code overlap matches by weight value: pass the dense weights as opts.w');
    if (w.length !== mask.length) throw new MstError(`weights length ${w.length} does not match mask length ${mask.length}`);
    const prunedValues = new Set<number>();
    for (let k = 0; k < mask.length; k++) prunedValues.add(mask[k] !== 0 ? Math.abs(w[k]) : 0);
    const mstValues = new Set<number>();
    for (const e of mstEdges) mstValues.add(Math.abs(w[e]));
    let common = 0;
    for (const v of mstValues) if (prunedValues.has(v)) common++;
    return common / mstEdges.length;
  }
  let kept = 0;
  for (const e of mstEdges) if (mask[e] !== 0) kept++;
  return kept / mstEdges.length;
}

/** Expected MST overlap of random pruning (App. 10.2). */
export interface RandomOverlapTheory {
  /** Expected fraction of MST edges kept (see {@link randomOverlapTheory}). */
  fraction: number;
  /** Expected number of MST edges kept: `treeEdges` · fraction. */
  expectedCount: number;
}

/** Options of {@link randomOverlapTheory}. */
export interface RandomOverlapOptions {
  /** @default 'corrected' */
  fidelity?: Fidelity;
  /** z0: entries of the N×N matrix that are exactly 0 before pruning. @default 0 */
  zeros?: number;
  /** The random pruner: `bernoulli` (the `random` method) or `exact` (`random-exact`). @default 'bernoulli' */
  variant?: 'bernoulli' | 'exact';
  /** Edges of the tree (fewer than 2N - 1 when zeros disconnect the graph). @default 2N - 1 */
  treeEdges?: number;
}

/**
 * Random pruning vs MST, theory (App. 10.2), for the pruner of rnn/prune.ts `randomMask`.
 *
 * `corrected`: the pruner never keeps an exact zero and draws among the N² - z0 non-zeros with
 * keep fraction q = min(1, (1 - s) N² / (N² - z0)) (`bernoulli`: each independently; `exact`:
 * min(N² - z0, round((1 - s) N²)) of them uniformly without replacement, so
 * q = min(N² - z0, round((1 - s) N²)) / (N² - z0)). Every MST edge is a non-zero entry (zeros are
 * not edges), so each is kept with probability q and the expected overlap fraction is q; with
 * z0 = 0 this is the paper's (2N - 1)(1 - s) / (2N - 1) = 1 - s (hypergeometric mean for `exact`).
 *
 * `paper-code`: the authors' line int((1 - s) N²) / N² (their pruner adds 1e-25 to every weight,
 * so zeros are drawn like any entry); z0 is ignored.
 * @param N neurons (the matrix is N×N)
 * @param s sparsity in [0, 1]
 */
export function randomOverlapTheory(N: number, s: number, opts: RandomOverlapOptions = {}): RandomOverlapTheory {
  if (!Number.isInteger(N) || N < 1) throw new MstError(`N must be a positive integer, got ${N}`);
  if (!(s >= 0 && s <= 1)) throw new MstError(`sparsity must be in [0, 1], got ${s}`);
  const total = N * N;
  const z0 = opts.zeros ?? 0;
  if (!Number.isInteger(z0) || z0 < 0 || z0 > total) throw new MstError(`zeros must be an integer in [0, N² = ${total}], got ${z0}`);
  const treeEdges = opts.treeEdges ?? 2 * N - 1;
  let fraction: number;
  if ((opts.fidelity ?? 'corrected') === 'paper-code') fraction = Math.floor((1 - s) * total) / total;
  else if (z0 === total) fraction = 0;
  else if ((opts.variant ?? 'bernoulli') === 'exact') fraction = Math.min(total - z0, Math.round((1 - s) * total)) / (total - z0);
  else fraction = Math.min(1, ((1 - s) * total) / (total - z0));
  return { fraction, expectedCount: treeEdges * fraction };
}

/** Lower bound on the expected MST overlap of top-prob pruning (App. 10.1). */
export interface TopProbBound {
  /** Lower bound on the expected number of MST edges kept. */
  expectedCount: number;
  /** expectedCount / (2N - 1) (`paper-code` renormalised: / min(2N - 1, int((1 - s) N²)) like the authors). */
  fraction: number;
}

/**
 * Which keep probabilities p_(k) enter the App. 10.1 bound: `formula`, the paper's κ|w_(k)| as
 * printed (SCIENCE.md §4; exceeds 1 where κ|w| > 1, and is then no bound), or `renormalised`,
 * min(1, p_(k)) with p the top-prob pruner's probabilities after Alg. 3 (what it really keeps).
 */
export type LowerBoundProbabilities = 'formula' | 'renormalised';
export const LOWER_BOUND_PROBABILITIES: readonly LowerBoundProbabilities[] = ['formula', 'renormalised'];

/** Options of {@link topProbOverlapLowerBound}. */
export interface TopProbBoundOptions {
  /** @default 'corrected' */
  fidelity?: Fidelity;
  /** @default 'renormalised' */
  probabilities?: LowerBoundProbabilities;
}

/**
 * Top-prob lower bound (App. 10.1, SCIENCE.md §4), with weights sorted by magnitude (k = 1 the
 * largest) and p_(k) the keep probability of the k-th largest:
 *
 *   E[overlap] >= Σ_{k<=3} p_(k) + Σ_{k=4}^{N-1} p_(k) (N - k + 1)² / (N² - k + 1)
 *
 * divided by 2N - 1 for the fraction. `probabilities` names p_(k) ({@link LowerBoundProbabilities}):
 * `formula` p_(k) = κ|w_(k)| with the κ of the fidelity's top-prob pruner (rnn/prune.ts
 * `topProbProbabilities`, before renormalisation); `renormalised` p_(k) = min(1, p) with p the
 * pruner's probabilities after Alg. 3. Under `paper-code` the renormalised variant reproduces the
 * authors' notebook instead: their renormalised probabilities sorted descending, 0-based entries
 * 1..3, then entries k = 4..N weighted (N - k)² / (N² - k), divided by min(2N - 1, int((1 - s) N²)).
 * @param w weights, [N, N] row-major
 * @param N neurons
 * @param s sparsity in [0, 1)
 */
export function topProbOverlapLowerBound(w: FloatMatrix, N: number, s: number, opts: TopProbBoundOptions = {}): TopProbBound {
  if (w.length !== N * N) throw new MstError(`matrix length ${w.length} is not N² = ${N * N}`);
  const paper = (opts.fidelity ?? 'corrected') === 'paper-code';
  const which = opts.probabilities ?? 'renormalised';
  if (!LOWER_BOUND_PROBABILITIES.includes(which)) throw new MstError(`probabilities must be one of ${LOWER_BOUND_PROBABILITIES.join(', ')}, got ${String(which)}`);
  const pr = topProbProbabilities(w, N, N, s, { fidelity: paper ? 'paper-code' : 'corrected' });
  const absw = new Float64Array(w.length);
  for (let k = 0; k < w.length; k++) absw[k] = Math.abs(w[k]);
  const order = new Int32Array(w.length);
  for (let k = 0; k < order.length; k++) order[k] = k;
  order.sort((a, b) => absw[b] - absw[a] || a - b);
  let bound = 0;
  if (which === 'renormalised' && paper) {
    const p = pr.p;
    for (let k = 1; k <= 3 && k < order.length; k++) bound += p[order[k]];
    for (let k = 4; k <= N && k < order.length; k++) bound += (p[order[k]] * (N - k) ** 2) / (N * N - k);
    const n = Math.min(2 * N - 1, Math.floor((1 - s) * N * N));
    return { expectedCount: bound, fraction: bound / (n === 0 ? 1e-20 : n) };
  }
  const pk = (k: number): number => {
    const e = order[k - 1];
    return which === 'formula' ? pr.kappa * absw[e] : Math.min(1, pr.p[e]);
  };
  for (let k = 1; k <= Math.min(3, order.length); k++) bound += pk(k);
  for (let k = 4; k <= N - 1; k++) bound += (pk(k) * (N - k + 1) ** 2) / (N * N - k + 1);
  return { expectedCount: bound, fraction: bound / (2 * N - 1) };
}
