/**
 * Connectivity analysis of trained CelltypeRNNs (SCIENCE.md §6, paper §4.3, Fig. 5): recurrent
 * weights of one model averaged per population block (18 × 18) and per area × layer (6 × 6), and
 * the feedforward and feedback bands as numbers. Everything returned is heatmap-ready: a matrix
 * with its row (postsynaptic) and column (presynaptic) labels in the nesting order. The
 * comparison of two conditions across seeds (differences, tests, stars) is
 * `analysis/celltype-summary.ts`.
 *
 * Averages are over all entries of a block, pruned zeros included, like the authors'
 * `average_weights_in_blocks_matrix`; by default of |w| (`use_absolute_values=True`, their
 * `compare_all` notebook); `absolute: false` averages signed weights (`compare_all_nonabs`).
 */
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

/** A heatmap as a JSON-friendly object (values as nested arrays, NaN as null). */
export function heatmapToJSON(h: Heatmap): { resolution: Resolution; rows: string[]; cols: string[]; values: (number | null)[][] } {
  const values: (number | null)[][] = [];
  for (let i = 0; i < h.rows.length; i++) {
    values.push(Array.from(h.values.subarray(i * h.cols.length, (i + 1) * h.cols.length), (v) => (Number.isFinite(v) ? v : null)));
  }
  return { resolution: h.resolution, rows: h.rows, cols: h.cols, values };
}
