/**
 * KL divergence between trained weight distributions (paper Fig. 2B, SCIENCE.md §7).
 *
 * What the authors computed (Dales-backprop/*-plotter.ipynb, `kl_div_weights`): for every pair
 * (i, j) of runs, h1 = numpy.histogram(W_conventional_i.ravel(), bins=100, density=True) + 1e-7,
 * h2 = numpy.histogram(W_rule_j.ravel(), bins=100, density=True) + 1e-7, and
 * KL = scipy.stats.entropy(h1, h2) = Σ p log(p / q) with p = h1/Σh1, q = h2/Σh2 (natural log);
 * W is the recurrent matrix weight_hh_l0 (all N² entries, zeros included); the bar is the mean
 * over all 5 × 5 pairs. Each histogram uses its own min–max bin edges, so bin k of h1 and bin k
 * of h2 cover different weight ranges: that is `paper-code`.
 *
 * `corrected` bins both samples on shared edges (100 equal bins over the union's min–max) and
 * keeps the same +1e-7 on each density so that empty bins give a finite divergence; the only
 * difference from `paper-code` is the shared edges.
 */
import { density, finiteRange, histogram } from './histogram.js';
import type { KlMode } from './types.js';

/** Invalid KL input. */
export class KlError extends Error {
  override name = 'KlError';
}

/** Options of {@link klDivergence}. */
export interface KlOptions {
  /** Number of equal-width bins. @default 100 */
  bins?: number;
  /** Added to every bin's density before normalising. @default 1e-7 */
  epsilon?: number;
}

export const KL_DEFAULT_BINS = 100;
export const KL_DEFAULT_EPSILON = 1e-7;

/**
 * scipy.stats.entropy(pk, qk): KL(p ‖ q) = Σ p_k log(p_k / q_k) in nats, after normalising pk
 * and qk to sum 1; terms with p_k = 0 are 0, and p_k > 0 with q_k = 0 gives Infinity.
 */
export function relativeEntropy(pk: ArrayLike<number>, qk: ArrayLike<number>): number {
  if (pk.length !== qk.length) throw new KlError(`pk and qk must have the same length, got ${pk.length} and ${qk.length}`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < pk.length; i++) {
    if (!(pk[i] >= 0) || !(qk[i] >= 0)) throw new KlError(`pk and qk must be non-negative, got ${pk[i]}, ${qk[i]} at index ${i}`);
    sp += pk[i];
    sq += qk[i];
  }
  if (sp === 0 || sq === 0) throw new KlError('pk and qk must not sum to 0');
  let s = 0;
  for (let i = 0; i < pk.length; i++) {
    const p = pk[i] / sp;
    const q = qk[i] / sq;
    if (p === 0) continue;
    s += q === 0 ? Infinity : p * Math.log(p / q);
  }
  return s;
}

/**
 * KL(a ‖ b) between the value distributions of two weight samples (e.g. W_hh entries,
 * `Float32Array` of length N²), by the named convention (see the module comment).
 */
export function klDivergence(a: ArrayLike<number>, b: ArrayLike<number>, mode: KlMode, opts: KlOptions = {}): number {
  const bins = opts.bins ?? KL_DEFAULT_BINS;
  const eps = opts.epsilon ?? KL_DEFAULT_EPSILON;
  let ha;
  let hb;
  if (mode === 'paper-code') {
    ha = histogram(a, bins);
    hb = histogram(b, bins);
  } else if (mode === 'corrected') {
    const range = finiteRange(a, b);
    ha = histogram(a, bins, range);
    hb = histogram(b, bins, range);
  } else {
    throw new KlError(`mode must be 'paper-code' or 'corrected', got ${String(mode)}`);
  }
  const da = density(ha).map((v) => v + eps);
  const db = density(hb).map((v) => v + eps);
  return relativeEntropy(da, db);
}

/**
 * The authors' averaging: KL(reference_i ‖ other_j) for every pair (i, j) of runs.
 * @returns reference.length × other.length values, row-major by reference run.
 */
export function pairwiseKl(reference: ArrayLike<number>[], other: ArrayLike<number>[], mode: KlMode, opts: KlOptions = {}): number[] {
  const out: number[] = [];
  for (const r of reference) for (const o of other) out.push(klDivergence(r, o, mode, opts));
  return out;
}

/**
 * Standard error of the all-pairs mean of {@link pairwiseKl} under a bootstrap over runs: the
 * reference runs and the other rule's runs are each resampled with replacement (n_ref and
 * n_other draws), the pair mean recomputed from the same pair values, and the SD taken over the
 * resamples. The pairs share runs (every run appears in n_other or n_ref pairs), so the SD of
 * the n_ref · n_other pair values over √(pairs) understates the uncertainty; this does not.
 *
 * Computed exactly, as the limit of infinitely many resamples (so it is deterministic and needs
 * no seed): with c, d the multinomial resampling counts, E[c cᵀ] = I + (1 − 1/n_ref) 11ᵀ (and the
 * same for d), the pair mean is cᵀ K d / (n_ref n_other) and
 *   Var = (Σ K² + (1 − 1/n_ref) Σ_j C_j² + (1 − 1/n_other) (Σ_i R_i² + (1 − 1/n_ref) S²) − S²) / (n_ref n_other)²
 * with R_i, C_j the row and column sums of K and S its total. Like every bootstrap SE it is the
 * plug-in (n rather than n − 1) estimate; 0 with one run on each side.
 * @param values K, row-major [n_ref, n_other] (the order of {@link pairwiseKl}), finite
 * @returns the SE in the units of K (nats)
 */
export function pairMeanBootstrapSe(values: ArrayLike<number>, nRef: number, nOther: number): number {
  if (!Number.isInteger(nRef) || !Number.isInteger(nOther) || nRef < 1 || nOther < 1) throw new KlError(`run counts must be positive integers, got ${nRef} and ${nOther}`);
  if (values.length !== nRef * nOther) throw new KlError(`${values.length} pair values for ${nRef} x ${nOther} runs`);
  const rows = new Float64Array(nRef);
  const cols = new Float64Array(nOther);
  let sumSq = 0;
  let total = 0;
  for (let i = 0; i < nRef; i++) {
    for (let j = 0; j < nOther; j++) {
      const v = values[i * nOther + j];
      if (!Number.isFinite(v)) throw new KlError(`pair value (${i}, ${j}) is ${v}`);
      rows[i] += v;
      cols[j] += v;
      sumSq += v * v;
      total += v;
    }
  }
  let rowSq = 0;
  for (const r of rows) rowSq += r * r;
  let colSq = 0;
  for (const c of cols) colSq += c * c;
  const second = sumSq + (1 - 1 / nRef) * colSq + (1 - 1 / nOther) * (rowSq + (1 - 1 / nRef) * total * total);
  const variance = (second - total * total) / (nRef * nOther) ** 2;
  return Math.sqrt(Math.max(0, variance));
}
