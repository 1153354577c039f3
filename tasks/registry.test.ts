import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TASK_NAMES, TASKS, taskReadsParam } from './registry.js';

test("the paper's training defaults per task (SCIENCE.md §5, §6)", () => {
  assert.deepEqual(TASK_NAMES, ['flipflop', 'wave', 'smnist', 'celltype']);
  assert.deepEqual(TASKS.flipflop.defaults, { epochs: 100, batchSize: 200, nTrain: 6000, nTest: 1000 });
  assert.deepEqual(TASKS.wave.defaults, { epochs: 25, batchSize: 100, nTrain: 1000, nTest: 1000 });
  assert.deepEqual(TASKS.smnist.defaults, { epochs: 50, batchSize: 200, nTrain: 60000, nTest: 10000 });
  assert.deepEqual(TASKS.celltype.defaults, { epochs: 100, batchSize: 200, nTrain: 2000, nTest: 0 });
});

test('which task reads which parameter: own parameters, ignored ones, and the generic rest', () => {
  const table = (k: string): string => TASK_NAMES.filter((t) => taskReadsParam(t, k)).join(' ');
  assert.equal(table('condition'), 'celltype');
  assert.equal(table('latentScaling'), 'celltype');
  assert.equal(table('dataSource'), 'smnist');
  assert.equal(table('nHidden'), 'flipflop wave smnist');
  assert.equal(table('sparsity'), 'flipflop wave smnist');
  assert.equal(table('seed'), 'flipflop wave smnist celltype');
  // A parameter is owned by one task at most.
  const owned = TASK_NAMES.flatMap((t) => TASKS[t].ownParams);
  assert.equal(new Set(owned).size, owned.length);
});
