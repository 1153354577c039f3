/**
 * Reference values were computed independently with Python 3.11.7, scipy 1.17.1, numpy 2.4.6,
 * statsmodels 0.15.0 (pip install scipy numpy statsmodels), by the script reproduced in comments
 * below, and pasted here:
 *
 *   st.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic', use_continuity=True)
 *   st.mannwhitneyu(x, y, alternative='two-sided', method='exact')
 *   st.permutation_test((x, y), lambda a, b, axis: st.mannwhitneyu(a, b, axis=axis).statistic,
 *       permutation_type='independent', n_resamples=np.inf, alternative='two-sided', vectorized=True)
 *   st.ttest_ind(x, y, equal_var=False)                      -> statistic, pvalue, df
 *   st.t.interval(0.95, n - 1, loc=mean, scale=st.sem(x))    (and np.std(x, ddof=1), st.sem(x))
 *   multipletests(p, method='holm' | 'fdr_bh')[1]            (statsmodels.stats.multitest)
 *   d = (x̄ − ȳ)/sp (pooled), g = d·(1 − 3/(4(n1+n2−2)−1)), r = 2U/(n1 n2) − 1 with numpy/scipy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  benjaminiHochberg,
  cohensD,
  describe,
  hedgesG,
  holm,
  mannWhitneyU,
  midranks,
  MWU_EXACT_MAX_N,
  rankBiserial,
  sd,
  sem,
  stars,
  StatsError,
  tConfidenceInterval,
  welchT,
  pairedT,
  wilcoxonSignedRank,
} from './stats.js';

function close(actual: number, expected: number, rel = 1e-9, what = ''): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

interface Case {
  x: number[];
  y: number[];
  u: number;
  asymCont: number;
  asymNoCont: number;
  scipyExact: number;
  perm: number;
  welch: [t: number, p: number, df: number];
}

const CASES: Record<string, Case> = {
  // Completely separated 5 vs 5: the authors' p = 0.012 (flip-flop, MNIST).
  separated: {
    x: [0.41, 0.43, 0.4, 0.45, 0.42],
    y: [0.001, 0.002, 0.0015, 0.0018, 0.0022],
    u: 25,
    asymCont: 0.012185780355344813,
    asymNoCont: 0.009023438818080326,
    scipyExact: 0.007936507936507936,
    perm: 0.007936507936507936,
    welch: [48.844363424722566, 1.0372494253382315e-6, 4.00475675507504],
  },
  // One swapped pair, 5 vs 5: the authors' p = 0.022 (wave).
  oneSwap: {
    x: [1, 2, 3, 4, 6],
    y: [5, 7, 8, 9, 10],
    u: 1,
    asymCont: 0.02157174794772092,
    asymNoCont: 0.016293603621028527,
    scipyExact: 0.015873015873015872,
    perm: 0.015873015873015872,
    welch: [-3.7811767080232177, 0.005379107766972862, 8.0],
  },
  ties: {
    x: [1, 2, 2, 3, 3, 3, 5],
    y: [2, 3, 4, 4, 5, 6],
    u: 10,
    asymCont: 0.12500621852933796,
    asymNoCont: 0.10802203343404657,
    scipyExact: 0.13752913752913754, // scipy 'exact' ignores ties; ours is the permutation p below
    perm: 0.13286713286713286,
    welch: [-1.7214571252710131, 0.1154160652647345, 10.161704700015115],
  },
  unequal: {
    x: [0.3, 1.2, -0.5, 2.2],
    y: [1.1, 2.5, 3.1, 0.9, 4.0, 2.8, 1.7],
    u: 5,
    asymCont: 0.10819724752370144,
    asymNoCont: 0.08897301170181333,
    scipyExact: 0.10909090909090909,
    perm: 0.10909090909090909,
    welch: [-2.082510928390422, 0.0811240522494011, 6.17558246763635],
  },
  larger: {
    x: [0.12, 0.55, 0.31, 0.87, 0.44, 0.29, 0.63, 0.71, 0.05, 0.38, 0.92, 0.17],
    y: [0.48, 0.66, 0.93, 0.81, 0.57, 1.02, 0.74, 0.69, 0.88, 0.99],
    u: 20,
    asymCont: 0.009199422653342403,
    asymNoCont: 0.008351423441556883,
    scipyExact: 0.00714455822814956,
    perm: 0.00714455822814956,
    welch: [-3.21878381583791, 0.004574426872947272, 18.761858106035447],
  },
};

test('mannWhitneyU asymptotic (+/- continuity) matches scipy, including ties', () => {
  for (const [name, c] of Object.entries(CASES)) {
    const r = mannWhitneyU(c.x, c.y, 'asymptotic-continuity');
    assert.equal(r.u, c.u, `${name} U`);
    close(r.p, c.asymCont, 1e-9, `${name} asymptotic-continuity`);
    close(mannWhitneyU(c.x, c.y, 'asymptotic').p, c.asymNoCont, 1e-9, `${name} asymptotic`);
    assert.equal(r.ties, name === 'ties');
  }
  // the authors' quoted values
  assert.equal(mannWhitneyU(CASES.separated.x, CASES.separated.y).p.toFixed(3), '0.012');
  assert.equal(mannWhitneyU(CASES.oneSwap.x, CASES.oneSwap.y).p.toFixed(3), '0.022');
  // symmetric in the order of the samples (U becomes n1 n2 − U)
  const rev = mannWhitneyU(CASES.unequal.y, CASES.unequal.x);
  assert.equal(rev.u, 4 * 7 - 5);
  close(rev.p, CASES.unequal.asymCont, 1e-12, 'reversed');
});

test('mannWhitneyU exact equals scipy exact without ties and the exhaustive permutation p with ties', () => {
  for (const [name, c] of Object.entries(CASES)) {
    const r = mannWhitneyU(c.x, c.y, 'exact');
    close(r.p, c.perm, 1e-9, `${name} exact`);
    if (name !== 'ties') close(r.p, c.scipyExact, 1e-9, `${name} scipy exact`);
  }
  assert.notEqual(mannWhitneyU(CASES.ties.x, CASES.ties.y, 'exact').p.toFixed(6), CASES.ties.scipyExact.toFixed(6));
});

test('mannWhitneyU edge cases: all tied gives p = 1, bad input and oversize exact are refused', () => {
  assert.equal(mannWhitneyU([2, 2, 2], [2, 2, 2]).p, 1); // scipy: 1.0 (continuity)
  assert.equal(mannWhitneyU([2, 2, 2], [2, 2, 2], 'exact').p, 1);
  assert.throws(() => mannWhitneyU([1, NaN], [2, 3]), StatsError);
  assert.throws(() => mannWhitneyU([], [2, 3]), StatsError);
  const big = Array.from({ length: MWU_EXACT_MAX_N }, (_, i) => i);
  assert.throws(() => mannWhitneyU(big, [1.5], 'exact'), /n_x \+ n_y <= 100/);
});

test('midranks averages tied ranks', () => {
  const { ranks, tieSizes } = midranks([3, 1, 3, 2]);
  assert.deepEqual(Array.from(ranks), [3.5, 1, 3.5, 2]);
  assert.deepEqual(tieSizes, [1, 1, 2]);
});

test('welchT matches scipy ttest_ind(equal_var=False)', () => {
  for (const [name, c] of Object.entries(CASES)) {
    const r = welchT(c.x, c.y);
    close(r.t, c.welch[0], 1e-9, `${name} t`);
    close(r.p, c.welch[1], 1e-7, `${name} p`);
    close(r.df, c.welch[2], 1e-9, `${name} df`);
  }
  assert.ok(Number.isNaN(welchT([1, 1], [1, 1]).p));
  assert.throws(() => welchT([1], [1, 2]), StatsError);
});

test('describe: mean, sd (n-1), sem and t-based 95% CI match scipy', () => {
  const a = describe([0.41, 0.43, 0.4, 0.45, 0.42]);
  close(a.mean!, 0.422, 1e-12, 'mean');
  close(a.sd!, 0.019235384061671346, 1e-12, 'sd');
  close(a.sem!, 0.008602325267042627, 1e-12, 'sem');
  close(a.ci95![0], 0.39811611611900016, 1e-9, 'ci lo');
  close(a.ci95![1], 0.4458838838809998, 1e-9, 'ci hi');
  const [lo, hi] = tConfidenceInterval([0.3, 1.2, -0.5, 2.2]);
  close(lo, -1.0511153352599916, 1e-9, 'ci lo 2');
  close(hi, 2.6511153352599917, 1e-9, 'ci hi 2');
  close(sd([0.3, 1.2, -0.5, 2.2]), 1.1633285577743433, 1e-12, 'sd 2');
  close(sem([0.3, 1.2, -0.5, 2.2]), 0.5816642788871716, 1e-12, 'sem 2');
  const one = describe([3]);
  assert.deepEqual(one, { n: 1, mean: 3, sd: null, sem: null, ci95: null });
  assert.equal(JSON.stringify(describe([])), '{"n":0,"mean":null,"sd":null,"sem":null,"ci95":null}');
});

test('effect sizes: Cohen d, Hedges g, rank-biserial r', () => {
  const u = CASES.unequal;
  close(cohensD(u.x, u.y), -1.3189733589612356, 1e-12, 'd');
  close(hedgesG(u.x, u.y), -1.2059184996217012, 1e-12, 'g');
  close(rankBiserial(u.x, u.y), -0.6428571428571428, 1e-12, 'r');
  const s = CASES.separated;
  close(cohensD(s.x, s.y), 30.891887856629133, 1e-9, 'd sep');
  close(hedgesG(s.x, s.y), 27.902350322116636, 1e-9, 'g sep');
  assert.equal(rankBiserial(s.x, s.y), 1);
  assert.equal(rankBiserial(s.y, s.x), -1);
});

test('Holm and BH match statsmodels multipletests; nulls stay out of the family', () => {
  const p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.02];
  const h = holm(p);
  [0.05, 0.09, 0.09, 0.03, 0.5, 0.08].forEach((e, i) => close(h[i]!, e, 1e-12, `holm ${i}`));
  const b = benjaminiHochberg(p);
  [0.03, 0.048, 0.045, 0.03, 0.5, 0.04].forEach((e, i) => close(b[i]!, e, 1e-12, `bh ${i}`));
  assert.deepEqual(holm([0.01, null, 0.04]), [0.02, null, 0.04]);
  assert.deepEqual(benjaminiHochberg([0.01, null, 0.04]), [0.02, null, 0.04]);
  assert.deepEqual(holm([0.9, 0.8]), [1, 1]);
});

test('stars thresholds', () => {
  assert.deepEqual([0.0005, 0.005, 0.012, 0.05, null].map(stars), ['***', '**', '*', 'ns', 'ns']);
});

// Paired tests. Reference values from scipy 1.17.1:
//   stats.ttest_rel(x, y); stats.wilcoxon(x, y, method='exact')
test('paired t-test and exact Wilcoxon signed-rank match scipy', () => {
  const x = [0.418, 0.51, 0.39, 0.47, 0.44];
  const y = [0.0017, 0.02, 0.011, 0.05, 0.003];
  const t1 = pairedT(x, y);
  assert.ok(Math.abs(t1.t - 23.719598675610236) < 1e-9);
  assert.equal(t1.df, 4);
  assert.ok(Math.abs(t1.p - 1.87323926204005e-5) < 1e-12);
  const w1 = wilcoxonSignedRank(x, y);
  assert.equal(w1.statistic, 0);
  assert.equal(w1.p, 0.0625);

  const a = [1.21, 3.43, 2.27, 5.12, 0.71, 2.93, 3.35, 1.88];
  const b = [1.02, 3.91, 2.04, 4.03, 0.96, 2.41, 3.66, 1.79];
  const t2 = pairedT(a, b);
  assert.ok(Math.abs(t2.t - 0.7532451474573945) < 1e-9);
  assert.ok(Math.abs(t2.p - 0.47586807437028067) < 1e-9);
  const w2 = wilcoxonSignedRank(a, b);
  assert.equal(w2.statistic, 15);
  assert.ok(Math.abs(w2.p - 0.7421875) < 1e-12);

  // zero differences are dropped (zero_method 'wilcox'); nothing differs: NaN
  assert.equal(wilcoxonSignedRank([1, 2, 3], [1, 2, 3]).n, 0);
  assert.ok(Number.isNaN(wilcoxonSignedRank([1, 2, 3], [1, 2, 3]).p));
  assert.throws(() => pairedT([1, 2], [1]), StatsError);
});
