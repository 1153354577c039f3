/**
 * Pruning masks for a weight matrix (SCIENCE.md §3): top-prob (keep w_ji with probability
 * p_ji = kappa |w_ji|, renormalised), random (Bernoulli or exact count), block-wise top-prob
 * (cell-type model), and the cumulative schedule of iterative pruning.
 *
 * Every matrix is row-major `[post, pre]` (m rows post-synaptic, n columns pre-synaptic), as a
 * `Float32Array` (or `Float64Array`). A mask is a `Float32Array` of 0/1 of the same shape.
 * Probabilities are computed in float64. Every random draw comes from the {@link Rng} passed in;
 * {@link pruneMatrix} makes it as `new Rng(seed, 'prune:<method>')`.
 *
 * Sparsity is the fraction of zero entries; pre-existing zeros (entries with w = 0) count as
 * pruned and are never "kept" (mask 0), except under `fidelity: 'paper-code'`, which reproduces the
 * authors' code: 1e-25 is added to every weight first, so former zeros become tiny non-zeros that
 * can be kept (mask 1).
 */
import { Rng } from './rng.js';
import type { Fidelity } from './types.js';

/** A dense float matrix, row-major `[post, pre]`. */
export type FloatMatrix = Float32Array | Float64Array;

/** Pruning method (the `pruning` sweep axis plus the exact-count random variant). */
export type PruneMethod = 'top-prob' | 'random' | 'random-exact';
export const PRUNE_METHODS: readonly PruneMethod[] = ['top-prob', 'random', 'random-exact'];

/** Thrown on invalid pruning arguments (shape, sparsity, blocks). */
export class PruneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PruneError';
  }
}

/** Options shared by the pruning functions. */
export interface PruneOptions {
  /** `corrected` follows the paper (App. 9); `paper-code` reproduces the authors' code. @default 'corrected' */
  fidelity?: Fidelity;
}

/** Top-prob keep probabilities and how they were obtained. */
export interface TopProbProbabilities {
  /** Keep probability per entry, float64, [m, n] row-major, each in [0, 1]. */
  p: Float64Array;
  /** kappa of App. 9.1 (probability per unit |w|) before renormalisation. */
  kappa: number;
  /** Pre-existing zeros z0 as used in the sparsity adjustment (paper-code: #zeros + min(m, n)). */
  z0: number;
  /** Adjusted sparsity s' among the entries kappa counts (App. 9.3). */
  adjustedSparsity: number;
  /** Sum of p: the expected number of kept entries. */
  expectedKept: number;
  /** Iterations of the renormalisation loop (Alg. 3). */
  renormIterations: number;
  /**
   * True when the pre-existing zeros already reach the target (z0 >= s m n): every non-zero is
   * kept (p = 1) and the final sparsity is z0 / (m n) >= s.
   */
  keptAllNonZeros: boolean;
}

/** A pruning mask and its sparsities. */
export interface MaskResult {
  /** 0/1 mask, [m, n] row-major (1 = keep). */
  mask: Float32Array;
  /** Requested sparsity s. */
  targetSparsity: number;
  /** Fraction of mask entries that are 0. */
  achievedSparsity: number;
  /** Expected number of kept entries under the method's probabilities. */
  expectedKept: number;
  /** Number of kept entries (mask 1). */
  kept: number;
  /** See {@link TopProbProbabilities.keptAllNonZeros}; false for methods without the notion. */
  keptAllNonZeros: boolean;
}

function checkShape(w: ArrayLike<number>, m: number, n: number, what = 'weight matrix'): void {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1) {
    throw new PruneError(`${what}: shape must be positive integers, got ${m}x${n}`);
  }
  if (w.length !== m * n) throw new PruneError(`${what}: length ${w.length} does not match shape ${m}x${n} (= ${m * n})`);
}

function checkSparsity(s: number, what = 'sparsity'): void {
  if (!(s >= 0 && s < 1)) throw new PruneError(`${what} must be in [0, 1), got ${s}`);
}

function checkFinite(w: ArrayLike<number>, what = 'weight matrix'): void {
  for (let k = 0; k < w.length; k++) {
    if (!Number.isFinite(w[k])) throw new PruneError(`${what}: entry ${k} is ${w[k]}, expected a finite number`);
  }
}

/**
 * Renormalisation of keep probabilities (paper Alg. 3), in place: while the excess
 * r = Σ max(p - 1, 0) is positive, clip every p > 1 to 1 and add r / #(p < 1) to every p < 1.
 * Entries with `eligible[k] === 0` are left out (they keep their value, normally 0) when
 * `eligible` is given. The sum over eligible entries is preserved. Terminates: each round with
 * r > 0 clips at least one entry for good.
 * @returns the number of rounds
 */
export function renormalizeProbabilities(p: Float64Array, eligible?: Uint8Array): number {
  let iterations = 0;
  for (;;) {
    let r = 0;
    let below = 0;
    for (let k = 0; k < p.length; k++) {
      if (eligible !== undefined && eligible[k] === 0) continue;
      if (p[k] > 1) r += p[k] - 1;
      else if (p[k] < 1) below++;
    }
    if (!(r > 0)) return iterations;
    iterations++;
    const delta = below > 0 ? r / below : 0;
    for (let k = 0; k < p.length; k++) {
      if (eligible !== undefined && eligible[k] === 0) continue;
      p[k] = p[k] < 1 ? p[k] + delta : 1;
    }
  }
}

/**
 * Top-prob keep probabilities of an m×n matrix (SCIENCE.md §3, paper eq. 4-5 and App. 9).
 *
 * `corrected` (default): z0 = #(w = 0); s' = (s m n - z0) / (m n - z0);
 * kappa = (1 - s')(m n - z0) / Σ|w|; p = kappa |w| on non-zeros, 0 on zeros; Alg. 3 among the
 * non-zeros. Expected kept = (1 - s) m n, so the final sparsity is s in expectation. If z0 >= s m n
 * every non-zero gets p = 1 (`keptAllNonZeros`).
 *
 * `paper-code`: w' = fround(w + 1e-25); z0 = #(w' = 0) + min(m, n); s' = (s m n - z0)/(m n - z0);
 * kappa = (1 - s') m n / Σ|w'|; p = kappa |w'| where w' != 0; Alg. 3 over all entries.
 *
 * @param w weights, [m, n] row-major `[post, pre]`
 * @param m rows (post-synaptic)
 * @param n columns (pre-synaptic)
 * @param sparsity target fraction of zeros s in [0, 1)
 */
export function topProbProbabilities(w: FloatMatrix, m: number, n: number, sparsity: number, opts: PruneOptions = {}): TopProbProbabilities {
  checkShape(w, m, n);
  checkSparsity(sparsity);
  checkFinite(w);
  const total = m * n;
  const p = new Float64Array(total);
  if ((opts.fidelity ?? 'corrected') === 'paper-code') {
    const wp = new Float64Array(total);
    let zeros = 0;
    let l1 = 0;
    for (let k = 0; k < total; k++) {
      const v = Math.fround(w[k] + 1e-25);
      wp[k] = Math.abs(v);
      if (v === 0) zeros++;
      l1 += wp[k];
    }
    const z0 = zeros + Math.min(m, n);
    const sAdj = (sparsity * total - z0) / (total - z0);
    const kappa = l1 > 0 ? ((1 - sAdj) * total) / l1 : 0;
    for (let k = 0; k < total; k++) if (wp[k] > 0) p[k] = kappa * wp[k];
    const it = renormalizeProbabilities(p);
    return { p, kappa, z0, adjustedSparsity: sAdj, expectedKept: sum(p), renormIterations: it, keptAllNonZeros: false };
  }
  const eligible = new Uint8Array(total);
  let z0 = 0;
  let l1 = 0;
  for (let k = 0; k < total; k++) {
    if (w[k] === 0) z0++;
    else {
      eligible[k] = 1;
      l1 += Math.abs(w[k]);
    }
  }
  const nonZero = total - z0;
  if (nonZero === 0 || z0 >= sparsity * total) {
    for (let k = 0; k < total; k++) p[k] = eligible[k];
    return { p, kappa: l1 > 0 ? nonZero / l1 : 0, z0, adjustedSparsity: 0, expectedKept: nonZero, renormIterations: 0, keptAllNonZeros: true };
  }
  const sAdj = (sparsity * total - z0) / nonZero;
  const kappa = ((1 - sAdj) * nonZero) / l1;
  for (let k = 0; k < total; k++) if (eligible[k] === 1) p[k] = kappa * Math.abs(w[k]);
  const it = renormalizeProbabilities(p, eligible);
  return { p, kappa, z0, adjustedSparsity: sAdj, expectedKept: sum(p), renormIterations: it, keptAllNonZeros: false };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k];
  return s;
}

function maskFromProbabilities(p: Float64Array, rng: Rng, sparsity: number, expectedKept: number, keptAllNonZeros: boolean): MaskResult {
  const mask = new Float32Array(p.length);
  let kept = 0;
  for (let k = 0; k < p.length; k++) {
    // One uniform per entry, in flat order, so masks are reproducible for a given stream.
    const u = rng.uniform();
    if (u < p[k]) {
      mask[k] = 1;
      kept++;
    }
  }
  return { mask, targetSparsity: sparsity, achievedSparsity: 1 - kept / p.length, expectedKept, kept, keptAllNonZeros };
}

/**
 * Top-prob pruning mask: keep each entry independently with its {@link topProbProbabilities}
 * probability (one `rng.uniform()` per entry, flat order).
 * @param w weights, [m, n] row-major `[post, pre]`
 * @returns mask [m, n] (0/1) with target and achieved sparsity and the expected kept count
 */
export function topProbMask(w: FloatMatrix, m: number, n: number, sparsity: number, rng: Rng, opts: PruneOptions = {}): MaskResult {
  const pr = topProbProbabilities(w, m, n, sparsity, opts);
  return maskFromProbabilities(pr.p, rng, sparsity, pr.expectedKept, pr.keptAllNonZeros);
}

/** Options of {@link randomMask}. */
export interface RandomMaskOptions extends PruneOptions {
  /**
   * `bernoulli`: keep each eligible entry independently with probability q; `exact`: keep exactly
   * round(q · #eligible) eligible entries, uniformly without replacement. @default 'bernoulli'
   */
  variant?: 'bernoulli' | 'exact';
}

/**
 * Random pruning mask (SCIENCE.md §3).
 *
 * `corrected` (default): pre-existing zeros count as pruned (mask 0) and the draw is among the
 * z' = m n - z0 non-zeros with keep fraction q = min(1, (1 - s) m n / z'), so that the final
 * sparsity is s (in expectation for `bernoulli`; exactly round((1 - s) m n) kept, or all non-zeros if
 * fewer, for `exact`). Without zeros this is plain "keep with probability 1 - s" / "keep exactly
 * round((1 - s) m n)".
 *
 * `paper-code`: the authors add 1e-25 to every weight, so every entry (zeros included) is kept with
 * probability 1 - s (`bernoulli`); `exact` keeps round((1 - s) m n) of all entries.
 *
 * @param w weights, [m, n] row-major `[post, pre]` (only its zero pattern matters)
 */
export function randomMask(w: FloatMatrix, m: number, n: number, sparsity: number, rng: Rng, opts: RandomMaskOptions = {}): MaskResult {
  checkShape(w, m, n);
  checkSparsity(sparsity);
  const total = m * n;
  const paper = (opts.fidelity ?? 'corrected') === 'paper-code';
  const eligible: number[] = [];
  for (let k = 0; k < total; k++) if (paper || w[k] !== 0) eligible.push(k);
  const nE = eligible.length;
  const wanted = (1 - sparsity) * total;
  const keptAll = !paper && nE <= wanted;
  const q = nE === 0 ? 0 : Math.min(1, wanted / nE);
  const mask = new Float32Array(total);
  let kept = 0;
  let expectedKept: number;
  if ((opts.variant ?? 'bernoulli') === 'bernoulli') {
    for (const k of eligible) {
      if (rng.uniform() < q) {
        mask[k] = 1;
        kept++;
      }
    }
    expectedKept = q * nE;
  } else {
    const count = Math.min(nE, Math.round(wanted));
    // Partial Fisher-Yates: the first `count` slots of a random permutation of the eligible set.
    const idx = Int32Array.from(eligible);
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(nE - i);
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
      mask[idx[i]] = 1;
    }
    kept = count;
    expectedKept = count;
  }
  return { mask, targetSparsity: sparsity, achievedSparsity: 1 - kept / total, expectedKept, kept, keptAllNonZeros: keptAll };
}

/** One block of a block-wise pruning: rows [r0, r1) (post), columns [c0, c1) (pre), its target. */
export interface PruneBlock {
  rows: readonly [number, number];
  cols: readonly [number, number];
  /** Target sparsity of this block, in [0, 1] (1 zeroes the block, e.g. p_conn = 0). */
  sparsity: number;
}

/** Result of {@link blockwiseTopProbMask}: the whole mask and per-block figures. */
export interface BlockMaskResult {
  /** 0/1 mask, [m, n] row-major; entries in no block are 0. */
  mask: Float32Array;
  blocks: { targetSparsity: number; achievedSparsity: number; expectedKept: number; kept: number; size: number; keptAllNonZeros: boolean }[];
}

/**
 * Block-wise top-prob pruning (cell-type model, SCIENCE.md §3): each block (post rows x pre
 * columns) is pruned to its own target sparsity with {@link topProbProbabilities}; entries in no
 * block are zeroed. Blocks must not overlap. Blocks are drawn in the order given, each entry of a
 * block in row-major order within the block.
 *
 * `paper-code`: like the authors' block code, no 1e-25 is added and no renormalisation is done:
 * z0 = #zeros + min(rows, cols), kappa counts all entries of the block, p = min(1, kappa |w|).
 * A block with sparsity 1 is zeroed (all fidelities).
 * @param w weights, [m, n] row-major `[post, pre]`
 */
export function blockwiseTopProbMask(w: FloatMatrix, m: number, n: number, blocks: readonly PruneBlock[], rng: Rng, opts: PruneOptions = {}): BlockMaskResult {
  checkShape(w, m, n);
  const mask = new Float32Array(m * n);
  const owner = new Int32Array(m * n).fill(-1);
  const out: BlockMaskResult['blocks'] = [];
  blocks.forEach((b, bi) => {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    if (!(Number.isInteger(r0) && Number.isInteger(r1) && 0 <= r0 && r0 < r1 && r1 <= m)) {
      throw new PruneError(`block ${bi}: rows [${r0}, ${r1}) must be a non-empty range inside [0, ${m})`);
    }
    if (!(Number.isInteger(c0) && Number.isInteger(c1) && 0 <= c0 && c0 < c1 && c1 <= n)) {
      throw new PruneError(`block ${bi}: cols [${c0}, ${c1}) must be a non-empty range inside [0, ${n})`);
    }
    if (!(b.sparsity >= 0 && b.sparsity <= 1)) throw new PruneError(`block ${bi}: sparsity must be in [0, 1], got ${b.sparsity}`);
    const bm = r1 - r0;
    const bn = c1 - c0;
    const sub = new Float64Array(bm * bn);
    for (let i = 0; i < bm; i++) {
      for (let j = 0; j < bn; j++) {
        const k = (r0 + i) * n + c0 + j;
        if (owner[k] !== -1) throw new PruneError(`block ${bi} overlaps block ${owner[k]} at (${r0 + i}, ${c0 + j})`);
        owner[k] = bi;
        sub[i * bn + j] = w[k];
      }
    }
    let p: Float64Array;
    let expectedKept: number;
    let keptAll = false;
    if (b.sparsity >= 1) {
      p = new Float64Array(bm * bn);
      expectedKept = 0;
    } else if ((opts.fidelity ?? 'corrected') === 'paper-code') {
      p = paperCodeBlockProbabilities(sub, bm, bn, b.sparsity);
      expectedKept = sum(p);
    } else {
      const pr = topProbProbabilities(sub, bm, bn, b.sparsity);
      p = pr.p;
      expectedKept = pr.expectedKept;
      keptAll = pr.keptAllNonZeros;
    }
    let kept = 0;
    for (let i = 0; i < bm; i++) {
      for (let j = 0; j < bn; j++) {
        if (rng.uniform() < p[i * bn + j]) {
          mask[(r0 + i) * n + c0 + j] = 1;
          kept++;
        }
      }
    }
    out.push({ targetSparsity: b.sparsity, achievedSparsity: 1 - kept / (bm * bn), expectedKept, kept, size: bm * bn, keptAllNonZeros: keptAll });
  });
  return { mask, blocks: out };
}

/** The authors' block variant: no renormalisation, z0 = #zeros + min(m, n), kappa over m n. */
function paperCodeBlockProbabilities(w: Float64Array, m: number, n: number, s: number): Float64Array {
  checkFinite(w);
  const total = m * n;
  let zeros = 0;
  let l1 = 0;
  for (let k = 0; k < total; k++) {
    if (w[k] === 0) zeros++;
    l1 += Math.abs(w[k]);
  }
  const z0 = zeros + Math.min(m, n);
  const sAdj = (s * total - z0) / (total - z0);
  const kappa = l1 > 0 ? ((1 - sAdj) * total) / l1 : 0;
  const p = new Float64Array(total);
  for (let k = 0; k < total; k++) if (w[k] !== 0) p[k] = Math.min(1, Math.max(0, kappa * Math.abs(w[k])));
  return p;
}

/** Options of {@link pruneMatrix}. */
export interface PruneMatrixOptions extends PruneOptions {
  method: PruneMethod;
  /** Target sparsity in [0, 1). */
  sparsity: number;
  /** Seed of the `prune:<method>` stream. */
  seed: number;
}

/**
 * The one pruning entry point: mask of an m×n matrix by `method` ('top-prob', 'random' =
 * Bernoulli, 'random-exact' = exact count), drawing from `new Rng(seed, 'prune:<method>')`.
 * @param w weights, [m, n] row-major `[post, pre]`
 */
export function pruneMatrix(w: FloatMatrix, m: number, n: number, opts: PruneMatrixOptions): MaskResult {
  const rng = new Rng(opts.seed, `prune:${opts.method}`);
  const fid = { fidelity: opts.fidelity };
  switch (opts.method) {
    case 'top-prob':
      return topProbMask(w, m, n, opts.sparsity, rng, fid);
    case 'random':
      return randomMask(w, m, n, opts.sparsity, rng, { ...fid, variant: 'bernoulli' });
    case 'random-exact':
      return randomMask(w, m, n, opts.sparsity, rng, { ...fid, variant: 'exact' });
    default:
      throw new PruneError(`unknown pruning method '${String(opts.method)}', expected one of ${PRUNE_METHODS.join(', ')}`);
  }
}

/** Element-wise product w ⊙ mask in a new array of w's type. */
export function applyMask<T extends FloatMatrix>(w: T, mask: Float32Array): T {
  if (w.length !== mask.length) throw new PruneError(`mask length ${mask.length} does not match matrix length ${w.length}`);
  const out = w.slice() as T;
  for (let k = 0; k < out.length; k++) if (mask[k] === 0) out[k] = 0;
  return out;
}

/**
 * Cumulative sparsities of iterative pruning in k rounds to `finalSparsity`: the keep fraction
 * shrinks geometrically, keep_r = (1 - s)^(r / k), so round r (1-based) targets
 * s_r = 1 - (1 - s)^(r / k) of the whole matrix (each round prunes the same fraction of what is
 * left); s_k = s exactly. Feed s_r as the target of round r: pre-existing zeros (the earlier
 * rounds' pruning) are accounted for by the sparsity adjustment.
 * @returns k cumulative sparsities, increasing, the last equal to `finalSparsity`
 */
export function iterativeSchedule(finalSparsity: number, k: number): number[] {
  checkSparsity(finalSparsity, 'final sparsity');
  if (!Number.isInteger(k) || k < 1) throw new PruneError(`iterative rounds k must be a positive integer, got ${k}`);
  const out: number[] = [];
  for (let r = 1; r <= k; r++) out.push(r === k ? finalSparsity : 1 - Math.pow(1 - finalSparsity, r / k));
  return out;
}
