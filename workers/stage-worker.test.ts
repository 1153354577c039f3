import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { checkpointKey } from '../activities/checkpoint.js';
import { FsStore } from '../store/fs.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { StageEvent } from './stage-task.js';
import runStageTask from './stage-worker.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-stage-worker-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the thread entry forwards a corrupt checkpoint\u2019s warning, progress and checkpoints, and closes its port', async () => {
  const spec = parseSpec(
    ['name: worker-test', 'fixed: { nHidden: 8, backend: js }', 'tasks:', '  flipflop: { epochs: 2, batchSize: 10, nTrain: 20, nTest: 10 }', 'axes: { task: [flipflop], rule: [dale], seed: [0] }', ''].join('\n'),
    'worker-test.yaml',
  );
  const train = planSweep(spec, { codeVersion: 'test' }).stages.find((s) => s.kind === 'train')!;
  // a checkpoint that fails verification: set aside with a warning, training starts over
  await new FsStore(dir).put(checkpointKey(train.id, 1), new TextEncoder().encode('not a checkpoint'));
  const { port1, port2 } = new MessageChannel();
  const events: StageEvent[] = [];
  port1.on('message', (e: StageEvent) => events.push(e));
  const closed = new Promise<void>((r) => port1.once('close', () => r()));
  const out = await runStageTask({ stage: train, storeUrl: dir, codeVersion: 'test', port: port2 });
  await closed;
  assert.equal(out.status, 'succeeded', out.reason);
  assert.deepEqual(events.map((e) => e.type), ['warning', 'checkpoint', 'progress', 'checkpoint', 'progress']);
  assert.ok(events.every((e) => e.stageId === train.id));
  const w = events[0];
  assert.ok(w.type === 'warning' && /not a dalesweep checkpoint.*moved to quarantine/.test(w.message), JSON.stringify(w));
});
