/**
 * The Temporal engine end to end against the real dev server (`bash infra/temporal.sh start`;
 * DALESWEEP_TEMPORAL_ADDRESS): fan-out with continue-as-new under the history limits, idempotent
 * submission, failure propagation, and cancellation leaving the store consistent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { codeVersion } from '../activities/code-version.js';
import { openStore } from '../store/open.js';
import { readStageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { SweepWorker } from '../workers/temporal-worker.js';
import { sweepWorkflowId, type SweepWorkflowResult } from '../workflows/types.js';
import { querySweepStatus, runSweepOnTemporal, signalSweep, type SweepProgress } from './temporal.js';
import { SKIP_TEMPORAL, noopPlan, startTestWorker, sweepExecutions, temporalAddress, tempStoreDir, uniqueTag, type ExecutionHistory } from './temporal-testing.js';

const TAG = uniqueTag();
const CONTROL = `ctl-${TAG}`;
const CPU = `cpu-${TAG}`;
const CV = codeVersion();

/** runStage activities scheduled across the executions (each stage attempt chain counts once). */
function runStageSchedules(execs: ExecutionHistory[]): number[] {
  const idx: number[] = [];
  for (const e of execs) {
    for (const ev of e.history.events ?? []) {
      const a = ev.activityTaskScheduledEventAttributes;
      if (a?.activityType?.name === 'runStage') {
        const input = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString()) as { index: number };
        idx.push(input.index);
      }
    }
  }
  return idx;
}

describe('Temporal engine (dev server)', { skip: SKIP_TEMPORAL ? 'DALESWEEP_SKIP_TEMPORAL=1' : false, timeout: 300_000 }, () => {
  let worker: SweepWorker;
  let client: Client;
  let connection: Connection;
  let store: ArtifactStore;
  let storeUrl: string;
  const base = () => ({ address: temporalAddress(), client, store, codeVersion: CV, controlQueue: CONTROL, pollMs: 100 });
  const finalResult = async (sweepId: string): Promise<SweepWorkflowResult> => (await client.workflow.getHandle(sweepWorkflowId(sweepId)).result()) as SweepWorkflowResult;

  before(async () => {
    storeUrl = tempStoreDir();
    store = await openStore(storeUrl);
    connection = await Connection.connect({ address: temporalAddress(), connectTimeout: '5 seconds' });
    client = new Client({ connection });
    worker = await startTestWorker({ storeUrl, codeVersion: CV, taskQueues: [CPU], controlQueue: CONTROL, concurrency: 4 });
  });
  after(async () => {
    worker?.shutdown();
    await worker?.done;
    await connection?.close();
  });

  test('2,000 noop stages fan out in batches and continue as new; no execution exceeds 10,000 events', async () => {
    const n = 2000;
    // Two waves: stage i >= 1000 depends on stage i - 1000.
    const plan = noopPlan(n, { codeVersion: CV, queue: () => CPU, parents: (i) => (i >= 1000 ? [i - 1000] : []) });
    let last: SweepProgress | null = null;
    const res = await runSweepOnTemporal(plan, {
      ...base(),
      window: 32,
      tuning: { chunkSize: 100, maxHistoryEvents: 60 },
      onProgress: (p) => (last = p),
    });
    assert.equal(res.ran, n);
    assert.ok([...res.status.values()].every((s) => s === 'succeeded'));
    assert.ok(res.runs >= 2, `expected continue-as-new, got ${res.runs} run(s)`);
    assert.equal(last!.done, n);
    assert.equal(last!.byKind.noop.total, n);

    const execs = await sweepExecutions(client, plan.sweepId, await finalResult(plan.sweepId));
    assert.equal(execs.filter((e) => e.workflowId === res.workflowId).length, res.runs);
    assert.equal(execs.length, res.runs + res.batches);
    for (const e of execs) {
      const events = e.history.events?.length ?? 0;
      assert.ok(events > 0 && events <= 10_000, `${e.workflowId} has ${events} events`);
    }
    const scheduled = runStageSchedules(execs);
    assert.equal(scheduled.length, n);
    assert.equal(new Set(scheduled).size, n);
    for (const s of [plan.stages[0], plan.stages[n - 1]]) assert.ok(await readStageManifest(store, s.id));
  });

  test('submitting the same sweep twice runs every stage once; a finished sweep is not rerun', async () => {
    const n = 30;
    const plan = noopPlan(n, { codeVersion: CV, queue: () => CPU, sleepMs: 20 });
    const [a, b] = await Promise.all([runSweepOnTemporal(plan, { ...base(), window: 8 }), runSweepOnTemporal(plan, { ...base(), window: 8 })]);
    assert.deepEqual([a.attached, b.attached].sort(), [false, true]);
    assert.equal(a.workflowId, b.workflowId);
    for (const r of [a, b]) assert.ok([...r.status.values()].every((s) => s === 'succeeded'));
    const execs = await sweepExecutions(client, plan.sweepId, await finalResult(plan.sweepId));
    assert.equal(runStageSchedules(execs).length, n);

    const again = await runSweepOnTemporal(plan, { ...base(), window: 8 });
    assert.equal(again.attached, false);
    assert.equal(again.ran, 0);
    assert.equal(again.batches, 0);
    assert.ok([...again.status.values()].every((s) => s === 'cached'));
    assert.equal(again.outcomes.get(plan.stages[3].id)?.metrics.index, 3);
  });

  test('a failed stage is recorded once, not retried, and its descendants are skipped', async () => {
    // 0 -> 1 -> 2 chain with 1 failing; 3..7 independent.
    const plan = noopPlan(8, { codeVersion: CV, queue: () => CPU, fail: new Set([1]), parents: (i) => (i === 1 || i === 2 ? [i - 1] : []) });
    const res = await runSweepOnTemporal(plan, { ...base(), window: 4 });
    const st = plan.stages.map((s) => res.status.get(s.id));
    assert.deepEqual(st, ['succeeded', 'failed', 'skipped', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    assert.match(res.reasons.get(plan.stages[1].id) ?? '', /asked to fail/);
    assert.equal(res.outcomes.get(plan.stages[1].id)?.status, 'failed');
    const execs = await sweepExecutions(client, plan.sweepId, await finalResult(plan.sweepId));
    let attemptsOfFailed = 0;
    for (const e of execs) for (const ev of e.history.events ?? []) if (ev.activityTaskFailedEventAttributes) attemptsOfFailed++;
    assert.equal(attemptsOfFailed, 1);
    assert.ok(!(await readStageManifest(store, plan.stages[1].id)));
    assert.ok(!(await readStageManifest(store, plan.stages[2].id)));
  });

  test('cancelling mid-sweep stops it and leaves no stage marked complete without its artifacts', async () => {
    const n = 40;
    const plan = noopPlan(n, { codeVersion: CV, queue: () => CPU, sleepMs: 150 });
    const ac = new AbortController();
    const res = await runSweepOnTemporal(plan, {
      ...base(),
      window: 4,
      signal: ac.signal,
      abortRunning: true,
      onProgress: (p) => {
        if (p.done >= 6 && !ac.signal.aborted) ac.abort();
      },
    });
    assert.equal(res.cancelled, true);
    const counts = { succeeded: 0, cancelled: 0 };
    for (const s of plan.stages) {
      const st = res.status.get(s.id)!;
      assert.ok(st === 'succeeded' || st === 'cancelled', `stage ${s.config.kind} ended ${st}`);
      counts[st as 'succeeded' | 'cancelled']++;
      const manifest = await readStageManifest(store, s.id);
      if (st === 'succeeded') assert.ok(manifest, `succeeded stage ${s.id} has no manifest`);
      else assert.ok(!manifest, `cancelled stage ${s.id} has a manifest`);
    }
    assert.ok(counts.succeeded >= 6 && counts.cancelled > 0, JSON.stringify(counts));
    // Resubmitting finishes the rest without rerunning what was done.
    const rest = await runSweepOnTemporal(plan, { ...base(), window: 8 });
    assert.equal(rest.ran, counts.cancelled);
    assert.ok([...rest.status.values()].every((s) => s === 'succeeded' || s === 'cached'));
  });

  test('pause stops dispatching until resume; status can be queried meanwhile', async () => {
    const plan = noopPlan(12, { codeVersion: CV, queue: () => CPU, sleepMs: 100 });
    const conn = { address: temporalAddress(), client };
    let paused: Promise<void> | null = null;
    const run = runSweepOnTemporal(plan, {
      ...base(),
      window: 2,
      onProgress: () => {
        paused ??= signalSweep(plan.sweepId, 'pause', conn);
      },
    });
    while (!paused) await new Promise((r) => setTimeout(r, 20));
    await paused;
    // Once paused, only the stages already running may still finish.
    let at = await querySweepStatus(plan.sweepId, { ...conn, plan });
    while (at.progress === null || at.progress.running > 0) {
      await new Promise((r) => setTimeout(r, 100));
      at = await querySweepStatus(plan.sweepId, { ...conn, plan });
    }
    assert.equal(at.progress.paused, true);
    assert.equal(at.running, true);
    await new Promise((r) => setTimeout(r, 500));
    const later = await querySweepStatus(plan.sweepId, { ...conn, plan });
    assert.equal(later.progress?.done, at.progress.done);
    assert.ok(at.progress.done < plan.stages.length);
    assert.equal(later.progress?.byKind.noop.total, 12);
    await signalSweep(plan.sweepId, 'resume', conn);
    const res = await run;
    assert.ok([...res.status.values()].every((st) => st === 'succeeded'));
    const fin = await querySweepStatus(plan.sweepId, { ...conn, plan });
    assert.equal(fin.running, false);
    assert.equal(fin.progress?.done, 12);
  });
});
