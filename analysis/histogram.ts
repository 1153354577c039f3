/**
 * Equal-width histograms that reproduce numpy.histogram(a, bins, range, density) bin for bin
 * (same edges, same treatment of values that fall on an edge; all arithmetic in float64), so
 * that KL divergences computed from them match the authors' numpy/scipy numbers.
 */

/** Invalid histogram input. */
export class HistogramError extends Error {
  override name = 'HistogramError';
}

/** A histogram on explicit edges. */
export interface Histogram {
  /** bins + 1 increasing edges. */
  edges: Float64Array;
  /** Count per bin; values outside [edges[0], edges[bins]] are not counted (as numpy). */
  counts: Float64Array;
}

/** min and max of the finite values; throws when there is none. */
export function finiteRange(...samples: ArrayLike<number>[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of samples) {
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      if (!Number.isFinite(v)) throw new HistogramError(`histogram values must be finite, got ${v} at index ${i}`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo > hi) throw new HistogramError('histogram needs at least one value');
  return [lo, hi];
}

/**
 * Equal-width edges as numpy: linspace(lo, hi, bins + 1) (edge i = lo + i·(hi − lo)/bins, last = hi);
 * when lo == hi numpy widens the range to [lo − 0.5, hi + 0.5].
 */
export function equalEdges(lo: number, hi: number, bins: number): Float64Array {
  if (!Number.isInteger(bins) || bins < 1) throw new HistogramError(`bins must be a positive integer, got ${bins}`);
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = (hi - lo) / bins;
  const e = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) e[i] = i * step + lo;
  e[bins] = hi;
  return e;
}

/** Counts of `values` on equal-width `edges` (numpy's uniform-bin search, edge corrections included). */
export function histogramCounts(values: ArrayLike<number>, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const first = edges[0];
  const last = edges[bins];
  const denom = last - first;
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= first && v <= last)) continue;
    let k = Math.trunc(((v - first) / denom) * bins);
    if (k === bins) k -= 1;
    if (v < edges[k]) k -= 1;
    else if (v >= edges[k + 1] && k !== bins - 1) k += 1;
    counts[k] += 1;
  }
  return counts;
}

/** Histogram with `bins` equal bins over [lo, hi] (default: the values' own min and max). */
export function histogram(values: ArrayLike<number>, bins: number, range?: [number, number]): Histogram {
  const [lo, hi] = range ?? finiteRange(values);
  const edges = equalEdges(lo, hi, bins);
  return { edges, counts: histogramCounts(values, edges) };
}

/** Density as numpy's density=True: count / width / total count (integrates to 1); zeros if empty. */
export function density(h: Histogram): Float64Array {
  let total = 0;
  for (const c of h.counts) total += c;
  const d = new Float64Array(h.counts.length);
  if (total === 0) return d;
  for (let i = 0; i < d.length; i++) d[i] = h.counts[i] / (h.edges[i + 1] - h.edges[i]) / total;
  return d;
}

/** The non-zero entries of `w` (weights surviving pruning, Fig. 3A). */
export function nonZero(w: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) out.push(w[i]);
  return Float64Array.from(out);
}
