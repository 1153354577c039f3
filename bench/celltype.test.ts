import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runUpdate } from './celltype.js';

test('the update benchmark times kernels and loops on the cell-type model and finds the same bytes', async () => {
  const r = await runUpdate({ rounds: 1, steps: 2, latentScaling: 2 });
  assert.equal(r.N % 4, 0);
  assert.ok(r.params > r.N * r.N, 'W_hh and the input weights are updated');
  assert.ok(r.kernelMs > 0 && r.loopMs > 0 && Number.isFinite(r.kernelMs + r.loopMs));
  assert.equal(r.identical, true);
});
