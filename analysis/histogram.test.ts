/**
 * Reference counts from numpy 2.4.6 (Python 3.11.7):
 *   a = np.array([((i*37) % 101)/101 - 0.3 for i in range(500)])
 *   np.histogram(a, bins=100)[0]; np.histogram(a, bins=100, density=True)
 *   b = np.array([(((i*53) % 97)/97)*(((i*53) % 97)/97)*0.8 - 0.1 for i in range(400)])
 *   np.histogram(b, bins=10)[0]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { density, equalEdges, histogram, HistogramError, nonZero } from './histogram.js';

import { A, B } from './samples-testing.js';

const COUNTS_A = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5, 5, 10, 0,
  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 5, 10, 0, 5, 5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 10, 0, 5, 5, 5, 5, 5, 5, 5,
  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 5, 5, 10, 0, 5, 5, 5, 10];

test('histogram reproduces numpy.histogram counts bin for bin, values on edges included', () => {
  const h = histogram(A, 100);
  assert.deepEqual(Array.from(h.counts), COUNTS_A);
  assert.equal(h.edges[0], -0.3);
  assert.equal(h.edges[1], -0.2900990099009901);
  assert.equal(h.edges[100], 0.69009900990099);
  assert.deepEqual(Array.from(histogram(B, 10).counts), [129, 49, 41, 33, 29, 29, 25, 20, 25, 20]);
});

test('density matches numpy density=True and integrates to 1', () => {
  const h = histogram(A, 100);
  const d = density(h);
  assert.ok(Math.abs(d[0] - 1.0099999999999991) < 1e-12);
  assert.ok(Math.abs(d[2] - 1.0100000000000047) < 1e-12);
  let integral = 0;
  for (let i = 0; i < d.length; i++) integral += d[i] * (h.edges[i + 1] - h.edges[i]);
  assert.ok(Math.abs(integral - 1) < 1e-12);
});

test('shared range leaves out-of-range values uncounted; degenerate range widens by 0.5', () => {
  const h = histogram([0, 1, 2, 3], 2, [1, 2]);
  assert.deepEqual(Array.from(h.counts), [1, 1]);
  assert.deepEqual(Array.from(equalEdges(2, 2, 2)), [1.5, 2, 2.5]);
  assert.deepEqual(Array.from(histogram([2, 2, 2], 2).counts), [0, 3]);
  assert.throws(() => histogram([], 10), HistogramError);
  assert.throws(() => histogram([1, NaN], 10), HistogramError);
  assert.throws(() => equalEdges(0, 1, 0), /bins must be a positive integer/);
});

test('nonZero keeps the surviving weights', () => {
  assert.deepEqual(Array.from(nonZero(new Float32Array([0, 0.5, 0, -0.25]))), [0.5, -0.25]);
});
