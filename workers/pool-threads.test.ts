import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open.js';
import { readStageFile, readStageManifest } from '../store/stage-io.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import { createStagePool, shareCores } from './pool.js';
import { runPlanLocally } from '../engines/local.js';
import { executeStage } from '../activities/run-stage.js';
import { liveGemmThreads, startGemmThreads } from '../rnn/parallel-gemm.js';

// Two threads per stage at most, whatever the machine (the pool's threads inherit the environment).
process.env.DALESWEEP_THREADS = '2';

test('shareCores gives each running stage its share of the cores, the first ones the remainder, at least 1', () => {
  const cells = (n: number): Int32Array[] => Array.from({ length: n }, () => new Int32Array(new SharedArrayBuffer(4)));
  const shares = (cores: number, n: number): number[] => {
    const c = cells(n);
    shareCores(cores, c);
    return c.map((x) => x[0]);
  };
  assert.deepEqual(shares(2, 1), [2]);
  assert.deepEqual(shares(2, 2), [1, 1]);
  assert.deepEqual(shares(5, 3), [2, 2, 1]);
  assert.deepEqual(shares(2, 3), [1, 1, 1]);
});

test('a stage running alone gets the idle cores: same weights as with one thread, and the manifest records the threads used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-threads-'));
  try {
    const spec = parseSpec(
      [
        'name: threads',
        'fixed: { nHidden: 256, backend: js }',
        'tasks:',
        '  flipflop: { epochs: 1, batchSize: 128, nTrain: 256, nTest: 128 }',
        'axes: { task: [flipflop], rule: [dale], seed: [0] }',
        '',
      ].join('\n'),
      'threads.yaml',
    );
    const plan = planSweep(spec, { codeVersion: 'threads-test' });
    const train = plan.stages.find((s) => s.kind === 'train')!;
    const weights: Buffer[] = [];
    for (const cores of [1, 2]) {
      const pool = createStagePool({ threads: 1, cores });
      const storeUrl = join(dir, `cores-${cores}`);
      const store = await openStore(storeUrl);
      const r = await runPlanLocally(plan, { store, storeUrl, codeVersion: 'threads-test', pool, concurrency: 1 }).finally(() => pool.destroy());
      assert.equal(r.status.get(train.id), 'succeeded', r.reasons.get(train.id));
      const m = await readStageManifest(store, train.id);
      assert.equal(m?.extra?.threads, cores, `threads recorded with ${cores} cores`);
      weights.push(Buffer.from(await readStageFile(store, train.id, 'weights/wHh.npy')));
    }
    assert.ok(weights[0].equals(weights[1]), 'W_hh trained with 2 threads differs from 1 thread');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('helper threads end with the stage, whether it succeeds or fails', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-threads-end-'));
  try {
    const spec = parseSpec('name: ends\nfixed: { nHidden: 256, backend: js }\ntasks:\n  flipflop: { epochs: 1, batchSize: 128, nTrain: 256, nTest: 128 }\naxes: { task: [flipflop], rule: [dale], seed: [0] }\n', 'ends.yaml');
    const plan = planSweep(spec, { codeVersion: 'ends-test' });
    const train = plan.stages.find((s) => s.kind === 'train')!;
    const evaluate = plan.stages.find((s) => s.kind === 'evaluate')!;
    const store = await openStore(join(dir, 'store'));
    // Fails: its parent (the train stage) has not run.
    await startGemmThreads(2);
    assert.equal(liveGemmThreads(), 1);
    const failed = await executeStage(evaluate, { store, codeVersion: 'ends-test', threads: 2 });
    assert.equal(failed.status, 'failed');
    assert.equal(liveGemmThreads(), 0, 'helpers left running after a failed stage');
    const ok = await executeStage(train, { store, codeVersion: 'ends-test', threads: 2 });
    assert.equal(ok.status, 'succeeded', ok.reason);
    assert.equal((await readStageManifest(store, train.id))?.extra?.threads, 2);
    assert.equal(liveGemmThreads(), 0, 'helpers left running after a stage');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
