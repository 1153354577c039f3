import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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

/** A sweep of one flip-flop training (N = 256: its products split over threads) and its evaluation. */
function oneTrainSpec(name: string): ReturnType<typeof parseSpec> {
  return parseSpec(`name: ${name}\nfixed: { nHidden: 256, backend: js }\ntasks:\n  flipflop: { epochs: 1, batchSize: 128, nTrain: 256, nTest: 128 }\naxes: { task: [flipflop], rule: [dale], seed: [0] }\n`, `${name}.yaml`);
}

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
  // As ranks among the machine's running stages (other pools' stages ranked before or after).
  const ranked = (cores: number, n: number, before: number, total: number): number[] => {
    const c = cells(n);
    shareCores(cores, c, before, total);
    return c.map((x) => x[0]);
  };
  assert.deepEqual(ranked(2, 1, 0, 2), [1]); // another pool runs one stage: half the cores
  assert.deepEqual(ranked(2, 1, 1, 2), [1]);
  assert.deepEqual(ranked(5, 2, 0, 3), [2, 2]); // the remainder goes to the first ranks …
  assert.deepEqual(ranked(5, 1, 2, 3), [1]); // … not again to the pool ranked after them
  assert.deepEqual(ranked(4, 1, 0, 1), [4]);
});

test('a stage running alone gets the idle cores: same weights as with one thread, and the manifest records the threads used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-threads-'));
  try {
    const spec = oneTrainSpec('threads');
    const plan = planSweep(spec, { codeVersion: 'threads-test' });
    const train = plan.stages.find((s) => s.kind === 'train')!;
    const weights: Buffer[] = [];
    for (const cores of [1, 2]) {
      const pool = createStagePool({ threads: 1, cores, machineCores: null });
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
    const spec = oneTrainSpec('ends');
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

test('pools share the machine\'s cores through the registry: a stage beside another pool\'s running stage gets half of them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-threads-machine-'));
  try {
    const spec = oneTrainSpec('machine');
    const plan = planSweep(spec, { codeVersion: 'machine-test' });
    const train = plan.stages.find((s) => s.kind === 'train')!;
    const registry = join(dir, 'registry');
    // Another process (this test's parent, alive) runs one stage in its pool.
    await mkdir(registry, { recursive: true });
    await writeFile(join(registry, `${process.ppid}-1`), '1');
    const pool = createStagePool({ threads: 1, cores: 2, machineCores: registry });
    const store = await openStore(join(dir, 'store'));
    const r = await runPlanLocally(plan, { store, storeUrl: join(dir, 'store'), codeVersion: 'machine-test', pool, concurrency: 1 }).finally(() => pool.destroy());
    assert.equal(r.status.get(train.id), 'succeeded', r.reasons.get(train.id));
    assert.equal((await readStageManifest(store, train.id))?.extra?.threads, 1, 'two running stages on 2 cores: 1 thread each');
    // The pool removed its own entry when it was destroyed; the other process's stays.
    assert.deepEqual(await readdir(registry), [`${process.ppid}-1`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
