import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../store/fs.js';
import { readStageManifest } from '../store/stage-io.js';
import { noopSweep, planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import { createStagePool, type StagePool } from './pool.js';
import type { StageEvent } from './stage-task.js';

let dir: string;
let pool: StagePool;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-pool-'));
  pool = createStagePool({ threads: 1 });
});
after(async () => {
  await pool?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the pool runs a stage on its thread against the store URL, and the second time finds it cached', async () => {
  assert.equal(pool.threads, 1);
  const [stage] = noopSweep(1, { codeVersion: 'test', salt: 'pool' }).stages;
  const first = await pool.run({ stage, storeUrl: dir, codeVersion: 'test' });
  assert.equal(first.status, 'succeeded');
  assert.equal(first.cached, false);
  assert.equal((await readStageManifest(new FsStore(dir), stage.id))?.codeVersion, 'test');
  const second = await pool.run({ stage, storeUrl: `file://${dir}`, codeVersion: 'test' });
  assert.equal(second.cached, true);
  const [failing] = noopSweep(1, { codeVersion: 'test', salt: 'pool-fail', fail: new Set([0]) }).stages;
  const failed = await pool.run({ stage: failing, storeUrl: dir, codeVersion: 'test' });
  assert.equal(failed.status, 'failed');
  assert.match(failed.reason!, /asked to fail/);
});

test('progress and checkpoint events of a training stage reach the caller through the port', async () => {
  const spec = parseSpec(
    ['name: pool-test', 'fixed: { nHidden: 8, backend: js }', 'tasks:', '  flipflop: { epochs: 2, batchSize: 10, nTrain: 20, nTest: 10 }', 'axes: { task: [flipflop], rule: [dale], seed: [0] }', ''].join('\n'),
    'pool-test.yaml',
  );
  const train = planSweep(spec, { codeVersion: 'test' }).stages.find((s) => s.kind === 'train')!;
  const events: StageEvent[] = [];
  const out = await pool.run({ stage: train, storeUrl: dir, codeVersion: 'test' }, (e) => events.push(e));
  assert.equal(out.status, 'succeeded', out.reason);
  // events are posted before the outcome; give the port's last messages a turn to arrive
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.filter((e) => e.type === 'progress').map((e) => [e.stageId, e.type === 'progress' && e.epoch]), [[train.id, 1], [train.id, 2]]);
  assert.deepEqual(events.filter((e) => e.type === 'checkpoint').map((e) => e.type === 'checkpoint' && e.epoch), [1, 2]);
  assert.equal(events.some((e) => e.type === 'warning'), false);
});

test('aborting a running stage rejects its promise and leaves no manifest; the pool keeps working', async () => {
  const [slow] = noopSweep(1, { codeVersion: 'test', salt: 'pool-abort', sleepMs: 30_000 }).stages;
  const ac = new AbortController();
  const t0 = Date.now();
  const running = pool.run({ stage: slow, storeUrl: dir, codeVersion: 'test' }, undefined, ac.signal);
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(running, (e: unknown) => (e as Error).name === 'AbortError');
  assert.ok(Date.now() - t0 < 10_000, 'aborted long before the stage would end');
  assert.equal(await readStageManifest(new FsStore(dir), slow.id), null);
  const [next] = noopSweep(1, { codeVersion: 'test', salt: 'pool-after-abort' }).stages;
  assert.equal((await pool.run({ stage: next, storeUrl: dir, codeVersion: 'test' })).status, 'succeeded');
});
