/**
 * Connectivity analysis of trained CelltypeRNNs (SCIENCE.md §6, paper §4.3, Fig. 5): recurrent
 * weights averaged per population block (18 × 18) and per area × layer (6 × 6), differences
 * between two conditions (second minus first), the feedforward and feedback bands as numbers,
 * and statistics across seeds. Everything returned is heatmap-ready: a matrix with its row
 * (postsynaptic) and column (presynaptic) labels in the nesting order.
 *
 * Averages are over all entries of a block, pruned zeros included, like the authors'
 * `average_weights_in_blocks_matrix`; by default of |w| (`use_absolute_values=True`, their
 * `compare_all` notebook); `absolute: false` averages signed weights (`compare_all_nonabs`).
 * The difference of the means over seeds equals the authors' mean over all seed pairs of
 * (second − first).
 */
import { mannWhitneyU, mean, welchT } from '../analysis/stats.js';
import { INTER_AREA_BANDS } from './connectivity.js';
import { AREAS, LAYERS, layerLabel, population, type CelltypeLayout } from './populations.js';

/** Thrown on inconsistent analysis inputs. */
export class CelltypeAnalysisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelltypeAnalysisError';
  }
}

/** Resolution of a block average. */
export type Resolution = 'population' | 'layer';

/** A labelled square matrix, row-major [post, pre]. */
export interface Heatmap {
  resolution: Resolution;
  /** Row labels (postsynaptic), nesting order. */
  rows: string[];
  /** Column labels (presynaptic), nesting order. */
  cols: string[];
  /** Values [rows, cols] row-major. */
  values: Float64Array;
}

/** Options of the averages. */
export interface AverageOptions {
  /** Average |w| (true) or w (false). @default true */
  absolute?: boolean;
}

function groupOf(layout: CelltypeLayout, resolution: Resolution): { labels: string[]; group: Int32Array } {
  const N = layout.N;
  const group = new Int32Array(N);
  if (resolution === 'population') {
    for (let i = 0; i < N; i++) group[i] = layout.popOfInternal[i];
    return { labels: layout.populations.map((p) => p.label), group };
  }
  for (let i = 0; i < N; i++) group[i] = Math.floor(layout.popOfInternal[i] / 3); // area*3 + layer
  return { labels: AREAS.flatMap((a) => LAYERS.map((l) => `${a} ${layerLabel(l)}`)), group };
}

/**
 * Mean weight of every block at the given resolution.
 * @param w recurrent weights (effective W_hh), [N, N] row-major [post, pre] in the model's
 *   internal order (what the model stores; see celltype/populations.ts)
 */
export function blockAverages(layout: CelltypeLayout, w: Float32Array, resolution: Resolution, opts: AverageOptions = {}): Heatmap {
  const N = layout.N;
  if (w.length !== N * N) throw new CelltypeAnalysisError(`blockAverages: w has length ${w.length}, expected N*N = ${N * N}`);
  const abs = opts.absolute ?? true;
  const { labels, group } = groupOf(layout, resolution);
  const k = labels.length;
  const sum = new Float64Array(k * k);
  const count = new Float64Array(k * k);
  for (let i = 0; i < N; i++) {
    const gi = group[i] * k;
    const o = i * N;
    for (let j = 0; j < N; j++) {
      const v = w[o + j];
      sum[gi + group[j]] += abs ? Math.abs(v) : v;
      count[gi + group[j]]++;
    }
  }
  for (let q = 0; q < k * k; q++) sum[q] /= count[q];
  return { resolution, rows: labels, cols: labels, values: sum };
}

/** Mean weight of each inter-area band (feedforward, two feedback), by band name. */
export interface BandValues {
  /** Band name, e.g. `feedforward V1 L2/3 → LM L4`. */
  name: string;
  kind: 'feedforward' | 'feedback';
  value: number;
}

/**
 * Mean (|w| by default) over the entries of each inter-area band: post = all three types of the
 * target layer, pre = the source layer's Pyr population (masked-out entries count as zeros).
 * @param w [N, N] internal order
 */
export function bandMeans(layout: CelltypeLayout, w: Float32Array, opts: AverageOptions = {}): BandValues[] {
  const N = layout.N;
  if (w.length !== N * N) throw new CelltypeAnalysisError(`bandMeans: w has length ${w.length}, expected N*N = ${N * N}`);
  const abs = opts.absolute ?? true;
  return INTER_AREA_BANDS.map((b) => {
    const pre = population(layout, b.pre.area, b.pre.layer, b.pre.type);
    let s = 0;
    let c = 0;
    for (const t of b.post.types) {
      const post = population(layout, b.post.area, b.post.layer, t);
      for (let i = post.internalStart; i < post.internalEnd; i++) {
        for (let j = pre.internalStart; j < pre.internalEnd; j++) {
          const v = w[i * N + j];
          s += abs ? Math.abs(v) : v;
          c++;
        }
      }
    }
    return { name: b.name, kind: b.kind, value: s / c };
  });
}

/** Per-block test used across seeds. */
export type BlockTest = 'welch' | 'mann-whitney';

/** Options of {@link compareConditions}. */
export interface CompareOptions extends AverageOptions {
  /** Test per block between the seeds of the two conditions. @default 'welch' */
  test?: BlockTest;
}

/** One resolution of a comparison. */
export interface ResolutionComparison {
  /** Mean over seeds of the first condition. */
  first: Heatmap;
  /** Mean over seeds of the second condition. */
  second: Heatmap;
  /** second − first. */
  difference: Heatmap;
  /**
   * Two-sided p-value per block (Welch's t or Mann-Whitney U, asymptotic with continuity
   * correction) between the per-seed block means; NaN where undefined (fewer than 2 seeds per
   * condition for Welch, or zero variance, e.g. blocks that are zero in every model).
   */
  p: Heatmap;
}

/** Result of {@link compareConditions}. */
export interface ConditionComparison {
  firstName: string;
  secondName: string;
  seeds: { first: number; second: number };
  population: ResolutionComparison;
  layer: ResolutionComparison;
  /** Feedforward and feedback bands: means per condition, difference (second − first), p. */
  bands: { name: string; kind: 'feedforward' | 'feedback'; first: number; second: number; difference: number; p: number }[];
}

function pValue(a: number[], b: number[], test: BlockTest): number {
  if (test === 'welch') return a.length < 2 || b.length < 2 ? NaN : welchT(a, b).p;
  return mannWhitneyU(a, b, 'asymptotic-continuity').p;
}

function compareResolution(layout: CelltypeLayout, first: Float32Array[], second: Float32Array[], resolution: Resolution, opts: CompareOptions): ResolutionComparison {
  const A = first.map((w) => blockAverages(layout, w, resolution, opts));
  const B = second.map((w) => blockAverages(layout, w, resolution, opts));
  const { rows, cols } = A[0];
  const size = rows.length * cols.length;
  const mA = new Float64Array(size);
  const mB = new Float64Array(size);
  const d = new Float64Array(size);
  const p = new Float64Array(size);
  for (let q = 0; q < size; q++) {
    const a = A.map((h) => h.values[q]);
    const b = B.map((h) => h.values[q]);
    mA[q] = mean(a);
    mB[q] = mean(b);
    d[q] = mB[q] - mA[q];
    p[q] = pValue(a, b, opts.test ?? 'welch');
  }
  const hm = (values: Float64Array): Heatmap => ({ resolution, rows, cols, values });
  return { first: hm(mA), second: hm(mB), difference: hm(d), p: hm(p) };
}

/**
 * Compare the trained recurrent weights of two conditions across seeds (second − first, as the
 * paper's Fig. 5): block means at population and layer resolution, their difference, a p-value
 * per block, and the three inter-area bands.
 * @param first effective W_hh of each seed of the first condition, [N, N] internal order
 * @param second same for the second condition
 */
export function compareConditions(
  layout: CelltypeLayout,
  firstName: string,
  first: readonly Float32Array[],
  secondName: string,
  second: readonly Float32Array[],
  opts: CompareOptions = {},
): ConditionComparison {
  if (first.length < 1 || second.length < 1) {
    throw new CelltypeAnalysisError(`compareConditions: each condition needs at least one model, got ${first.length} (${firstName}) and ${second.length} (${secondName})`);
  }
  const f = [...first];
  const s = [...second];
  const bf = f.map((w) => bandMeans(layout, w, opts));
  const bs = s.map((w) => bandMeans(layout, w, opts));
  const bands = INTER_AREA_BANDS.map((b, k) => {
    const a = bf.map((x) => x[k].value);
    const c = bs.map((x) => x[k].value);
    const ma = mean(a);
    const mc = mean(c);
    return { name: b.name, kind: b.kind, first: ma, second: mc, difference: mc - ma, p: pValue(a, c, opts.test ?? 'welch') };
  });
  return {
    firstName,
    secondName,
    seeds: { first: f.length, second: s.length },
    population: compareResolution(layout, f, s, 'population', opts),
    layer: compareResolution(layout, f, s, 'layer', opts),
    bands,
  };
}

/** A heatmap as a JSON-friendly object (values as nested arrays, NaN as null). */
export function heatmapToJSON(h: Heatmap): { resolution: Resolution; rows: string[]; cols: string[]; values: (number | null)[][] } {
  const values: (number | null)[][] = [];
  for (let i = 0; i < h.rows.length; i++) {
    values.push(Array.from(h.values.subarray(i * h.cols.length, (i + 1) * h.cols.length), (v) => (Number.isFinite(v) ? v : null)));
  }
  return { resolution: h.resolution, rows: h.rows, cols: h.cols, values };
}
