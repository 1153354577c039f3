import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeStage } from './run-stage.js';
import { parseNpy } from '../io/npy.js';
import { maximumSpanningTree, mstOverlap, topProbOverlapLowerBound } from '../rnn/mst.js';
import { FsStore } from '../store/fs.js';
import { readStageFile, readStageManifest } from '../store/stage-io.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { ArtifactStore } from '../store/types.js';
import type { PruneStageConfig } from '../sweeps/stage-config.js';

const N = 16;

/** A stored `[N, N]` float32 matrix as a Float32Array. */
async function readMatrix(store: ArtifactStore, stageId: string, name: string): Promise<Float32Array> {
  const a = parseNpy(await readStageFile(store, stageId, name), name);
  assert.ok(a.data instanceof Float32Array);
  assert.equal(a.data.length, N * N);
  return a.data;
}

test('iterative pruning: every round measures MST overlap against the dense network\u2019s tree, not the previous round\u2019s', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-iterative-'));
  try {
    const spec = parseSpec(
      [
        'name: iterative-mst',
        `fixed: { nHidden: ${N}, backend: js }`,
        'tasks:',
        '  flipflop: { epochs: 2, batchSize: 20, nTrain: 40, nTest: 20 }',
        'axes: { task: [flipflop], rule: [dale], pruning: [random], sparsity: [0.8], seed: [0] }',
        'stages: { prune: { mode: iterative, rounds: 2 }, finetune: { epochs: 1 } }',
        '',
      ].join('\n'),
      'iterative-mst.yaml',
    );
    const plan = planSweep(spec, { codeVersion: 'test' });
    const store = new FsStore(dir);
    for (const stage of plan.stages) {
      const out = await executeStage(stage, { store, codeVersion: 'test' });
      assert.equal(out.status, 'succeeded', `${stage.kind} ${stage.id.slice(0, 12)}: ${out.reason ?? ''}`);
    }
    const train = plan.stages.find((s) => s.kind === 'train')!;
    const prunes = plan.stages.filter((s) => s.kind === 'prune');
    assert.equal(prunes.length, 2);
    // Dale: the stored W_hh is the effective matrix.
    const dense = await readMatrix(store, train.id, 'weights/wHh.npy');
    const denseTree = maximumSpanningTree(dense, N, N);
    for (const prune of prunes) {
      const mask = await readMatrix(store, prune.id, 'mask.npy');
      const metrics = (await readStageManifest(store, prune.id))!.metrics;
      assert.ok(Math.abs((metrics.mstOverlap as number) - mstOverlap(denseTree, mask)) < 1e-12, `round ${prunes.indexOf(prune) + 1}: ${metrics.mstOverlap} vs ${mstOverlap(denseTree, mask)}`);
    }
    // Random theory given each round's parent: the dense-tree edges still non-zero in the parent,
    // each kept with q = min(1, (1 - s_r) N² / (N² - z0)), z0 = exact zeros the pruner sees.
    for (const prune of prunes) {
      const parent = await readMatrix(store, prune.parents[0], 'weights/wHh.npy');
      const parentMask = prune.parents[0] === train.id ? null : await readMatrix(store, prune.parents[0], 'mask.npy');
      const seen = parent.map((v, k) => (parentMask !== null && parentMask[k] === 0 ? 0 : v));
      const z0 = seen.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
      const alive = Array.from(denseTree).filter((e) => seen[e] !== 0).length / denseTree.length;
      const sr = (prune.config as PruneStageConfig).sparsity!;
      const expected = alive * Math.min(1, ((1 - sr) * N * N) / (N * N - z0));
      const metrics = (await readStageManifest(store, prune.id))!.metrics;
      assert.ok(Math.abs((metrics.mstRandomTheory as number) - expected) < 1e-12, `round ${prunes.indexOf(prune) + 1}: random theory ${metrics.mstRandomTheory} vs ${expected}`);
    }
    // The second round's parent (the fine-tuned, already pruned model) has another tree, and the
    // overlap against it differs: the test tells the two apart.
    const parent = await readMatrix(store, prunes[1].parents[0], 'weights/wHh.npy');
    const mask2 = await readMatrix(store, prunes[1].id, 'mask.npy');
    assert.notEqual(mstOverlap(maximumSpanningTree(parent, N, N), mask2), mstOverlap(denseTree, mask2));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('top-prob prune stages record both named lower bounds (printed formula and renormalised), and evaluations carry them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-bounds-'));
  try {
    const spec = parseSpec(
      [
        'name: bounds',
        `fixed: { nHidden: ${N}, backend: js }`,
        'tasks:',
        '  flipflop: { epochs: 1, batchSize: 20, nTrain: 40, nTest: 20 }',
        'axes: { task: [flipflop], rule: [dale], pruning: [top-prob], sparsity: [0.3], seed: [1] }',
        'stages: { finetune: false }',
        '',
      ].join('\n'),
      'bounds.yaml',
    );
    const plan = planSweep(spec, { codeVersion: 'test' });
    const store = new FsStore(dir);
    for (const stage of plan.stages) assert.equal((await executeStage(stage, { store, codeVersion: 'test' })).status, 'succeeded');
    const train = plan.stages.find((s) => s.kind === 'train')!;
    const prune = plan.stages.find((s) => s.kind === 'prune')!;
    const evaluation = plan.stages.find((s) => s.kind === 'evaluate' && s.parents[0] === prune.id)!;
    const dense = await readMatrix(store, train.id, 'weights/wHh.npy');
    const formula = topProbOverlapLowerBound(dense, N, 0.3, { probabilities: 'formula' }).fraction;
    const renormalised = topProbOverlapLowerBound(dense, N, 0.3, { probabilities: 'renormalised' }).fraction;
    assert.notEqual(formula, renormalised);
    for (const id of [prune.id, evaluation.id]) {
      const metrics = (await readStageManifest(store, id))!.metrics;
      assert.equal(metrics.mstLowerBoundFormula, formula);
      assert.equal(metrics.mstLowerBoundRenormalised, renormalised);
      assert.ok(!('mstLowerBound' in metrics), 'no unnamed bound');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
