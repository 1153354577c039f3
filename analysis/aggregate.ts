/**
 * Sweep aggregation: turns the rows of results.json (plus weights and learning curves loaded on
 * demand) into a JSON-serialisable {@link Summary}: per-group descriptive statistics, learning
 * curves with bands, two-sample comparisons with multiple-comparison corrections, MST-overlap
 * curves, KL divergences and weight histograms. Everything the report draws comes from here.
 */
import { scorecard } from './scorecard.js';
import { randomOverlapTheory } from '../rnn/mst.js';
import { celltypeSummary } from './celltype-summary.js';
import { density, finiteRange, histogramCounts, equalEdges, nonZero } from './histogram.js';
import { KL_DEFAULT_BINS, KL_DEFAULT_EPSILON, pairMeanBootstrapSe, pairwiseKl } from './kl.js';
import {
  benjaminiHochberg,
  cohensD,
  describe,
  hedgesG,
  holm,
  mannWhitneyU,
  mean,
  MWU_EXACT_MAX_N,
  pairedT,
  WILCOXON_EXACT_MAX_N,
  wilcoxonSignedRank,
  rankBiserial,
  sem,
  stars,
  welchT,
} from './stats.js';
import type {
  AggregateInput,
  Band,
  Comparison,
  Correction,
  CurvePoint,
  CurveSummary,
  GroupSummary,
  HistogramSummary,
  KlMode,
  KlSummary,
  LoadedWeights,
  MinPSummary,
  MstSummary,
  ParamValue,
  PruningErrorSummary,
  PValue,
  ResultRow,
  Summary,
  TestMethod,
  TestName,
} from './types.js';

/** Options of {@link aggregate}. */
export interface AggregateOptions {
  /** Parameters that define a group for descriptive statistics. @default every parameter except `seed` */
  groupBy?: string[];
  /** Metrics compared between levels (those present are used). @default ['testLoss', 'testAccuracy', 'mstOverlap'] */
  comparisonMetrics?: string[];
  /** Sparsity levels at which non-zero weight histograms are drawn after pruning.
   *  @default all levels if at most 3, else the lowest, the one closest to 0.381 (the paper's keep fraction 0.619) and the highest */
  histogramSparsities?: number[];
  /** Bins of the report's weight histograms. @default 100 */
  histogramBins?: number;
  /** KL histogram settings (both fidelity modes are always computed). */
  kl?: { bins?: number; epsilon?: number };
  /** Condition pairs [first, second] of the cell-type analysis. @default CELLTYPE_PAIRS (analysis/celltype-summary.ts) */
  celltypePairs?: readonly [string, string][];
}

/** Invalid aggregation input (message names the row / field). */
export class AggregateError extends Error {
  override name = 'AggregateError';
}

const SEED = 'seed';
const RULE_PAIRS: [string, string][] = [
  ['dale', 'conventional'],
  ['rectified', 'conventional'],
  ['dale', 'rectified'],
];
const PRUNING_METHODS = ['random', 'top-prob'];
const MWU_STARS_FROM = 'Mann-Whitney U, two-sided, asymptotic with continuity correction, uncorrected (the authors\u2019 test)';

type Key = Record<string, ParamValue>;

function pv(row: ResultRow, name: string): ParamValue {
  const v = row.params[name];
  return v === undefined ? null : v;
}

function phaseOf(row: ResultRow): string {
  const p = pv(row, 'phase');
  if (typeof p === 'string') return p;
  return pv(row, 'pruning') === null ? 'dense' : 'pruned';
}

function pick(row: ResultRow, names: string[]): Key {
  const k: Key = {};
  for (const n of names) k[n] = pv(row, n);
  return k;
}

function keyString(k: Key): string {
  return JSON.stringify(Object.keys(k).sort().map((n) => [n, k[n]]));
}

function compareLevels(a: ParamValue, b: ParamValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function nullable(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Groups items by a string key, keeping first-seen order. */
function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}

function band(samples: number[][]): Band {
  return {
    mean: samples.map((s) => (s.length ? nullable(mean(s)) : null)),
    sem: samples.map((s) => (s.length >= 2 ? nullable(sem(s)) : null)),
    n: samples.map((s) => s.length),
  };
}

/**
 * Aggregates a sweep's evaluation rows into a {@link Summary} (JSON-serialisable).
 *
 * - groups: mean / SD / SEM / t-based 95% CI over seeds of every metric, per `groupBy` group;
 * - comparisons: random vs top-prob at every other parameter combination (family: across
 *   sparsity), and rule vs rule on dense rows (dale/rectified vs conventional, dale vs rectified;
 *   family: the rule pairs of one context), each with Mann-Whitney U (asymptotic+continuity,
 *   scipy-compatible, and exact), Welch's t, effect sizes, and Holm / BH within the family;
 * - minP: the minimum p over the sparsity levels of each pruning family, as the authors quote;
 * - curves, mst, kl (both fidelity modes), histograms, pruningErrors: the report's figures;
 * - celltype (task celltype rows only): block means per condition and condition differences
 *   with per-cell tests and the inter-area bands (analysis/celltype-summary.ts).
 */
export async function aggregate(input: AggregateInput, opts: AggregateOptions = {}): Promise<Summary> {
  const rows = input.rows;
  rows.forEach((r, i) => {
    if (!r || typeof r.params !== 'object' || r.params === null) throw new AggregateError(`rows[${i}].params must be an object`);
    if (typeof r.metrics !== 'object' || r.metrics === null) throw new AggregateError(`rows[${i}].metrics must be an object`);
    if (!['succeeded', 'failed', 'pending'].includes(r.status)) {
      throw new AggregateError(`rows[${i}].status must be 'succeeded' | 'failed' | 'pending', got ${String(r.status)}`);
    }
  });
  const notes: string[] = [];
  const paramNames = [...new Set(rows.flatMap((r) => Object.keys(r.params)))].sort();
  const axes: Record<string, ParamValue[]> = {};
  for (const n of paramNames) axes[n] = [...new Set(rows.map((r) => pv(r, n)))].sort(compareLevels);
  const varying = new Set(paramNames.filter((n) => axes[n].length > 1));
  const label = (k: Key, extra = ''): string => {
    const parts = Object.keys(k)
      .filter((n) => varying.has(n))
      .map((n) => `${n}=${String(k[n])}`);
    const s = parts.join(', ') || 'all';
    return extra ? `${s} ${extra}` : s;
  };
  const ok = rows.filter((r) => r.status === 'succeeded');

  // Status.
  const statusCounts = { succeeded: 0, failed: 0, pending: 0, total: rows.length };
  for (const r of rows) statusCounts[r.status]++;
  const failures = rows
    .filter((r): r is ResultRow & { status: 'failed' | 'pending' } => r.status !== 'succeeded')
    .map((r) => ({ stageId: r.stageId, params: { ...r.params }, status: r.status, reason: r.reason ?? null }));

  // Groups.
  const groupNames = opts.groupBy ?? paramNames.filter((n) => n !== SEED);
  const groups: GroupSummary[] = [];
  for (const members of groupBy(rows, (r) => keyString(pick(r, groupNames))).values()) {
    const key = pick(members[0], groupNames);
    const succ = members.filter((r) => r.status === 'succeeded');
    const metricNames = [...new Set(succ.flatMap((r) => Object.keys(r.metrics)))].sort();
    const metrics: GroupSummary['metrics'] = {};
    for (const m of metricNames) metrics[m] = describe(succ.map((r) => r.metrics[m]).filter(finite));
    groups.push({
      key,
      label: label(key),
      counts: {
        succeeded: succ.length,
        failed: members.filter((r) => r.status === 'failed').length,
        pending: members.filter((r) => r.status === 'pending').length,
      },
      seeds: succ.map((r) => pv(r, SEED)),
      metrics,
    });
  }
  groups.sort((a, b) => a.label.localeCompare(b.label));

  // Comparisons.
  const metricsPresent = new Set(ok.flatMap((r) => Object.keys(r.metrics).filter((m) => finite(r.metrics[m]))));
  const cmpMetrics = (opts.comparisonMetrics ?? ['testLoss', 'testAccuracy', 'mstOverlap']).filter((m) => metricsPresent.has(m));
  const comparisons: Comparison[] = [];
  const pruned = ok.filter((r) => PRUNING_METHODS.includes(String(pv(r, 'pruning'))) && phaseOf(r) !== 'dense');
  comparisons.push(...compareAxis(pruned, paramNames, 'pruning', [['random', 'top-prob']], 'sparsity', cmpMetrics, label, notes));
  const dense = ok.filter((r) => phaseOf(r) === 'dense');
  const rulePairs = RULE_PAIRS.filter(([a, b]) => axes.rule?.includes(a) && axes.rule?.includes(b));
  comparisons.push(...compareAxis(dense, paramNames, 'rule', rulePairs, null, cmpMetrics.filter((m) => m !== 'mstOverlap'), label, notes));

  // Minimum p over sparsity, per pruning family.
  const minP: MinPSummary[] = [];
  for (const [family, members] of groupBy(comparisons.filter((c) => c.axis === 'pruning'), (c) => c.family)) {
    for (const [test, method] of [['mann-whitney-u', 'asymptotic-continuity'], ['mann-whitney-u', 'exact'], ['welch-t', 'welch-satterthwaite']] as const) {
      let best: { p: number; at: Key } | null = null;
      for (const c of members) {
        const p = c.pValues.find((x) => x.test === test && x.method === method && x.correction === 'none')?.p;
        if (finite(p) && (best === null || p < best.p)) best = { p, at: { ...c.context } };
      }
      minP.push({ family, metric: members[0].metric, test, method, correction: 'none', p: best?.p ?? null, at: best?.at ?? null, nLevels: members.length });
    }
  }

  // Errors after pruning vs sparsity (Fig. 3C; finetuned rows too).
  const pruningErrors = pruningErrorSummaries(pruned, paramNames, comparisons, cmpMetrics.filter((m) => m !== 'mstOverlap'), label);

  // MST overlap vs sparsity (Fig. 3B).
  const mst = mstSummaries(pruned, paramNames, label, input.sweep.fidelity, notes);

  // Learning curves (Fig. 2C dense, 3D fine-tuning).
  const curves: CurveSummary[] = [];
  for (const [which, subset] of [['dense', dense], ['finetune', ok.filter((r) => phaseOf(r) === 'finetuned')]] as const) {
    const names = paramNames.filter((n) => n !== SEED);
    for (const members of groupBy(subset, (r) => keyString(pick(r, names))).values()) {
      const loaded: CurvePoint[][] = [];
      for (const r of members) {
        const c = await input.loadCurve(r, which);
        if (c && c.length) loaded.push(c);
        else notes.push(`no ${which} learning curve for stage ${r.stageId}`);
      }
      if (!loaded.length) continue;
      const key = pick(members[0], names);
      curves.push(curveSummary(which, key, label(key), loaded));
    }
  }

  // KL divergences and weight histograms.
  const { kl, histograms } = await weightSummaries(input, dense, pruned, paramNames, axes, opts, label, notes);

  // Cell-type connectivity by condition and condition differences (Fig. 5).
  const celltype = await celltypeSummary(input, paramNames, (k) => label(k), notes, { pairs: opts.celltypePairs });

  const summary: Summary = {
    schemaVersion: 1,
    sweep: { ...input.sweep },
    groupBy: groupNames,
    statusCounts,
    failures,
    axes,
    groups,
    curves,
    comparisons,
    minP,
    pruningErrors,
    mst,
    kl,
    histograms,
    ...(celltype !== null ? { celltype } : {}),
    notes,
  };
  const card = scorecard(summary);
  if (card.numbers.length > 0 || card.claims.length > 0) summary.paperComparison = card;
  return summary;
}

interface RawComparison {
  c: Omit<Comparison, 'pValues'>;
  raw: { test: TestName; method: TestMethod; p: number | null; statistic: number | null; df?: number | null }[];
}

/**
 * Compares two levels of `axis` for every combination of the other parameters (seed excepted).
 * A family is every comparison of one pair and metric that differs only in `familyAxis`
 * (e.g. sparsity), or, when `familyAxis` is null, every pair of one context and metric.
 */
function compareAxis(
  rows: ResultRow[],
  paramNames: string[],
  axis: string,
  pairs: [string, string][],
  familyAxis: string | null,
  metrics: string[],
  label: (k: Key, extra?: string) => string,
  notes: string[],
): Comparison[] {
  if (!paramNames.includes(axis) || !pairs.length) return [];
  const ctxNames = paramNames.filter((n) => n !== SEED && n !== axis);
  const raws: RawComparison[] = [];
  for (const members of groupBy(rows, (r) => keyString(pick(r, ctxNames))).values()) {
    const context = pick(members[0], ctxNames);
    for (const metric of metrics) {
      for (const [a, b] of pairs) {
        const xa = members.filter((r) => pv(r, axis) === a).map((r) => r.metrics[metric]).filter(finite);
        const xb = members.filter((r) => pv(r, axis) === b).map((r) => r.metrics[metric]).filter(finite);
        if (!xa.length || !xb.length) continue;
        const famCtx = { ...context };
        if (familyAxis) delete famCtx[familyAxis];
        const family = familyAxis
          ? `${axis} ${a} vs ${b} \u00b7 ${metric} \u00b7 ${label(famCtx)} (across ${familyAxis})`
          : `${axis} pairs \u00b7 ${metric} \u00b7 ${label(famCtx)}`;
        const mwA = mannWhitneyU(xa, xb, 'asymptotic-continuity');
        let exactP: number | null = null;
        if (xa.length + xb.length <= MWU_EXACT_MAX_N) exactP = mannWhitneyU(xa, xb, 'exact').p;
        else notes.push(`exact Mann-Whitney skipped for ${family} at ${label(context)}: n = ${xa.length + xb.length} > ${MWU_EXACT_MAX_N}`);
        const welch = xa.length >= 2 && xb.length >= 2 ? welchT(xa, xb) : null;
        // Paired by seed: the runs of both levels that share a seed (and everything else).
        const bySeed = (level: string): Map<ParamValue, number> => {
          const m = new Map<ParamValue, number>();
          for (const r of members) if (pv(r, axis) === level && finite(r.metrics[metric])) m.set(pv(r, SEED), r.metrics[metric] as number);
          return m;
        };
        const sa = bySeed(a);
        const sb = bySeed(b);
        const seeds = [...sa.keys()].filter((k) => k !== null && sb.has(k));
        const pa = seeds.map((k) => sa.get(k)!);
        const pb = seeds.map((k) => sb.get(k)!);
        const pt = seeds.length >= 2 ? pairedT(pa, pb) : null;
        const wx = seeds.length >= 2 && seeds.length <= WILCOXON_EXACT_MAX_N ? wilcoxonSignedRank(pa, pb) : null;
        const two = xa.length >= 2 && xb.length >= 2;
        raws.push({
          c: {
            family,
            axis,
            a,
            b,
            context,
            metric,
            nA: xa.length,
            nB: xb.length,
            nPairs: seeds.length,
            meanA: nullable(mean(xa)),
            meanB: nullable(mean(xb)),
            effect: {
              cohensD: two ? nullable(cohensD(xa, xb)) : null,
              hedgesG: two ? nullable(hedgesG(xa, xb)) : null,
              rankBiserial: nullable(rankBiserial(xa, xb)),
            },
          },
          raw: [
            { test: 'mann-whitney-u', method: 'asymptotic-continuity', p: nullable(mwA.p), statistic: mwA.u },
            { test: 'mann-whitney-u', method: 'exact', p: exactP, statistic: mwA.u },
            { test: 'welch-t', method: 'welch-satterthwaite', p: welch ? nullable(welch.p) : null, statistic: welch ? nullable(welch.t) : null, df: welch ? nullable(welch.df) : null },
            { test: 'paired-t', method: 'paired', p: pt ? nullable(pt.p) : null, statistic: pt ? nullable(pt.t) : null, df: pt ? pt.df : null },
            { test: 'wilcoxon-signed-rank', method: 'exact', p: wx ? nullable(wx.p) : null, statistic: wx ? wx.statistic : null },
          ],
        });
      }
    }
  }
  const out: Comparison[] = raws.map((r) => ({ ...r.c, pValues: [] }));
  const byFamily = groupBy(raws.map((r, i) => ({ r, i })), (e) => e.r.c.family);
  for (const [family, members] of byFamily) {
    for (let t = 0; t < members[0].r.raw.length; t++) {
      const raw = members.map((e) => e.r.raw[t].p);
      const corrected: Record<Correction, (number | null)[]> = { none: raw, holm: holm(raw), bh: benjaminiHochberg(raw) };
      members.forEach((e, j) => {
        const base = e.r.raw[t];
        for (const correction of ['none', 'holm', 'bh'] as const) {
          const p: PValue = { test: base.test, method: base.method, alternative: 'two-sided', correction, family, p: corrected[correction][j], statistic: base.statistic };
          if (base.df !== undefined) p.df = base.df;
          out[e.i].pValues.push(p);
        }
      });
    }
  }
  return out;
}

function numericSparsity(r: ResultRow): number | null {
  const s = pv(r, 'sparsity');
  return typeof s === 'number' && Number.isFinite(s) ? s : null;
}

function pruningErrorSummaries(
  pruned: ResultRow[],
  paramNames: string[],
  comparisons: Comparison[],
  metrics: string[],
  label: (k: Key, extra?: string) => string,
): PruningErrorSummary[] {
  const names = paramNames.filter((n) => n !== SEED && n !== 'sparsity' && n !== 'pruning');
  const out: PruningErrorSummary[] = [];
  for (const members of groupBy(pruned.filter((r) => numericSparsity(r) !== null), (r) => keyString(pick(r, names))).values()) {
    const key = pick(members[0], names);
    const sparsity = [...new Set(members.map((r) => numericSparsity(r) as number))].sort((a, b) => a - b);
    const methods = [...new Set(members.map((r) => pv(r, 'pruning')))].sort(compareLevels);
    for (const metric of metrics) {
      if (!members.some((r) => finite(r.metrics[metric]))) continue;
      const series = methods.map((method) => ({
        method,
        band: band(sparsity.map((s) => members.filter((r) => pv(r, 'pruning') === method && numericSparsity(r) === s).map((r) => r.metrics[metric]).filter(finite))),
      }));
      const p = sparsity.map((s) => {
        const c = comparisons.find((x) => x.axis === 'pruning' && x.metric === metric && x.context.sparsity === s && keyString(pickKey(x.context, names)) === keyString(key));
        return c?.pValues.find((q) => q.method === 'asymptotic-continuity' && q.correction === 'none')?.p ?? null;
      });
      out.push({ key, label: label(key, `\u00b7 ${metric}`), metric, phase: key.phase ?? null, sparsity, series, p, stars: p.map(stars), starsFrom: MWU_STARS_FROM });
    }
  }
  return out;
}

function pickKey(k: Key, names: string[]): Key {
  const o: Key = {};
  for (const n of names) o[n] = k[n] === undefined ? null : k[n];
  return o;
}

/**
 * MST overlap curves (Fig. 3B). The random theory at each sparsity is the mean of the runs'
 * `mstRandomTheory` (the prune stage's expectation for the random pruner given that run's dense
 * matrix: its exact zeros and the fidelity, rnn/mst.ts `randomOverlapTheory`). Rows without it
 * (results of older code) get the zero-blind formula of their fidelity, with a note.
 */
function mstSummaries(pruned: ResultRow[], paramNames: string[], label: (k: Key, extra?: string) => string, sweepFidelity: string, notes: string[]): MstSummary[] {
  let rows = pruned.filter((r) => finite(r.metrics.mstOverlap) && numericSparsity(r) !== null);
  // The mask (and so the overlap) is the same after fine-tuning: prefer the 'pruned' rows.
  if (rows.some((r) => phaseOf(r) === 'pruned')) rows = rows.filter((r) => phaseOf(r) === 'pruned');
  const names = paramNames.filter((n) => n !== SEED && n !== 'sparsity' && n !== 'phase');
  const out: MstSummary[] = [];
  for (const members of groupBy(rows, (r) => keyString(pick(r, names))).values()) {
    const key = pick(members[0], names);
    const sparsity = [...new Set(members.map((r) => numericSparsity(r) as number))].sort((a, b) => a - b);
    const at = (s: number): ResultRow[] => members.filter((r) => numericSparsity(r) === s);
    const meanOf = (metric: string): (number | null)[] | null =>
      members.some((r) => finite(r.metrics[metric]))
        ? sparsity.map((s) => {
            const v = at(s).map((r) => r.metrics[metric]).filter(finite);
            return v.length ? mean(v) : null;
          })
        : null;
    out.push({
      key,
      label: label(key),
      method: key.pruning ?? null,
      sparsity,
      overlap: band(sparsity.map((s) => at(s).map((r) => r.metrics.mstOverlap as number))),
      theoryRandom: sparsity.map((s) => {
        const v = at(s).map((r) => r.metrics.mstRandomTheory).filter(finite);
        if (v.length) return mean(v);
        const fidelity = key.fidelity ?? sweepFidelity;
        const N = key.nHidden;
        const formula = fidelity === 'paper-code' && typeof N === 'number' ? randomOverlapTheory(N, s, { fidelity: 'paper-code' }).fraction : 1 - s;
        notes.push(`no per-run mstRandomTheory for ${label(key)} at sparsity ${s}: random theory ${formula} from the ${fidelity === 'paper-code' && typeof N === 'number' ? 'authors\u2019 int((1 \u2212 s)N\u00b2)/N\u00b2' : 'zero-blind 1 \u2212 s'} formula`);
        return formula;
      }),
      lowerBoundFormula: meanOf('mstLowerBoundFormula'),
      lowerBoundRenormalised: meanOf('mstLowerBoundRenormalised'),
    });
  }
  return out;
}

function curveSummary(which: 'dense' | 'finetune', key: Key, label: string, runs: CurvePoint[][]): CurveSummary {
  const epochs = [...new Set(runs.flatMap((c) => c.map((p) => p.epoch)))].sort((a, b) => a - b);
  const at = (field: 'trainLoss' | 'testLoss' | 'testAccuracy'): number[][] =>
    epochs.map((e) => runs.map((c) => c.find((p) => p.epoch === e)?.[field]).filter(finite));
  const acc = at('testAccuracy');
  return {
    which,
    key,
    label,
    epochs,
    trainLoss: band(at('trainLoss')),
    testLoss: band(at('testLoss')),
    testAccuracy: acc.some((v) => v.length) ? band(acc) : null,
  };
}

function defaultHistogramSparsities(levels: number[]): number[] {
  if (levels.length <= 3) return levels;
  const mid = levels.reduce((best, s) => (Math.abs(s - 0.381) < Math.abs(best - 0.381) ? s : best), levels[0]);
  return [...new Set([levels[0], mid, levels[levels.length - 1]])];
}

/** Shared-edge density histograms of several pooled samples (bins equal-width over their union). */
function sharedHistogram(samples: { label: string; values: Float64Array | Float32Array }[], bins: number): { edges: number[]; series: HistogramSummary['series'] } | null {
  const nonEmpty = samples.filter((s) => s.values.length > 0);
  if (!nonEmpty.length) return null;
  const [lo, hi] = finiteRange(...nonEmpty.map((s) => s.values));
  const edges = equalEdges(lo, hi, bins);
  return {
    edges: Array.from(edges),
    series: nonEmpty.map((s) => ({ label: s.label, density: Array.from(density({ edges, counts: histogramCounts(s.values, edges) })), n: s.values.length })),
  };
}

function concat(arrays: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

async function weightSummaries(
  input: AggregateInput,
  dense: ResultRow[],
  pruned: ResultRow[],
  paramNames: string[],
  axes: Record<string, ParamValue[]>,
  opts: AggregateOptions,
  label: (k: Key, extra?: string) => string,
  notes: string[],
): Promise<{ kl: KlSummary[]; histograms: HistogramSummary[] }> {
  const kl: KlSummary[] = [];
  const histograms: HistogramSummary[] = [];
  const bins = opts.histogramBins ?? 100;
  const klBins = opts.kl?.bins ?? KL_DEFAULT_BINS;
  const klEps = opts.kl?.epsilon ?? KL_DEFAULT_EPSILON;
  const load = async (r: ResultRow): Promise<LoadedWeights | null> => {
    const w = await input.loadWeights(r);
    if (!w) notes.push(`no weights for stage ${r.stageId}`);
    else if (w.w.length !== w.n * w.n) throw new AggregateError(`loadWeights(${r.stageId}).w must have n*n = ${w.n * w.n} entries, got ${w.w.length}`);
    return w;
  };

  // Dense: one context per combination of parameters other than seed and rule.
  const ctxNames = paramNames.filter((n) => n !== SEED && n !== 'rule');
  for (const members of groupBy(dense, (r) => keyString(pick(r, ctxNames))).values()) {
    const key = pick(members[0], ctxNames);
    const rules = [...new Set(members.map((r) => pv(r, 'rule')))].sort(compareLevels);
    const byRule = new Map<ParamValue, Float32Array[]>();
    for (const rule of rules) {
      const ws: Float32Array[] = [];
      for (const r of members.filter((m) => pv(m, 'rule') === rule)) {
        const w = await load(r);
        if (w) ws.push(w.w);
      }
      if (ws.length) byRule.set(rule, ws);
    }
    const h = sharedHistogram([...byRule].map(([rule, ws]) => ({ label: String(rule), values: concat(ws) })), bins);
    if (h) histograms.push({ kind: 'dense', key, label: label(key), ...h });
    const ref = byRule.get('conventional');
    if (!ref) continue;
    for (const [rule, ws] of byRule) {
      if (rule === 'conventional') continue;
      for (const mode of ['paper-code', 'corrected'] as KlMode[]) {
        const v = pairwiseKl(ref, ws, mode, { bins: klBins, epsilon: klEps });
        const allFinite = v.every((x) => Number.isFinite(x));
        kl.push({
          key,
          label: label(key),
          rule,
          reference: 'conventional',
          mode,
          bins: klBins,
          epsilon: klEps,
          direction: 'KL(conventional \u2016 rule), mean over all run pairs',
          nReference: ref.length,
          nRule: ws.length,
          nPairs: v.length,
          mean: nullable(mean(v)),
          pairSd: v.length >= 2 ? nullable(Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1))) : null,
          bootstrapSe: allFinite && ref.length * ws.length >= 2 ? nullable(pairMeanBootstrapSe(v, ref.length, ws.length)) : null,
        });
      }
    }
  }

  // After pruning (no retraining): non-zero weights per method, at selected sparsities.
  const levels = (axes.sparsity ?? []).filter((s): s is number => typeof s === 'number');
  const chosen = opts.histogramSparsities ?? defaultHistogramSparsities(levels);
  const prunedOnly = pruned.filter((r) => phaseOf(r) === 'pruned' && chosen.includes(numericSparsity(r) ?? NaN));
  const pNames = paramNames.filter((n) => n !== SEED && n !== 'pruning');
  for (const members of groupBy(prunedOnly, (r) => keyString(pick(r, pNames))).values()) {
    const key = pick(members[0], pNames);
    const samples: { label: string; values: Float64Array }[] = [];
    for (const method of [...new Set(members.map((r) => pv(r, 'pruning')))].sort(compareLevels)) {
      const ws: Float64Array[] = [];
      for (const r of members.filter((m) => pv(m, 'pruning') === method)) {
        const w = await load(r);
        if (w) ws.push(nonZero(w.w));
      }
      if (ws.length) samples.push({ label: String(method), values: concat(ws) });
    }
    const h = sharedHistogram(samples, bins);
    if (h) histograms.push({ kind: 'pruned-nonzero', key, label: label(key), ...h });
  }
  return { kl, histograms };
}
