/**
 * Two-sample comparisons between levels of one axis (pruning methods, rules): per context and
 * metric, Mann-Whitney U (asymptotic with continuity correction, and exact), Welch's t, paired t
 * and exact Wilcoxon signed-rank over the seeds both levels share, effect sizes, and Holm / BH
 * within each family; and the minimum p over sparsity of each pruning family.
 */
import {
  benjaminiHochberg,
  cohensD,
  hedgesG,
  holm,
  mannWhitneyU,
  mean,
  MWU_EXACT_MAX_N,
  pairedT,
  WILCOXON_EXACT_MAX_N,
  wilcoxonSignedRank,
  rankBiserial,
  welchT,
} from './stats.js';
import { SEED, finite, groupBy, keyString, nullable, pick, pv, type Key, type KeyLabel } from './row-groups.js';
import type { Comparison, Correction, MinPSummary, ParamValue, PValue, ResultRow, TestMethod, TestName } from './types.js';

interface RawComparison {
  c: Omit<Comparison, 'pValues'>;
  raw: { test: TestName; method: TestMethod; p: number | null; statistic: number | null; df?: number | null }[];
}

/**
 * Compares two levels of `axis` for every combination of the other parameters (seed excepted).
 * A family is every comparison of one pair and metric that differs only in `familyAxis`
 * (e.g. sparsity), or, when `familyAxis` is null, every pair of one context and metric.
 */
export function compareAxis(
  rows: ResultRow[],
  paramNames: string[],
  axis: string,
  pairs: [string, string][],
  familyAxis: string | null,
  metrics: string[],
  label: KeyLabel,
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

/**
 * The minimum uncorrected p over the sparsity levels of each pruning family (as the authors
 * quote it), for Mann-Whitney (asymptotic+continuity and exact) and Welch, with where it occurs.
 */
export function minPOverSparsity(comparisons: Comparison[]): MinPSummary[] {
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
  return minP;
}
