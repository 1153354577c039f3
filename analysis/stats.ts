/**
 * Descriptive statistics and two-sample tests for small samples (runs over seeds).
 *
 * Distribution functions come from @stdlib (normal and Student t CDF / quantile); nothing here
 * approximates a special function by hand. The tests follow scipy's definitions so that the
 * numbers quoted by the paper's authors (scipy.stats.mannwhitneyu, asymptotic with continuity
 * correction) can be reproduced exactly; see stats.test.ts for the scipy reference values.
 */
import { createRequire } from 'node:module';
import type Normal from '@stdlib/stats-base-dists-normal';
import type StudentT from '@stdlib/stats-base-dists-t';
import type { Describe } from './types.js';

const requireCjs = createRequire(import.meta.url);
let dists: { normal: typeof Normal; studentT: typeof StudentT } | null = null;

/**
 * The @stdlib normal and Student t distributions, loaded on first use: they are some 600
 * CommonJS modules (about 0.4 s of CPU), and most `dalesweep` commands that load this module
 * (plan, status, verify, a sweep file with an error) never compute a p-value.
 */
function stdlib(): { normal: typeof Normal; studentT: typeof StudentT } {
  dists ??= {
    normal: requireCjs('@stdlib/stats-base-dists-normal') as typeof Normal,
    studentT: requireCjs('@stdlib/stats-base-dists-t') as typeof StudentT,
  };
  return dists;
}

/** Invalid input to a statistics function (message names the argument and the expected form). */
export class StatsError extends Error {
  override name = 'StatsError';
}

type Sample = ArrayLike<number>;

function checkSample(x: Sample, name: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new StatsError(`${name}[${i}] must be a finite number, got ${x[i]}`);
  }
}

/** Arithmetic mean; NaN for an empty sample. */
export function mean(x: Sample): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Sample variance with the n − 1 denominator; NaN for n < 2. */
export function variance(x: Sample): number {
  const n = x.length;
  if (n < 2) return NaN;
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < n; i++) s += (x[i] - m) ** 2;
  return s / (n - 1);
}

/** Sample standard deviation (n − 1 denominator); NaN for n < 2. */
export function sd(x: Sample): number {
  return Math.sqrt(variance(x));
}

/** Standard error of the mean, sd / sqrt(n); NaN for n < 2. */
export function sem(x: Sample): number {
  return sd(x) / Math.sqrt(x.length);
}

/**
 * t-based confidence interval for the mean: mean ± t_{(1+level)/2, n−1} · sem.
 * @param level confidence level in (0, 1), default 0.95.
 * @returns [lo, hi]; [NaN, NaN] for n < 2.
 */
export function tConfidenceInterval(x: Sample, level = 0.95): [number, number] {
  if (!(level > 0 && level < 1)) throw new StatsError(`level must be in (0, 1), got ${level}`);
  const n = x.length;
  if (n < 2) return [NaN, NaN];
  const m = mean(x);
  const h = stdlib().studentT.quantile((1 + level) / 2, n - 1) * sem(x);
  return [m - h, m + h];
}

function orNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** n, mean, SD, SEM and the t-based 95% CI of a sample, JSON-safe (null where undefined). */
export function describe(x: Sample): Describe {
  checkSample(x, 'x');
  const n = x.length;
  const ci = tConfidenceInterval(x);
  return {
    n,
    mean: n > 0 ? orNull(mean(x)) : null,
    sd: orNull(sd(x)),
    sem: orNull(sem(x)),
    ci95: Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? [ci[0], ci[1]] : null,
  };
}

/** Midranks (1-based; ties get the average of the ranks they span) and tie-group sizes. */
export function midranks(values: Sample): { ranks: Float64Array; tieSizes: number[] } {
  const n = values.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  const tieSizes: number[] = [];
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[idx[j + 1]] === values[idx[i]]) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[idx[k]] = r;
    tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieSizes };
}

/** Result of {@link mannWhitneyU}. */
export interface MannWhitneyResult {
  /** U of the first sample: R_x − n_x(n_x + 1)/2 (scipy's `statistic`). */
  u: number;
  /** Two-sided p-value in [0, 1]. */
  p: number;
  method: 'asymptotic-continuity' | 'asymptotic' | 'exact';
  /** True when the pooled sample has ties. */
  ties: boolean;
}

/** Samples larger than this (n_x + n_y) are refused by the exact Mann-Whitney method. */
export const MWU_EXACT_MAX_N = 100;

/**
 * Two-sided Mann-Whitney U test.
 *
 * - `asymptotic-continuity` (default) and `asymptotic`: exactly scipy.stats.mannwhitneyu(x, y,
 *   alternative='two-sided', method='asymptotic', use_continuity=true|false): U = max(U_x, U_y),
 *   z = (U − n_x n_y / 2 − 0.5·continuity) / σ with the tie-corrected
 *   σ² = n_x n_y / 12 · ((n + 1) − Σ(t³ − t) / (n(n − 1))), p = 2·P(Z ≥ z) clipped to [0, 1].
 *   When every value is tied (σ = 0) p = 1 (scipy gives 1 with continuity, NaN without).
 * - `exact`: the permutation distribution of the rank sum over all C(n, n_x) splits of the
 *   observed (mid)ranks, counted by dynamic programming over doubled rank sums (integers), and
 *   p = min(1, 2·min(P(U ≤ U_obs), P(U ≥ U_obs))). With no ties this is the classical exact null
 *   distribution and equals scipy's method='exact'. With ties it is the exact conditional
 *   permutation p-value (equal to scipy.stats.permutation_test with n_resamples=inf on U);
 *   scipy's method='exact' instead ignores ties, and its method='auto' falls back to asymptotic.
 *   Refused (StatsError) when n_x + n_y > {@link MWU_EXACT_MAX_N}.
 */
export function mannWhitneyU(
  x: Sample,
  y: Sample,
  method: 'asymptotic-continuity' | 'asymptotic' | 'exact' = 'asymptotic-continuity',
): MannWhitneyResult {
  checkSample(x, 'x');
  checkSample(y, 'y');
  const n1 = x.length;
  const n2 = y.length;
  if (n1 < 1 || n2 < 1) throw new StatsError(`mannWhitneyU needs non-empty samples, got sizes ${n1} and ${n2}`);
  const n = n1 + n2;
  const pooled = new Float64Array(n);
  for (let i = 0; i < n1; i++) pooled[i] = x[i];
  for (let i = 0; i < n2; i++) pooled[n1 + i] = y[i];
  const { ranks, tieSizes } = midranks(pooled);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i];
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const ties = tieSizes.some((t) => t > 1);

  if (method === 'exact') {
    if (n > MWU_EXACT_MAX_N) {
      throw new StatsError(`exact Mann-Whitney supports n_x + n_y <= ${MWU_EXACT_MAX_N}, got ${n}; use method 'asymptotic-continuity'`);
    }
    return { u: u1, p: exactRankSumP(ranks, n1), method, ties };
  }
  const u = Math.max(u1, n1 * n2 - u1);
  const mu = (n1 * n2) / 2;
  let tieTerm = 0;
  for (const t of tieSizes) tieTerm += t ** 3 - t;
  const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const cc = method === 'asymptotic-continuity' ? 0.5 : 0;
  let p: number;
  if (s === 0 || !Number.isFinite(s)) p = 1;
  else {
    const z = (u - mu - cc) / s;
    p = Math.min(1, Math.max(0, 2 * stdlib().normal.cdf(-z, 0, 1)));
  }
  return { u: u1, p, method, ties };
}

/** Exact two-sided permutation p of the rank sum of the first n1 of `ranks` (midranks allowed). */
function exactRankSumP(ranks: Float64Array, n1: number): number {
  const r2 = Array.from(ranks, (r) => Math.round(2 * r)); // midranks are multiples of 1/2
  let obs = 0;
  for (let i = 0; i < n1; i++) obs += r2[i];
  const maxSum = r2.reduce((a, b) => a + b, 0);
  // dp[k][s] = number of size-k subsets of the items seen so far with doubled rank sum s.
  const dp: Float64Array[] = Array.from({ length: n1 + 1 }, () => new Float64Array(maxSum + 1));
  dp[0][0] = 1;
  let seen = 0;
  r2.forEach((r, item) => {
    seen += r;
    for (let k = Math.min(n1, item + 1); k >= 1; k--) {
      const to = dp[k];
      const from = dp[k - 1];
      for (let s = seen; s >= r; s--) to[s] += from[s - r];
    }
  });
  const counts = dp[n1];
  let total = 0;
  let le = 0;
  let ge = 0;
  for (let s = 0; s <= maxSum; s++) {
    const c = counts[s];
    if (c === 0) continue;
    total += c;
    if (s <= obs) le += c;
    if (s >= obs) ge += c;
  }
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}

/** Result of {@link welchT}. */
export interface WelchResult {
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Two-sided p-value; NaN when both samples have zero variance. */
  p: number;
}

/**
 * Welch's unequal-variance t-test, two-sided (scipy.stats.ttest_ind(x, y, equal_var=False)):
 * t = (x̄ − ȳ) / sqrt(s_x²/n_x + s_y²/n_y),
 * df = (s_x²/n_x + s_y²/n_y)² / ((s_x²/n_x)²/(n_x − 1) + (s_y²/n_y)²/(n_y − 1)).
 */
export function welchT(x: Sample, y: Sample): WelchResult {
  checkSample(x, 'x');
  checkSample(y, 'y');
  if (x.length < 2 || y.length < 2) throw new StatsError(`welchT needs at least 2 values per sample, got ${x.length} and ${y.length}`);
  const a = variance(x) / x.length;
  const b = variance(y) / y.length;
  const t = (mean(x) - mean(y)) / Math.sqrt(a + b);
  const df = (a + b) ** 2 / (a ** 2 / (x.length - 1) + b ** 2 / (y.length - 1));
  const p = Number.isFinite(t) && Number.isFinite(df) ? Math.min(1, 2 * stdlib().studentT.cdf(-Math.abs(t), df)) : NaN;
  return { t, df, p };
}

/** Result of {@link pairedT}. */
export interface PairedTResult {
  t: number;
  /** n − 1. */
  df: number;
  /** Two-sided p-value; NaN when every difference is equal. */
  p: number;
}

/**
 * Paired t-test, two-sided (scipy.stats.ttest_rel(x, y)): d = x − y, t = d̄ / (s_d / √n),
 * df = n − 1. x[i] and y[i] are one pair (e.g. two pruning methods applied to the same dense
 * model of seed i).
 */
export function pairedT(x: Sample, y: Sample): PairedTResult {
  checkSample(x, 'x');
  checkSample(y, 'y');
  if (x.length !== y.length) throw new StatsError(`pairedT needs samples of equal length (pairs), got ${x.length} and ${y.length}`);
  if (x.length < 2) throw new StatsError(`pairedT needs at least 2 pairs, got ${x.length}`);
  const d = Float64Array.from({ length: x.length }, (_, i) => x[i] - y[i]);
  const n = d.length;
  const t = mean(d) / Math.sqrt(variance(d) / n);
  const df = n - 1;
  const p = Number.isFinite(t) ? Math.min(1, 2 * stdlib().studentT.cdf(-Math.abs(t), df)) : NaN;
  return { t, df, p };
}

/** Pairs up to which {@link wilcoxonSignedRank} enumerates the exact distribution (2^n sign patterns). */
export const WILCOXON_EXACT_MAX_N = 20;

/** Result of {@link wilcoxonSignedRank}. */
export interface WilcoxonResult {
  /** min(W+, W−), scipy's two-sided statistic. */
  statistic: number;
  /** Pairs used (zero differences dropped). */
  n: number;
  /** Exact two-sided p-value; NaN when no pair differs. */
  p: number;
}

/**
 * Wilcoxon signed-rank test, two-sided, exact (scipy.stats.wilcoxon(x, y, method='exact') with
 * the default zero_method 'wilcox': zero differences are dropped). The p-value is the exact
 * permutation distribution of W+ over all 2^n sign patterns of the (mid)ranks of |d|: with no
 * ties this is scipy's exact distribution; with ties it is the exact conditional distribution
 * (scipy instead warns and ignores the ties).
 * @throws StatsError when more than {@link WILCOXON_EXACT_MAX_N} pairs differ
 */
export function wilcoxonSignedRank(x: Sample, y: Sample): WilcoxonResult {
  checkSample(x, 'x');
  checkSample(y, 'y');
  if (x.length !== y.length) throw new StatsError(`wilcoxonSignedRank needs samples of equal length (pairs), got ${x.length} and ${y.length}`);
  const d: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i] - y[i] !== 0) d.push(x[i] - y[i]);
  const n = d.length;
  if (n === 0) return { statistic: 0, n: 0, p: NaN };
  if (n > WILCOXON_EXACT_MAX_N) throw new StatsError(`wilcoxonSignedRank: exact distribution limited to ${WILCOXON_EXACT_MAX_N} non-zero pairs, got ${n}`);
  const { ranks } = midranks(d.map(Math.abs));
  let wPlus = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += ranks[i];
    if (d[i] > 0) wPlus += ranks[i];
  }
  // Count sign patterns with W+ <= observed and >= observed (midranks are multiples of 0.5).
  let le = 0;
  let ge = 0;
  const patterns = 2 ** n;
  const eps = 1e-9;
  for (let m = 0; m < patterns; m++) {
    let w = 0;
    for (let i = 0; i < n; i++) if (m & (1 << i)) w += ranks[i];
    if (w <= wPlus + eps) le++;
    if (w >= wPlus - eps) ge++;
  }
  return { statistic: Math.min(wPlus, total - wPlus), n, p: Math.min(1, (2 * Math.min(le, ge)) / patterns) };
}

/** Cohen's d with the pooled SD sqrt(((n_x−1)s_x² + (n_y−1)s_y²)/(n_x+n_y−2)); sign of x̄ − ȳ. */
export function cohensD(x: Sample, y: Sample): number {
  const nx = x.length;
  const ny = y.length;
  const sp = Math.sqrt(((nx - 1) * variance(x) + (ny - 1) * variance(y)) / (nx + ny - 2));
  return (mean(x) - mean(y)) / sp;
}

/** Hedges' g = d · (1 − 3 / (4(n_x + n_y − 2) − 1)) (Hedges' small-sample approximation). */
export function hedgesG(x: Sample, y: Sample): number {
  const df = x.length + y.length - 2;
  return cohensD(x, y) * (1 - 3 / (4 * df - 1));
}

/** Rank-biserial correlation r = 2 U_x / (n_x n_y) − 1 in [−1, 1]; positive when x tends to be larger. */
export function rankBiserial(x: Sample, y: Sample): number {
  const { u } = mannWhitneyU(x, y, 'asymptotic-continuity');
  return (2 * u) / (x.length * y.length) - 1;
}

/**
 * Holm step-down adjusted p-values (statsmodels multipletests(method='holm')): with p sorted
 * ascending, p̃_(i) = min(1, max_{j ≤ i} (m − j) p_(j)) (j 0-based). Nulls are left out of the
 * family (m counts the non-null p only) and stay null.
 */
export function holm(p: (number | null)[]): (number | null)[] {
  const idx = p.map((v, i) => [v, i] as const).filter((e): e is readonly [number, number] => e[0] !== null && Number.isFinite(e[0]));
  idx.sort((a, b) => a[0] - b[0]);
  const m = idx.length;
  const out: (number | null)[] = p.map(() => null);
  let run = 0;
  idx.forEach(([v, i], j) => {
    run = Math.max(run, (m - j) * v);
    out[i] = Math.min(1, run);
  });
  return out;
}

/**
 * Benjamini–Hochberg adjusted p-values (statsmodels multipletests(method='fdr_bh')): with p sorted
 * ascending, p̃_(i) = min(1, min_{j ≥ i} m p_(j) / (j + 1)) (j 0-based). Nulls as in {@link holm}.
 */
export function benjaminiHochberg(p: (number | null)[]): (number | null)[] {
  const idx = p.map((v, i) => [v, i] as const).filter((e): e is readonly [number, number] => e[0] !== null && Number.isFinite(e[0]));
  idx.sort((a, b) => a[0] - b[0]);
  const m = idx.length;
  const out: (number | null)[] = p.map(() => null);
  let run = Infinity;
  for (let j = m - 1; j >= 0; j--) {
    const [v, i] = idx[j];
    run = Math.min(run, (m * v) / (j + 1));
    out[i] = Math.min(1, run);
  }
  return out;
}

/** Significance stars: '***' p < 0.001, '**' p < 0.01, '*' p < 0.05, 'ns' otherwise or null. */
export function stars(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return 'ns';
  return p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : 'ns';
}
