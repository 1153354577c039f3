import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, AggregateError } from './aggregate.js';
import { mannWhitneyU, pairedT, mean } from './stats.js';
import { syntheticInput } from './synthetic.js';
import type { Comparison, Summary } from './types.js';

const input = syntheticInput();
const summaryPromise = aggregate(input);

function pOf(c: Comparison, method: string, correction = 'none'): number | null {
  const p = c.pValues.find((x) => x.method === method && x.correction === correction);
  assert.ok(p, `p-value ${method}/${correction} present`);
  return p.p;
}

function find(s: Summary, pred: (c: Comparison) => boolean): Comparison {
  const c = s.comparisons.filter(pred);
  assert.equal(c.length, 1, 'exactly one matching comparison');
  return c[0];
}

test('status counts, failures and axes', async () => {
  const s = await summaryPromise;
  // 2 tasks × (3 rules × 5 dense + 2 methods × 3 sparsities × 2 phases × 5) + 1 failed + 1 pending
  assert.deepEqual(s.statusCounts, { succeeded: 150, failed: 1, pending: 1, total: 152 });
  assert.equal(s.failures.length, 2);
  assert.equal(s.failures.find((f) => f.status === 'failed')?.reason, 'NaN loss at epoch 3 (<b>bold</b>)');
  assert.deepEqual(s.axes.sparsity, [null, 0.2, 0.381, 0.6]);
  assert.deepEqual(s.axes.rule, ['conventional', 'dale', 'rectified']);
});

test('groups: every param but seed, with mean/SD/SEM/CI over the seeds', async () => {
  const s = await summaryPromise;
  assert.ok(!s.groupBy.includes('seed'));
  assert.equal(s.groups.length, 2 * 3 + 2 * 2 * 3 * 2);
  const g = s.groups.find((x) => x.key.task === 'flipflop' && x.key.rule === 'dale' && x.key.phase === 'dense');
  assert.ok(g);
  const values = input.rows.filter((r) => r.params.task === 'flipflop' && r.params.rule === 'dale' && r.params.phase === 'dense').map((r) => r.metrics.testLoss as number);
  assert.equal(g.metrics.testLoss.n, 5);
  assert.ok(Math.abs(g.metrics.testLoss.mean! - mean(values)) < 1e-15);
  assert.ok(g.metrics.testLoss.ci95![0] < g.metrics.testLoss.mean! && g.metrics.testLoss.mean! < g.metrics.testLoss.ci95![1]);
  const withFailed = s.groups.find((x) => x.key.task === 'flipflop' && x.key.pruning === 'random' && x.key.sparsity === 0.2 && x.key.phase === 'pruned');
  assert.deepEqual(withFailed?.counts, { succeeded: 5, failed: 1, pending: 0 });
  // custom grouping
  const byTask = await aggregate(input, { groupBy: ['task'] });
  assert.deepEqual(byTask.groups.map((x) => x.key), [{ task: 'flipflop' }, { task: 'smnist' }]);
});

test('random vs top-prob: planted difference significant, null level not; corrections within the sparsity family', async () => {
  const s = await summaryPromise;
  const pr = s.comparisons.filter((c) => c.axis === 'pruning');
  // 2 tasks × 3 sparsities × 2 phases × (testLoss, mstOverlap) + smnist testAccuracy (3 × 2)
  assert.equal(pr.length, 2 * 3 * 2 * 2 + 3 * 2);
  const at = (sp: number): Comparison => find(s, (c) => c.axis === 'pruning' && c.metric === 'testLoss' && c.context.task === 'flipflop' && c.context.phase === 'pruned' && c.context.sparsity === sp);
  const planted = at(0.6);
  assert.equal(planted.a, 'random');
  assert.equal(planted.b, 'top-prob');
  assert.ok(Math.abs(pOf(planted, 'asymptotic-continuity')! - 0.012185780355344813) < 1e-12);
  assert.ok(Math.abs(pOf(planted, 'exact')! - 2 / 252) < 1e-12);
  assert.ok(pOf(planted, 'welch-satterthwaite')! < 0.001);
  assert.equal(planted.effect.rankBiserial, 1);
  assert.ok(planted.effect.cohensD! > 0 && planted.effect.hedgesG! < planted.effect.cohensD!);
  const nullLevel = at(0.2);
  assert.ok(pOf(nullLevel, 'asymptotic-continuity')! > 0.05);
  // the values really are the seeds' values
  const xs = input.rows.filter((r) => r.status === 'succeeded' && r.params.task === 'flipflop' && r.params.phase === 'pruned' && r.params.sparsity === 0.2);
  const ref = mannWhitneyU(xs.filter((r) => r.params.pruning === 'random').map((r) => r.metrics.testLoss!), xs.filter((r) => r.params.pruning === 'top-prob').map((r) => r.metrics.testLoss!));
  assert.equal(pOf(nullLevel, 'asymptotic-continuity'), ref.p);
  // family: the three sparsity levels of (flipflop, pruned, testLoss)
  const fam = pr.filter((c) => c.family === planted.family);
  assert.equal(fam.length, 3);
  assert.match(planted.family, /across sparsity/);
  const raw = fam.map((c) => pOf(c, 'asymptotic-continuity')!);
  const sorted = [...raw].sort((a, b) => a - b);
  const rank = sorted.indexOf(pOf(planted, 'asymptotic-continuity')!);
  const holm = pOf(planted, 'asymptotic-continuity', 'holm')!;
  assert.ok(holm >= pOf(planted, 'asymptotic-continuity')! * (3 - rank) - 1e-15);
  assert.ok(pOf(planted, 'asymptotic-continuity', 'bh')! <= holm);
  for (const p of planted.pValues) {
    assert.equal(p.alternative, 'two-sided');
    assert.equal(p.family, planted.family);
    assert.ok(['none', 'holm', 'bh'].includes(p.correction));
  }
  assert.equal(planted.pValues.length, 15);
  // Paired by seed: random and top-prob prune the same dense model of each seed.
  assert.equal(planted.nPairs, 5);
  const seedsOf = (m: string): Map<unknown, number> => new Map(xs.filter((r) => r.params.pruning === m).map((r) => [r.params.seed, r.metrics.testLoss!]));
  const ra = seedsOf('random');
  const tp = seedsOf('top-prob');
  const keys = [...ra.keys()].filter((k) => tp.has(k));
  const refPaired = pairedT(keys.map((k) => ra.get(k)!), keys.map((k) => tp.get(k)!));
  const pairedNull = nullLevel.pValues.find((p) => p.test === 'paired-t' && p.correction === 'none')!;
  assert.equal(pairedNull.p, refPaired.p);
  assert.equal(pairedNull.df, 4);
  const wx = planted.pValues.find((p) => p.test === 'wilcoxon-signed-rank' && p.correction === 'none')!;
  assert.equal(wx.method, 'exact');
  assert.equal(wx.p, 0.0625); // all five pairs favour top-prob: the smallest exact two-sided p for n = 5
});

test('minimum p over sparsity as the authors quote it', async () => {
  const s = await summaryPromise;
  const m = s.minP.find((x) => x.family.includes('flipflop') && x.family.includes('phase=pruned') && x.metric === 'testLoss' && x.method === 'asymptotic-continuity');
  assert.ok(m);
  assert.equal(m.nLevels, 3);
  assert.equal(m.p!.toFixed(3), '0.012');
  assert.ok(m.at!.sparsity === 0.381 || m.at!.sparsity === 0.6);
  assert.equal(m.correction, 'none');
});

test('rule vs rule per task on dense rows, family over the rule pairs', async () => {
  const s = await summaryPromise;
  const rules = s.comparisons.filter((c) => c.axis === 'rule');
  // 2 tasks × 3 pairs × testLoss + smnist × 3 pairs × testAccuracy
  assert.equal(rules.length, 2 * 3 + 3);
  const dc = find(s, (c) => c.axis === 'rule' && c.a === 'dale' && c.b === 'conventional' && c.metric === 'testLoss' && c.context.task === 'flipflop');
  assert.equal(dc.context.phase, 'dense');
  assert.equal(pOf(dc, 'asymptotic-continuity')!.toFixed(4), '0.0122');
  assert.equal(dc.effect.rankBiserial, -1); // dale has the smaller loss
  assert.equal(rules.filter((c) => c.family === dc.family).length, 3);
  assert.ok(Math.abs(pOf(dc, 'asymptotic-continuity', 'holm')! - 3 * 0.012185780355344813) < 1e-12);
});

test('learning curves with mean ± SEM bands', async () => {
  const s = await summaryPromise;
  const dense = s.curves.filter((c) => c.which === 'dense');
  const ft = s.curves.filter((c) => c.which === 'finetune');
  assert.equal(dense.length, 6);
  assert.equal(ft.length, 2 * 2 * 3);
  const c = dense.find((x) => x.key.task === 'smnist' && x.key.rule === 'dale');
  assert.ok(c);
  assert.deepEqual(c.epochs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(c.testLoss.n, Array(10).fill(5));
  assert.ok(c.testLoss.mean[0]! > c.testLoss.mean[9]!);
  assert.ok(c.testLoss.sem.every((v) => v !== null && v > 0));
  assert.ok(c.testAccuracy);
  assert.equal(dense.find((x) => x.key.task === 'flipflop')?.testAccuracy, null);
});

test('MST overlap curves with the random theory and the top-prob lower bound', async () => {
  const s = await summaryPromise;
  assert.equal(s.mst.length, 4);
  const rnd = s.mst.find((m) => m.method === 'random' && m.key.task === 'flipflop');
  const top = s.mst.find((m) => m.method === 'top-prob' && m.key.task === 'flipflop');
  assert.ok(rnd && top);
  assert.deepEqual(rnd.sparsity, [0.2, 0.381, 0.6]);
  // The random theory is the mean of the runs' mstRandomTheory (exact zeros counted), not 1 - s.
  const perRun = (sp: number): number[] => input.rows.filter((r) => r.status === 'succeeded' && r.params.task === 'flipflop' && r.params.pruning === 'random' && r.params.phase === 'pruned' && r.params.sparsity === sp).map((r) => r.metrics.mstRandomTheory as number);
  rnd.sparsity.forEach((sp, i) => assert.ok(Math.abs(rnd.theoryRandom[i]! - mean(perRun(sp))) < 1e-12, `s = ${sp}: ${rnd.theoryRandom[i]} vs ${mean(perRun(sp))}`));
  assert.ok(rnd.theoryRandom[1]! > 0.619 + 0.01);
  // Both top-prob lower bounds, each named: the printed kappa |w_(k)| and the renormalised one.
  assert.equal(rnd.lowerBoundFormula, null);
  assert.equal(rnd.lowerBoundRenormalised, null);
  top.sparsity.forEach((sp, i) => {
    assert.ok(Math.abs(top.lowerBoundRenormalised![i]! - (1 - 0.5 * sp)) < 1e-12);
    assert.ok(Math.abs(top.lowerBoundFormula![i]! - 1.1 * (1 - 0.5 * sp)) < 1e-12);
  });
  assert.ok(!('lowerBound' in top), 'no unnamed bound in summary.json');
  assert.ok(top.overlap.mean[2]! > rnd.overlap.mean[2]!);
  assert.deepEqual(top.overlap.n, [5, 5, 5]);
});

test('MST random theory without per-run values: the fidelity\u2019s formula (paper-code int((1 - s) N²) / N²), with a note', async () => {
  const strip = (fidelity: string) => ({
    ...input,
    rows: input.rows.map((r) => {
      const metrics = { ...r.metrics };
      delete metrics.mstRandomTheory;
      return { ...r, params: { ...r.params, fidelity, nHidden: 10 }, metrics };
    }),
  });
  const pc = await aggregate(strip('paper-code'));
  const m = pc.mst.find((x) => x.method === 'random' && x.key.task === 'flipflop')!;
  // numpy: int((1 - 0.381) * 100) = 61, int((1 - 0.6) * 100) = 40, int((1 - 0.2) * 100) = 80
  assert.deepEqual(m.theoryRandom, [0.8, 0.61, 0.4]);
  assert.ok(pc.notes.some((n) => /mstRandomTheory/.test(n)));
  const co = await aggregate(strip('corrected'));
  const c = co.mst.find((x) => x.method === 'random' && x.key.task === 'flipflop')!;
  c.sparsity.forEach((sp, i) => assert.ok(Math.abs(c.theoryRandom[i]! - (1 - sp)) < 1e-12));
});

test('KL (both fidelity modes) and weight histograms', async () => {
  const s = await summaryPromise;
  assert.equal(s.kl.length, 2 * 2 * 2);
  for (const k of s.kl) {
    assert.equal(k.nPairs, 25);
    // Uncertainty of the pair mean: a bootstrap over the 5 + 5 runs, not SD / sqrt(25 overlapping pairs).
    assert.ok(!('sem' in k) && !('sd' in k), 'no SE that treats the pairs as independent');
    assert.equal(k.nReference, 5);
    assert.equal(k.nRule, 5);
    assert.ok(k.pairSd! > 0);
    assert.ok(k.bootstrapSe! > k.pairSd! / Math.sqrt(k.nPairs), `${k.bootstrapSe} vs naive ${k.pairSd! / 5}`);
    assert.equal(k.reference, 'conventional');
    assert.ok(k.mean! > 0);
    assert.equal(k.bins, 100);
  }
  const modes = new Set(s.kl.map((k) => k.mode));
  assert.deepEqual([...modes].sort(), ['corrected', 'paper-code']);
  const dense = s.histograms.filter((h) => h.kind === 'dense');
  assert.equal(dense.length, 2);
  assert.deepEqual(dense[0].series.map((x) => x.label), ['conventional', 'dale', 'rectified']);
  assert.equal(dense[0].edges.length, 101);
  assert.equal(dense[0].series[0].n, 5 * 16 * 16);
  const pruned = s.histograms.filter((h) => h.kind === 'pruned-nonzero');
  assert.equal(pruned.length, 2 * 3);
  const h = pruned.find((x) => x.key.task === 'flipflop' && x.key.sparsity === 0.6);
  assert.ok(h);
  assert.deepEqual(h.series.map((x) => x.label), ['random', 'top-prob']);
  for (const x of h.series) assert.ok(x.n < 5 * 256 && x.n > 0);
  const only = await aggregate(input, { histogramSparsities: [0.6] });
  assert.equal(only.histograms.filter((x) => x.kind === 'pruned-nonzero').length, 2);
});

test('summary is JSON-serialisable without loss, and bad rows are refused', async () => {
  const s = await summaryPromise;
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  await assert.rejects(aggregate({ ...input, rows: [{ ...input.rows[0], status: 'done' as 'failed' }] }), AggregateError);
  const empty = await aggregate({ ...input, rows: [] });
  assert.equal(empty.comparisons.length, 0);
  assert.equal(empty.statusCounts.total, 0);
});
