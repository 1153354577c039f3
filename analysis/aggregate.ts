/**
 * Sweep aggregation: turns the rows of results.json (plus weights and learning curves loaded on
 * demand) into a JSON-serialisable {@link Summary}: per-group descriptive statistics, learning
 * curves with bands, two-sample comparisons with multiple-comparison corrections, MST-overlap
 * curves, KL divergences and weight histograms. Everything the report draws comes from here.
 */
import { scorecard } from './scorecard.js';
import { celltypeSummary } from './celltype-summary.js';
import { describe } from './stats.js';
import { AggregateError, SEED, compareLevels, finite, groupBy, keyString, phaseOf, pick, pv, type Key } from './row-groups.js';
import { compareAxis, minPOverSparsity } from './comparisons.js';
import { curveSummary, mstSummaries, pruningErrorSummaries } from './figure-summaries.js';
import { weightSummaries, type WeightSummaryOptions } from './weight-summaries.js';
import type { AggregateInput, Comparison, CurvePoint, CurveSummary, GroupSummary, ParamValue, ResultRow, Summary } from './types.js';

export { AggregateError };

/** Options of {@link aggregate}. */
export interface AggregateOptions extends WeightSummaryOptions {
  /** Parameters that define a group for descriptive statistics. @default every parameter except `seed` */
  groupBy?: string[];
  /** Metrics compared between levels (those present are used). @default ['testLoss', 'testAccuracy', 'mstOverlap'] */
  comparisonMetrics?: string[];
  /** Condition pairs [first, second] of the cell-type analysis. @default CELLTYPE_PAIRS (analysis/celltype-summary.ts) */
  celltypePairs?: readonly [string, string][];
}

const RULE_PAIRS: [string, string][] = [
  ['dale', 'conventional'],
  ['rectified', 'conventional'],
  ['dale', 'rectified'],
];
const PRUNING_METHODS = ['random', 'top-prob'];

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
  const minP = minPOverSparsity(comparisons);

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
