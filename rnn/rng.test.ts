import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.js';

const draws = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

test('Rng.advance(k) leaves the stream where k calls of nextU32 leave it', () => {
  for (const k of [0, 1, 2, 3, 31, 32, 33, 127, 128, 129, 1000, 65_537, 1_234_567]) {
    const slow = new Rng(42, 'batches');
    for (let i = 0; i < k; i++) slow.nextU32();
    const fast = new Rng(42, 'batches');
    fast.advance(k);
    assert.deepEqual(draws(fast, 8), draws(slow, 8), `k = ${k}`);
  }
  // Composes: advance(a) then advance(b) = advance(a + b), also past 2^32 draws.
  const x = new Rng(7, 's');
  x.advance(2 ** 33 + 5);
  x.advance(12_345);
  const y = new Rng(7, 's');
  y.advance(2 ** 33 + 5 + 12_345);
  assert.deepEqual(draws(x, 4), draws(y, 4));
  assert.throws(() => new Rng(1).advance(-1), RangeError);
  assert.throws(() => new Rng(1).advance(1.5), RangeError);
});

test('Rng.skipPermutations(n, c) skips exactly c permutations of n', () => {
  for (const n of [0, 1, 2, 60, 1001]) {
    const replay = new Rng(3, 'batches');
    for (let e = 0; e < 5; e++) replay.permutation(n);
    const skip = new Rng(3, 'batches');
    skip.skipPermutations(n, 5);
    assert.deepEqual(Array.from(skip.permutation(n)), Array.from(replay.permutation(n)), `n = ${n}`);
  }
});
