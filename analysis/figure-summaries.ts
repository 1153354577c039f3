/**
 * The per-figure summaries of pruned and trained runs: error after pruning vs sparsity per
 * method with the Mann-Whitney stars (Fig. 3C/3D), MST overlap vs sparsity with the random
 * pruner's theory (Fig. 3B), and learning curves with mean ± SEM bands (Fig. 2C, 3D).
 */
import { randomOverlapTheory } from '../rnn/mst.js';
import { mean, stars } from './stats.js';
import { SEED, band, compareLevels, finite, groupBy, keyString, numericSparsity, phaseOf, pick, pickKey, pv, type Key, type KeyLabel } from './row-groups.js';
import type { Comparison, CurvePoint, CurveSummary, MstSummary, PruningErrorSummary, ResultRow } from './types.js';

const MWU_STARS_FROM = 'Mann-Whitney U, two-sided, asymptotic with continuity correction, uncorrected (the authors\u2019 test)';

/**
 * Error after pruning vs sparsity (Fig. 3C; finetuned rows too, Fig. 3D): per context and metric, mean ± SEM
 * per pruning method and the uncorrected asymptotic Mann-Whitney p (and stars) of random vs top-prob at each sparsity.
 */
export function pruningErrorSummaries(
  pruned: ResultRow[],
  paramNames: string[],
  comparisons: Comparison[],
  metrics: string[],
  label: KeyLabel,
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

/**
 * MST overlap curves (Fig. 3B). The random theory at each sparsity is the mean of the runs'
 * `mstRandomTheory` (the prune stage's expectation for the random pruner given that run's dense
 * matrix: its exact zeros and the fidelity, rnn/mst.ts `randomOverlapTheory`). Rows without it
 * (results of older code) get the zero-blind formula of their fidelity, with a note.
 */
export function mstSummaries(pruned: ResultRow[], paramNames: string[], label: KeyLabel, sweepFidelity: string, notes: string[]): MstSummary[] {
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

/** Learning curve of `runs` (one list of epoch points per run): mean ± SEM per epoch of each loss and the accuracy. */
export function curveSummary(which: 'dense' | 'finetune', key: Key, label: string, runs: CurvePoint[][]): CurveSummary {
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
