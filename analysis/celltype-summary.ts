/**
 * The cell-type part of summary.json (SCIENCE.md §6, paper §4.3 and Fig. 5): for every succeeded
 * evaluation of task celltype, the trained W_hh (`loadWeights`, [N, N] in the model's internal
 * order) is reduced at once to its block means (celltype/analysis.ts: 18 × 18 population blocks,
 * 6 × 6 area × layer blocks, the three inter-area bands; mean |w| over all entries of a block,
 * pruned zeros included, as the authors' `compare_all`), then:
 *
 * - per condition (and phase / other context): the block means averaged over seeds and the band
 *   values with their per-seed values;
 * - per pair of conditions present in the same context: second − first at both resolutions, with
 *   a two-sided Welch t-test per cell between the per-seed block means of the two conditions
 *   (raw and Benjamini–Hochberg over the cells of that heatmap; only with ≥ 2 seeds in each) and,
 *   per band, Welch and Mann-Whitney (raw and BH over the three bands).
 *
 * The pairs are the authors' comparisons ({@link CELLTYPE_PAIRS}).
 */
import { bandMeans, blockAverages, heatmapToJSON, type Heatmap } from '../celltype/analysis.js';
import { INTER_AREA_BANDS } from '../celltype/connectivity.js';
import { FAMILIARITIES, STIMULUS_EVENTS, TIME_WINDOWS } from '../celltype/conditions.js';
import { celltypeLayout, population, populationIndex, LAYERS, AREAS, type CelltypeLayout } from '../celltype/populations.js';
import { benjaminiHochberg, mannWhitneyU, mean, sd, stars, welchT } from './stats.js';
import { keyString, nullable, pv, type Key } from './row-groups.js';
import type {
  AggregateInput,
  BandCells,
  CellPValues,
  CelltypeBandDifference,
  CelltypeConditionSummary,
  CelltypeDifference,
  CelltypeResolutionDifference,
  CelltypeSummary,
  HeatmapGrid,
  ParamValue,
  PValue,
  ResultRow,
} from './types.js';

/**
 * The condition pairs compared, [first, second] with difference second − first: the authors'
 * `celltype-comparisons` (Fig. 5, App. 13), in each window (full, half): within each familiarity
 * no change → change, no change → omission, change → omission; and familiar → novel for each event.
 */
export const CELLTYPE_PAIRS: readonly [string, string][] = TIME_WINDOWS.flatMap((w) => [
  ...FAMILIARITIES.flatMap((f): [string, string][] => [
    [`${f}_no_change_${w}`, `${f}_change_${w}`],
    [`${f}_no_change_${w}`, `${f}_omission_${w}`],
    [`${f}_change_${w}`, `${f}_omission_${w}`],
  ]),
  ...STIMULUS_EVENTS.map((e): [string, string] => [`familiar_${e}_${w}`, `novel_${e}_${w}`]),
]);

/** Options of {@link celltypeSummary}. */
export interface CelltypeSummaryOptions {
  /** Pairs [first, second] to compare (difference second − first). @default {@link CELLTYPE_PAIRS} */
  pairs?: readonly [string, string][];
}

const MEASURE = 'mean |w| over all entries of a block (pruned zeros included), W_hh rows postsynaptic, columns presynaptic, nesting order; per-seed values averaged over seeds';
const STARS_FROM = 'Welch t (second vs first, per-seed block means), two-sided, Benjamini-Hochberg over the cells of each heatmap; shown only with at least 2 seeds per condition';

/** One evaluated model reduced to its block means. */
interface Reduced {
  seed: ParamValue;
  population: Float64Array;
  layer: Float64Array;
  bands: number[];
  layout: CelltypeLayout;
}

function grid(resolution: 'population' | 'layer', labels: string[], values: ArrayLike<number>): HeatmapGrid {
  const h: Heatmap = { resolution, rows: labels, cols: labels, values: Float64Array.from(values) };
  return heatmapToJSON(h);
}

function toRows(k: number, values: ArrayLike<number | null>): (number | null)[][] {
  const out: (number | null)[][] = [];
  for (let i = 0; i < k; i++) out.push(Array.from({ length: k }, (_, j) => values[i * k + j]));
  return out;
}

/** Cells of every band at one resolution. */
export function bandCells(layout: CelltypeLayout, resolution: 'population' | 'layer'): BandCells[] {
  return INTER_AREA_BANDS.map((b) => {
    if (resolution === 'population') {
      const rows = b.post.types.map((t) => population(layout, b.post.area, b.post.layer, t).index);
      const col = populationIndex(b.pre.area, b.pre.layer, b.pre.type);
      return { name: b.name, kind: b.kind, rows: [Math.min(...rows), Math.max(...rows) + 1], cols: [col, col + 1] };
    }
    const r = AREAS.indexOf(b.post.area) * 3 + LAYERS.indexOf(b.post.layer);
    const c = AREAS.indexOf(b.pre.area) * 3 + LAYERS.indexOf(b.pre.layer);
    return { name: b.name, kind: b.kind, rows: [r, r + 1], cols: [c, c + 1] };
  });
}

/** The cell-type rows' layout: latentScaling from the row, else N / 90. */
function layoutOf(row: ResultRow, n: number): CelltypeLayout | string {
  const ls = pv(row, 'latentScaling');
  const scaling = typeof ls === 'number' ? ls : n / 90;
  if (!Number.isInteger(scaling) || scaling < 1) return `cannot tell the cell-type layout of stage ${row.stageId} (N = ${n}, latentScaling ${String(ls)})`;
  const layout = celltypeLayout(scaling);
  if (layout.N !== n) return `stage ${row.stageId}: W_hh is ${n} x ${n}, but latentScaling ${scaling} means N = ${layout.N}`;
  return layout;
}

function resolutionDifference(
  resolution: 'population' | 'layer',
  labels: string[],
  a: Float64Array[],
  b: Float64Array[],
  family: string,
): CelltypeResolutionDifference {
  const k = labels.length;
  const size = k * k;
  const mA = new Float64Array(size);
  const mB = new Float64Array(size);
  const d = new Float64Array(size);
  const raw: (number | null)[] = new Array<number | null>(size).fill(null);
  const tests = a.length >= 2 && b.length >= 2;
  for (let q = 0; q < size; q++) {
    const xa = a.map((h) => h[q]);
    const xb = b.map((h) => h[q]);
    mA[q] = mean(xa);
    mB[q] = mean(xb);
    d[q] = mB[q] - mA[q];
    if (tests) raw[q] = nullable(welchT(xb, xa).p);
  }
  const p: CellPValues[] = [];
  let starGrid: string[][] | null = null;
  if (tests) {
    const bh = benjaminiHochberg(raw);
    const fam = `${family} \u00b7 ${resolution} cells`;
    const base = { test: 'welch-t', method: 'welch-satterthwaite', alternative: 'two-sided', family: fam } as const;
    p.push({ ...base, correction: 'none', values: toRows(k, raw) });
    p.push({ ...base, correction: 'bh', values: toRows(k, bh) });
    starGrid = toRows(k, bh).map((r) => r.map((v) => (v === null ? '' : stars(v) === 'ns' ? '' : stars(v))));
  }
  return { first: grid(resolution, labels, mA), second: grid(resolution, labels, mB), difference: grid(resolution, labels, d), p, stars: starGrid };
}

function bandDifferences(a: Reduced[], b: Reduced[], family: string): CelltypeBandDifference[] {
  const raws = INTER_AREA_BANDS.map((band, k) => {
    const xa = a.map((r) => r.bands[k]);
    const xb = b.map((r) => r.bands[k]);
    const welch = xa.length >= 2 && xb.length >= 2 ? welchT(xb, xa) : null;
    const mw = mannWhitneyU(xb, xa, 'asymptotic-continuity');
    const first = nullable(mean(xa));
    const second = nullable(mean(xb));
    return {
      band,
      first,
      second,
      raw: [
        { test: 'welch-t', method: 'welch-satterthwaite', p: welch ? nullable(welch.p) : null, statistic: welch ? nullable(welch.t) : null, df: welch ? nullable(welch.df) : null },
        { test: 'mann-whitney-u', method: 'asymptotic-continuity', p: nullable(mw.p), statistic: mw.u },
      ] as const,
    };
  });
  const fam = `${family} \u00b7 bands`;
  const corrected = [0, 1].map((t) => benjaminiHochberg(raws.map((r) => r.raw[t].p)));
  return raws.map((r, k) => {
    const pValues: PValue[] = [];
    r.raw.forEach((x, t) => {
      for (const correction of ['none', 'bh'] as const) {
        const p: PValue = { test: x.test, method: x.method, alternative: 'two-sided', correction, family: fam, p: correction === 'none' ? x.p : corrected[t][k], statistic: x.statistic };
        if ('df' in x) p.df = x.df;
        pValues.push(p);
      }
    });
    return {
      name: r.band.name,
      kind: r.band.kind,
      first: r.first,
      second: r.second,
      difference: r.first !== null && r.second !== null ? r.second - r.first : null,
      pValues,
    };
  });
}

/**
 * The cell-type summary of a sweep's rows, or null when no succeeded row is of task celltype.
 * @param label human label of a key (the parameters that vary in the sweep)
 * @param notes receives non-fatal problems (weights missing or of the wrong size)
 */
export async function celltypeSummary(
  input: Pick<AggregateInput, 'rows' | 'loadWeights'>,
  paramNames: string[],
  label: (k: Key) => string,
  notes: string[],
  opts: CelltypeSummaryOptions = {},
): Promise<CelltypeSummary | null> {
  const rows = input.rows.filter((r) => r.status === 'succeeded' && pv(r, 'task') === 'celltype' && typeof pv(r, 'condition') === 'string');
  if (!rows.length) return null;
  const ctxNames = paramNames.filter((n) => n !== 'seed' && n !== 'condition');
  // Reduce every model to block means right away (a 1440 x 1440 matrix is 8 MB).
  const byCondition = new Map<string, { key: Key; ctx: Key; condition: string; reduced: Reduced[] }>();
  let someLayout: CelltypeLayout | null = null;
  for (const r of rows) {
    const lw = await input.loadWeights(r);
    if (!lw) {
      notes.push(`no weights for stage ${r.stageId}: left out of the cell-type analysis`);
      continue;
    }
    const layout = layoutOf(r, lw.n);
    if (typeof layout === 'string') {
      notes.push(`${layout}: left out of the cell-type analysis`);
      continue;
    }
    someLayout ??= layout;
    const ctx: Key = {};
    for (const n of ctxNames) ctx[n] = pv(r, n);
    const condition = String(pv(r, 'condition'));
    const key = { ...ctx, condition };
    const id = keyString(key);
    let entry = byCondition.get(id);
    if (!entry) {
      entry = { key, ctx, condition, reduced: [] };
      byCondition.set(id, entry);
    }
    entry.reduced.push({
      seed: pv(r, 'seed'),
      population: blockAverages(layout, lw.w, 'population').values,
      layer: blockAverages(layout, lw.w, 'layer').values,
      bands: bandMeans(layout, lw.w).map((b) => b.value),
      layout,
    });
  }
  const layout = someLayout ?? celltypeLayout(1);
  const popLabels = layout.populations.map((p) => p.label);
  const layerLabels = blockAverages(layout, new Float32Array(layout.N * layout.N), 'layer').rows;

  const conditions: CelltypeConditionSummary[] = [];
  for (const e of byCondition.values()) {
    const n = e.reduced.length;
    const avg = (pick: (r: Reduced) => Float64Array): Float64Array => {
      const out = new Float64Array(pick(e.reduced[0]).length);
      for (const r of e.reduced) pick(r).forEach((v, q) => (out[q] += v / n));
      return out;
    };
    conditions.push({
      key: e.key,
      label: label(e.key),
      condition: e.condition,
      phase: e.key.phase ?? null,
      seeds: e.reduced.map((r) => r.seed),
      population: grid('population', popLabels, avg((r) => r.population)),
      layer: grid('layer', layerLabels, avg((r) => r.layer)),
      bands: INTER_AREA_BANDS.map((b, k) => {
        const values = e.reduced.map((r) => r.bands[k]);
        return { name: b.name, kind: b.kind, n: values.length, mean: nullable(mean(values)), sd: values.length >= 2 ? nullable(sd(values)) : null, values };
      }),
    });
  }

  const pairs = [...(opts.pairs ?? CELLTYPE_PAIRS)];
  const differences: CelltypeDifference[] = [];
  const contexts = new Map<string, Key>();
  for (const e of byCondition.values()) contexts.set(keyString(e.ctx), e.ctx);
  for (const ctx of contexts.values()) {
    for (const [first, second] of pairs) {
      const a = byCondition.get(keyString({ ...ctx, condition: first }));
      const b = byCondition.get(keyString({ ...ctx, condition: second }));
      if (!a || !b || !a.reduced.length || !b.reduced.length) continue;
      const ctxLabel = label(ctx);
      const family = `${second} \u2212 ${first}${ctxLabel && ctxLabel !== 'all' ? ` \u00b7 ${ctxLabel}` : ''}`;
      differences.push({
        key: ctx,
        label: family,
        phase: ctx.phase ?? null,
        first,
        second,
        nFirst: a.reduced.length,
        nSecond: b.reduced.length,
        population: resolutionDifference('population', popLabels, a.reduced.map((r) => r.population), b.reduced.map((r) => r.population), family),
        layer: resolutionDifference('layer', layerLabels, a.reduced.map((r) => r.layer), b.reduced.map((r) => r.layer), family),
        bands: bandDifferences(a.reduced, b.reduced, family),
      });
    }
  }
  return {
    measure: MEASURE,
    absolute: true,
    starsFrom: STARS_FROM,
    bandCells: { population: bandCells(layout, 'population'), layer: bandCells(layout, 'layer') },
    pairs,
    conditions,
    differences,
  };
}
