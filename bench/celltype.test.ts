import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFinetune, runUpdate } from './celltype.js';

test('the update benchmark times kernels and loops on the cell-type model and finds the same bytes', async () => {
  const r = await runUpdate({ rounds: 1, steps: 2, latentScaling: 2 });
  assert.equal(r.N % 4, 0);
  assert.ok(r.params > r.N * r.N, 'W_hh and the input weights are updated');
  assert.ok(r.kernelMs > 0 && r.loopMs > 0 && Number.isFinite(r.kernelMs + r.loopMs));
  assert.equal(r.identical, true);
});

test('the fine-tuning benchmark times the pruned model on 1 and 2 threads and finds the same bytes', async () => {
  const r = await runFinetune({ rounds: 1, steps: 2, warmEpochs: 1, latentScaling: 4 });
  assert.equal(r.N, 360);
  assert.ok(r.keptFraction > 0 && r.keptFraction < 0.5, `kept ${r.keptFraction}`);
  for (const v of [r.stepsPerSec1, r.stepsPerSec2, r.evalBatchesPerSec1, r.evalBatchesPerSec2]) assert.ok(v > 0 && Number.isFinite(v));
  assert.equal(r.identical, true);
});
