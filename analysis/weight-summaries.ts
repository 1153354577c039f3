/**
 * Summaries that read the trained weights: weight histograms on shared edges (dense per rule,
 * Fig. 2B; non-zero weights after pruning per method, Fig. 3A) and the KL divergences of each
 * rule's weight distribution from conventional training's, in both fidelity modes.
 */
import { density, finiteRange, histogramCounts, equalEdges, nonZero } from './histogram.js';
import { KL_DEFAULT_BINS, KL_DEFAULT_EPSILON, pairMeanBootstrapSe, pairwiseKl } from './kl.js';
import { mean } from './stats.js';
import { AggregateError, SEED, compareLevels, groupBy, keyString, nullable, numericSparsity, phaseOf, pick, pv, type KeyLabel } from './row-groups.js';
import type { AggregateInput, HistogramSummary, KlMode, KlSummary, LoadedWeights, ParamValue, ResultRow } from './types.js';

/** The weight-summary options of {@link aggregate} (analysis/aggregate.ts). */
export interface WeightSummaryOptions {
  /** Sparsity levels at which non-zero weight histograms are drawn after pruning.
   *  @default all levels if at most 3, else the lowest, the one closest to 0.381 (the paper's keep fraction 0.619) and the highest */
  histogramSparsities?: number[];
  /** Bins of the report's weight histograms. @default 100 */
  histogramBins?: number;
  /** KL histogram settings (both fidelity modes are always computed). */
  kl?: { bins?: number; epsilon?: number };
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

/**
 * Weight histograms and KL divergences of the succeeded `dense` and `pruned` rows, loading each
 * run's weights once per use through `input.loadWeights` (missing weights are noted, not fatal).
 * @throws AggregateError when loaded weights are not n × n
 */
export async function weightSummaries(
  input: AggregateInput,
  dense: ResultRow[],
  pruned: ResultRow[],
  paramNames: string[],
  axes: Record<string, ParamValue[]>,
  opts: WeightSummaryOptions,
  label: KeyLabel,
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
