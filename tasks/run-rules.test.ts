import { test } from 'node:test';
import assert from 'node:assert/strict';
import { celltypeLayout } from '../celltype/populations.js';
import { applyTaskFixedParams, readsDataDir, taskRunProblems, whyTaskIgnoresParam, type TaskRunParams } from './run-rules.js';

const base: TaskRunParams = {
  task: 'flipflop', nHidden: 128, excFraction: 0.8, threshold: 0, nTrain: 100, nTest: 50, dataSource: null, dataDir: null,
  condition: null, latentScaling: null, celltypeData: null, syntheticSamples: null, pruning: null, sparsity: null,
};
const celltype: TaskRunParams = { ...base, task: 'celltype', condition: 'familiar_change_full', latentScaling: 2, celltypeData: 'synthetic', nTest: 0 };

test('a consistent run of each kind breaks no task rule', () => {
  assert.deepEqual(taskRunProblems(base, 'one-shot'), []);
  assert.deepEqual(taskRunProblems({ ...base, pruning: 'top-prob', sparsity: 0.5 }, 'iterative'), []);
  assert.deepEqual(taskRunProblems({ ...base, task: 'smnist', dataSource: 'mnist', dataDir: '/idx' }, 'one-shot'), []);
  assert.deepEqual(taskRunProblems({ ...celltype, pruning: 'celltype' }, 'one-shot'), []);
});

test('task rules point at the parameter, the run or the prune mode, in order', () => {
  assert.deepEqual(taskRunProblems({ ...base, pruning: 'random' }, 'one-shot').map((p) => p.at), [{ param: 'pruning' }]);
  assert.deepEqual(taskRunProblems({ ...base, nTest: 0, sparsity: 0.3 }, 'one-shot').map((p) => p.at), [{ param: 'nTest' }, { param: 'sparsity' }]);
  const ct = taskRunProblems({ ...celltype, condition: null, pruning: 'random' }, 'iterative');
  assert.deepEqual(ct.map((p) => p.at), ['run', { param: 'pruning' }, 'prune-mode']);
  assert.match(ct[0].message, /needs a condition/);
  assert.deepEqual(taskRunProblems({ ...celltype, celltypeData: 'files' }, 'one-shot').map((p) => p.at), [{ param: 'celltypeData' }]);
  assert.deepEqual(taskRunProblems({ ...celltype, syntheticSamples: 10, nTrain: 20 }, 'one-shot').map((p) => p.message), ['syntheticSamples (10) must be at least nTrain + nTest (20 + 0)']);
  assert.deepEqual(taskRunProblems({ ...base, task: 'smnist', dataSource: 'fashion-mnist', dataDir: '/x' }, 'one-shot').map((p) => p.at), [{ param: 'dataDir' }]);
});

test('data directories, ignored parameters and the parameters a cell-type run fixes', () => {
  assert.equal(readsDataDir({ task: 'celltype', celltypeData: 'files', dataSource: null }), true);
  assert.equal(readsDataDir({ task: 'celltype', celltypeData: 'synthetic', dataSource: null }), false);
  assert.equal(readsDataDir({ task: 'smnist', celltypeData: null, dataSource: 'mnist' }), true);
  assert.equal(readsDataDir({ task: 'flipflop', celltypeData: null, dataSource: 'mnist' }), false);
  assert.match(whyTaskIgnoresParam('nHidden', 'celltype'), /layout fixes N/);
  assert.match(whyTaskIgnoresParam('condition', 'wave'), /applies only to task celltype \(this run is task wave\)/);
  const p = { ...celltype, nTrain: 30, nTest: 5 };
  applyTaskFixedParams(p);
  const layout = celltypeLayout(2);
  assert.deepEqual([p.nHidden, p.excFraction, p.threshold, p.syntheticSamples], [layout.N, layout.nExc / layout.N, 0, 35]);
  const q = { ...base, nHidden: 64 };
  applyTaskFixedParams(q);
  assert.deepEqual(q, { ...base, nHidden: 64 });
});
