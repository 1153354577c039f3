import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../store/fs.js';
import { stageFileKey } from '../store/layout.js';
import { readStageFailure, readStageFile, readStageManifest } from '../store/stage-io.js';
import { noopSweep, planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { Stage } from '../sweeps/types.js';
import { checkpointPrefix } from './checkpoint.js';
import { executeStage } from './run-stage.js';

let dir: string;
let store: FsStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-run-stage-'));
  store = new FsStore(dir);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A one-run flip-flop sweep small enough to train in well under a second. */
function tinyPlan(): Stage[] {
  const spec = parseSpec(
    [
      'name: run-stage-test',
      'fixed: { nHidden: 8, backend: js }',
      'tasks:',
      '  flipflop: { epochs: 2, batchSize: 10, nTrain: 20, nTest: 10 }',
      'axes: { task: [flipflop], rule: [dale], seed: [0] }',
      '',
    ].join('\n'),
    'run-stage-test.yaml',
  );
  return planSweep(spec, { codeVersion: 'test' }).stages;
}

test('a stage runs once: artifacts and manifest written, then returned as cached without running', async () => {
  const [stage] = noopSweep(1, { codeVersion: 'test', salt: 'once' }).stages;
  const first = await executeStage(stage, { store, codeVersion: 'test' });
  assert.equal(first.status, 'succeeded');
  assert.equal(first.cached, false);
  assert.deepEqual(first.metrics, { index: 0 });
  const m = await readStageManifest(store, stage.id);
  assert.equal(m?.codeVersion, 'test');
  assert.equal(m?.backend, 'none');
  assert.deepEqual(JSON.parse(new TextDecoder().decode(await readStageFile(store, stage.id, 'noop.json'))), { index: 0 });
  // cached: nothing runs or is written again (the manifest keeps the first run's code version)
  const second = await executeStage(stage, { store, codeVersion: 'other' });
  assert.deepEqual(second, { stageId: stage.id, kind: 'noop', status: 'succeeded', metrics: { index: 0 }, cached: true, wallMs: 0 });
  assert.equal((await readStageManifest(store, stage.id))?.codeVersion, 'test');
});

test('a stage that fails comes back failed with its reason recorded, no manifest, and runs again next time', async () => {
  const [stage] = noopSweep(1, { codeVersion: 'test', salt: 'fails', fail: new Set([0]) }).stages;
  for (let attempt = 0; attempt < 2; attempt++) {
    const out = await executeStage(stage, { store, codeVersion: 'test' });
    assert.equal(out.status, 'failed');
    assert.equal(out.cached, false);
    assert.equal(out.reason, 'DeterministicStageError: noop stage 0 was asked to fail');
    assert.equal(await readStageManifest(store, stage.id), null);
    assert.equal((await readStageFailure(store, stage.id))?.reason, out.reason);
  }
});

test('a model stage whose parent is not complete fails naming the parent', async () => {
  const stages = tinyPlan();
  const evaluate = stages.find((s) => s.kind === 'evaluate')!;
  const out = await executeStage(evaluate, { store: new FsStore(join(dir, 'empty')), codeVersion: 'test' });
  assert.equal(out.status, 'failed');
  assert.match(out.reason!, new RegExp(`^ParentArtifactError: parent stage ${evaluate.parents[0].slice(0, 12)} has no manifest`));
});

test('training reports each epoch and checkpoint, then deletes its checkpoints; a parent changed behind its manifest fails the child with a repair hint', async () => {
  const stages = tinyPlan();
  const train = stages.find((s) => s.kind === 'train')!;
  const evaluate = stages.find((s) => s.kind === 'evaluate')!;
  const progress: number[] = [];
  const checkpoints: [string, number][] = [];
  const out = await executeStage(train, {
    store,
    codeVersion: 'test',
    onProgress: (p) => progress.push(p.epoch),
    onCheckpoint: (key, epoch) => checkpoints.push([key, epoch]),
  });
  assert.equal(out.status, 'succeeded', out.reason);
  assert.deepEqual(progress, [1, 2]);
  assert.deepEqual(checkpoints.map(([k, e]) => [k.startsWith(checkpointPrefix(train.id)), e]), [[true, 1], [true, 2]]);
  assert.deepEqual(await store.list(checkpointPrefix(train.id)), []);
  // corrupt the parent's weights behind its manifest
  const key = stageFileKey(train.id, 'weights/wHh.npy');
  const bytes = (await store.get(key)).slice();
  bytes[bytes.length - 1] ^= 1;
  await store.put(key, bytes);
  const ev = await executeStage(evaluate, { store, codeVersion: 'test' });
  assert.equal(ev.status, 'failed');
  assert.match(ev.reason!, /^a parent's artifacts failed verification \(.*sha256.*\); run the sweep again to quarantine and re-run it$/);
});
