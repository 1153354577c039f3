import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlipFlopOptionsError, flipFlopDataset } from './flipflop.js';

test('flip-flop: target holds the sign of the last pulse, 0 before the first', () => {
  const ds = flipFlopDataset(1, 'train', { n: 300 });
  assert.equal(ds.T, 50);
  let pulses = 0;
  for (let i = 0; i < ds.n; i++) {
    let state = 0;
    for (let t = 0; t < ds.T; t++) {
      const x = ds.x[i * 50 + t];
      assert.ok(x === 0 || x === 1 || x === -1);
      if (x !== 0) { state = x; pulses++; }
      assert.equal(ds.target![i * 50 + t], state);
    }
  }
  const rate = pulses / (300 * 50);
  assert.ok(rate > 0.04 && rate < 0.06, `pulse rate ${rate}`);
});

test('flip-flop is deterministic per (seed, split) and splits differ', () => {
  const a = flipFlopDataset(5, 'test', { n: 50 });
  const b = flipFlopDataset(5, 'test', { n: 50 });
  const c = flipFlopDataset(5, 'train', { n: 50 });
  const d = flipFlopDataset(6, 'test', { n: 50 });
  assert.deepEqual(a.x, b.x);
  assert.notDeepEqual(a.x, c.x);
  assert.notDeepEqual(a.x, d.x);
  assert.equal(flipFlopDataset(1, 'train').n, 6000);
  assert.equal(flipFlopDataset(1, 'test').n, 1000);
});

test('flip-flop batches gather samples by index', () => {
  const ds = flipFlopDataset(2, 'train', { n: 20, T: 10 });
  const b = ds.batch([3, 7]);
  assert.equal(b.B, 2);
  assert.deepEqual(b.x.subarray(10, 20), ds.x.subarray(70, 80));
  assert.deepEqual(b.target.subarray(0, 10), ds.target!.subarray(30, 40));
  assert.throws(() => flipFlopDataset(1, 'train', { pulseProb: 2 }), FlipFlopOptionsError);
});
