import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from './aggregate.js';
import { MIN_RUNS, scorecard, scorecardMarkdown, type Scorecard } from './scorecard.js';
import { syntheticInput } from './synthetic.js';
import type { AggregateInput, ResultRow } from './types.js';

async function cardOf(input: AggregateInput): Promise<Scorecard> {
  const s = await aggregate(input);
  assert.ok(s.paperComparison, 'summary.json carries the paper comparison');
  assert.deepEqual(s.paperComparison, scorecard(s), 'the same card is rebuilt from the summary alone');
  return s.paperComparison;
}

function edit(input: AggregateInput, f: (r: ResultRow) => void): AggregateInput {
  for (const r of input.rows) f(r);
  return input;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('scorecard: numbers converted to the authors\u2019 units, beside SCIENCE.md §8', async () => {
  const input = syntheticInput({ withFailures: false });
  const card = await cardOf(input);
  const ff = card.numbers.find((n) => n.task === 'flipflop' && n.quantity === 'dense test loss, dale');
  assert.ok(ff);
  const raw = input.rows.filter((r) => r.params.task === 'flipflop' && r.params.rule === 'dale' && r.params.phase === 'dense').map((r) => r.metrics.testLoss as number);
  assert.ok(Math.abs(ff.ours.mean! - 5 * mean(raw)) < 1e-12, 'flip-flop loss = test-set mean × 5 test batches');
  assert.equal(ff.authors.mean, 0.0024);
  assert.equal(ff.authors.sd, 0.0015);
  assert.match(ff.units, /summed over 5 test batches/);
  const acc = card.numbers.find((n) => n.task === 'smnist' && n.quantity === 'dense test accuracy, conventional');
  assert.ok(acc && acc.ours.mean! > 96 && acc.ours.mean! < 97.5, 'accuracy in percent');
  assert.equal(acc.authors.mean, 96.85);
  const pr = card.numbers.filter((n) => /keep 0.619/.test(n.quantity) && n.task === 'flipflop');
  assert.deepEqual(pr.map((n) => n.authors.mean).sort(), [0.0017, 0.418], 'random and top-prob at keep 0.619 (sparsity 0.381)');
  assert.equal(card.numbers.filter((n) => n.task === 'wave').length, 0, 'no wave rows, no wave numbers');
});

test('scorecard: the paper\u2019s claims are reproduced on data that has the planted effects', async () => {
  const summary = await aggregate(syntheticInput({ withFailures: false }));
  const card = await cardOf(syntheticInput({ withFailures: false }));
  const verdicts = card.claims.map((c) => `${c.task}: ${c.claim}: ${c.verdict}`);
  for (const [task, claim] of [
    ['smnist', /Dale ≈ conventional ≫ rectified/],
    ['flipflop', /KL\(conventional ‖ rectified\)/],
    ['flipflop', /top-prob < random/],
    ['smnist', /top-prob < random/],
    ['flipflop', /MST overlap above/],
  ] as const) {
    const c = card.claims.find((x) => x.task === task && claim.test(x.claim));
    assert.ok(c, `${task} ${claim} checked: ${verdicts.join('\n')}`);
    assert.equal(c.verdict, 'reproduced', `${c.claim}: ${c.evidence}`);
  }
  const kl = card.claims.find((c) => c.task === 'flipflop' && /KL\(conventional ‖ rectified\)/.test(c.claim))!;
  const klIn = (mode: 'paper-code' | 'corrected', rule: string): number =>
    summary.kl.find((k) => k.mode === mode && k.rule === rule && k.key.task === 'flipflop')!.mean!;
  const num = (x: number): string => x.toPrecision(3);
  assert.match(kl.evidence, new RegExp(`^mean KL over run pairs \\(matched histograms[^)]*\\): rectified ${num(klIn('corrected', 'rectified'))}`), kl.evidence);
  assert.ok(kl.evidence.includes(`with the authors\u2019 histograms: each run\u2019s own 100 bin edges, density + 1e-7: rectified ${num(klIn('paper-code', 'rectified'))}, Dale ${num(klIn('paper-code', 'dale'))}`), `both histogram constructions shown: ${kl.evidence}`);
  const tp = card.claims.find((c) => c.task === 'flipflop' && /top-prob < random/.test(c.claim))!;
  assert.equal(tp.p?.[0].p?.toFixed(4), '0.0122', 'the authors\u2019 min p over levels (5 vs 5, separated)');
  assert.ok(tp.p!.some((p) => /exact/.test(p.test)) && tp.p!.some((p) => /Holm/.test(p.test)), 'exact and corrected p beside it');
  assert.match(tp.evidence, /lower at 2 of 3 sparsity levels/);
  assert.match(tp.evidence, /, where top-prob is lower/, 'the direction at the min-p level');
});

test('scorecard: reversed effects are "not reproduced"; too few runs are "not enough runs"', async () => {
  const reversed = edit(syntheticInput({ withFailures: false }), (r) => {
    if (r.params.task === 'smnist' && r.params.rule === 'rectified' && r.params.phase === 'dense') r.metrics.testAccuracy = 0.99;
    if (r.params.phase === 'pruned' && typeof r.metrics.testLoss === 'number') r.metrics.testLoss = r.params.pruning === 'random' ? 0.01 : 0.5;
    if (r.params.pruning === 'top-prob' && typeof r.metrics.mstOverlap === 'number') r.metrics.mstOverlap = 0;
  });
  const card = await cardOf(reversed);
  const rev = card.claims.find((x) => /top-prob < random/.test(x.claim))!;
  assert.match(rev.evidence, /where random is lower \(the opposite direction\)/, rev.evidence);
  for (const claim of [/Dale ≈ conventional/, /top-prob < random/, /MST overlap above/]) {
    const c = card.claims.find((x) => claim.test(x.claim))!;
    assert.equal(c.verdict, 'not reproduced', `${c.claim}: ${c.evidence}`);
  }
  const few = await cardOf(syntheticInput({ withFailures: false, seeds: MIN_RUNS - 1 }));
  assert.ok(few.claims.length >= 4);
  for (const c of few.claims) assert.equal(c.verdict, 'not enough runs', `${c.claim}: ${c.evidence}`);
});

test('scorecard: data-source notes, no card for a sweep the paper does not cover, Markdown across sweeps', async () => {
  const fashion = edit(syntheticInput({ withFailures: false }), (r) => {
    r.params.dataSource = r.params.task === 'smnist' ? 'fashion-mnist' : null;
  });
  const card = await cardOf(fashion);
  assert.ok(card.notes.some((n) => /Fashion-MNIST .*instead of MNIST: accuracies are not comparable to the paper’s; the claims compare the rules with each other on the same data$/.test(n)));
  const other = edit(syntheticInput({ withFailures: false, tasks: ['flipflop'] }), (r) => {
    r.params.task = 'copy';
  });
  assert.equal((await aggregate(other)).paperComparison, undefined, 'no paper comparison when the paper reports nothing of the sweep');
  const md = scorecardMarkdown([
    { sweep: 'a', card },
    { sweep: 'b|c', card },
  ]);
  assert.match(md, /^## Numbers/m);
  assert.match(md, /\| a \| flipflop \| dense test loss, dale/);
  assert.match(md, /\| b\\\|c \|/, 'pipes in names are escaped');
  assert.match(md, /\*\*reproduced\*\*/);
  assert.match(md, /Fashion-MNIST/);
});
