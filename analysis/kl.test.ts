/**
 * Reference KL values from Python 3.11.7, numpy 2.4.6, scipy 1.17.1 with A, B of
 * samples-testing.ts:
 *   paper-code:  h1 = np.histogram(x, bins=100, density=True)[0] + 1e-7 (same for y);
 *                scipy.stats.entropy(h1, h2)
 *   corrected:   the same with range=(min(x.min(), y.min()), max(x.max(), y.max())) for both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { klDivergence, KlError, pairMeanBootstrapSe, pairwiseKl, relativeEntropy } from './kl.js';
import { Rng } from '../rnn/rng.js';
import { A, B } from './samples-testing.js';

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-10 * Math.max(1, Math.abs(expected)), `${what}: expected ${expected}, got ${actual}`);
}

test('paper-code and corrected KL match numpy/scipy references', () => {
  close(klDivergence(A, B, 'paper-code'), 4.345807156503138, 'paper A||B');
  close(klDivergence(B, A, 'paper-code'), 0.9861150575503154, 'paper B||A');
  close(klDivergence(A, B, 'corrected'), 4.7138979863132, 'corrected A||B');
  close(klDivergence(B, A, 'corrected'), 0.9134784072326232, 'corrected B||A');
});

test('KL is 0 for identical samples and positive otherwise', () => {
  for (const mode of ['paper-code', 'corrected'] as const) {
    assert.equal(klDivergence(A, A, mode), 0);
    assert.ok(klDivergence(A, B, mode) > 0);
  }
});

test('paper-code ignores location and scale (own edges); corrected does not', () => {
  // A scaled by 4 (exact in floating point) has the same own-edge counts as A: paper-code sees
  // (almost) no difference (only the +1e-7 on a 4x smaller density), shared edges see it.
  const scaled = A.map((v) => 4 * v);
  assert.ok(klDivergence(A, scaled, 'paper-code') < 1e-7);
  assert.ok(klDivergence(A, scaled, 'corrected') > 1);
  // Shifted far away: no overlap at all under shared edges.
  assert.ok(klDivergence(A, A.map((v) => 4 * v + 8), 'corrected') > 10);
  // Float32Array input (trained weights) is accepted.
  assert.ok(klDivergence(Float32Array.from(A), Float32Array.from(B), 'corrected') > 0);
});

test('epsilon keeps empty bins finite and bins are configurable', () => {
  const x = [0, 0, 0, 1];
  const y = [0, 1, 1, 1];
  assert.ok(Number.isFinite(klDivergence(x, y, 'corrected', { bins: 4 })));
  assert.equal(klDivergence(x, y, 'corrected', { bins: 4, epsilon: 0 }), relativeEntropy([3, 0, 0, 1], [1, 0, 0, 3]));
  assert.equal(relativeEntropy([1, 1], [1, 0]), Infinity);
  assert.throws(() => relativeEntropy([1], [1, 2]), KlError);
  assert.throws(() => klDivergence(x, y, 'other' as 'corrected'), KlError);
});

test('pairwiseKl averages over every run pair, reference first', () => {
  const v = pairwiseKl([A, B], [B], 'corrected');
  assert.equal(v.length, 2);
  close(v[0], 4.7138979863132, 'pair 0');
  assert.equal(v[1], 0);
});

/** Monte Carlo two-sample bootstrap of the all-pairs mean (independent check of the exact formula). */
function monteCarloSe(k: number[], nRef: number, nOther: number, resamples: number, seed: number): number {
  const rng = new Rng(seed, 'test:kl-bootstrap');
  const means: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const ri = Array.from({ length: nRef }, () => rng.int(nRef));
    const oj = Array.from({ length: nOther }, () => rng.int(nOther));
    let s = 0;
    for (const i of ri) for (const j of oj) s += k[i * nOther + j];
    means.push(s / (nRef * nOther));
  }
  const m = means.reduce((a, b) => a + b, 0) / resamples;
  return Math.sqrt(means.reduce((a, b) => a + (b - m) ** 2, 0) / (resamples - 1));
}

test('pair-mean SE is a bootstrap over runs (exact), not the SD of the overlapping pairs over sqrt(pairs)', () => {
  // Additive pairs K_ij = a_i + b_j: resampling runs gives Var = var0(a)/nA + var0(b)/nB exactly
  // (var0: population variance), whatever the number of pairs.
  const a = [0.1, 0.5, 0.2, 0.9, 0.3];
  const b = [1.0, 1.4, 0.7, 1.1];
  const k = a.flatMap((x) => b.map((y) => x + y));
  const var0 = (v: number[]): number => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length;
  };
  const exact = Math.sqrt(var0(a) / a.length + var0(b) / b.length);
  close(pairMeanBootstrapSe(k, a.length, b.length), exact, 'additive');
  // The naive SEM of the 20 pairs is far smaller: it treats them as independent.
  const naive = Math.sqrt(var0(k) * (k.length / (k.length - 1)) / k.length);
  assert.ok(naive < 0.7 * exact, `naive ${naive} vs bootstrap ${exact}`);
  // A general matrix (real KL values) against a seeded Monte Carlo bootstrap (20,000 resamples: ~0.5 % error).
  const runs = [A, B, A.map((v) => 1.5 * v), B.map((v) => v + 0.3), A.map((v) => v * v)];
  const kl = pairwiseKl(runs.slice(0, 3), runs.slice(2), 'corrected');
  const se = pairMeanBootstrapSe(kl, 3, 3);
  const mc = monteCarloSe(kl, 3, 3, 20000, 1);
  assert.ok(Math.abs(se - mc) < 0.03 * mc, `exact ${se} vs Monte Carlo ${mc}`);
  // One run per side: nothing to resample.
  assert.equal(pairMeanBootstrapSe([2.5], 1, 1), 0);
  assert.throws(() => pairMeanBootstrapSe([1, 2, 3], 2, 2), KlError);
});
