/**
 * Replay of recorded sweep histories (workflows/testdata, made by engines/record-histories.ts) against
 * the current workflow code: any non-deterministic change to the workflows fails here. Needs no
 * server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';

import { bundleSweepWorkflows, installTemporalLogging } from '../workers/temporal-worker.js';
import { decodeHistory, fixturePath, type RecordedHistory } from '../engines/record-histories.js';

installTemporalLogging('WARN');

const recorded = JSON.parse(readFileSync(fixturePath(), 'utf8')) as RecordedHistory[];
const histories = recorded.map((r) => ({ workflowId: r.workflowId, history: decodeHistory(r) }));

test('the recorded histories cover batches, failures, continue-as-new, pause/resume and cancel', () => {
  const types = new Set<string>();
  const signals = new Set<string>();
  for (const { history } of histories) {
    const first = history.events[0]?.workflowExecutionStartedEventAttributes;
    if (first?.workflowType?.name) types.add(first.workflowType.name);
    for (const ev of history.events) {
      if (ev.workflowExecutionContinuedAsNewEventAttributes) types.add('continued-as-new');
      if (ev.activityTaskFailedEventAttributes) types.add('activity-failed');
      if (ev.activityTaskCancelRequestedEventAttributes) types.add('activity-cancel-requested');
      const s = ev.workflowExecutionSignaledEventAttributes?.signalName;
      if (s) signals.add(s);
    }
  }
  for (const t of ['sweepWorkflow', 'stageBatchWorkflow', 'continued-as-new', 'activity-failed', 'activity-cancel-requested']) assert.ok(types.has(t), `fixtures lack ${t}`);
  assert.deepEqual([...signals].sort(), ['cancel', 'pause', 'resume']);
});

test('the current workflow code replays every recorded history without non-determinism', { timeout: 120_000 }, async () => {
  const workflowBundle = await bundleSweepWorkflows();
  let n = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle }, histories)) {
    assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
    n++;
  }
  assert.equal(n, histories.length);
});
