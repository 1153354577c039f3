/**
 * Helpers for the Temporal engine's tests and benchmark: where the dev server is (started by
 * `infra/temporal.sh`), small noop plans with unique identities, in-process workers, and a walk
 * over every workflow execution of a sweep (parent runs and batches) with their histories.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { noopSweep, type NoopSweepOptions } from '../sweeps/plan.js';
import type { Plan } from '../sweeps/types.js';
import { bundleSweepWorkflows, installTemporalLogging, startSweepWorker, type SweepWorker } from '../workers/temporal-worker.js';
import { sweepWorkflowId, type SweepWorkflowResult } from '../workflows/types.js';

/** Set DALESWEEP_SKIP_TEMPORAL=1 to skip the tests that need a Temporal server. */
export const SKIP_TEMPORAL = process.env.DALESWEEP_SKIP_TEMPORAL === '1';

/** Address of the Temporal dev server; throws with instructions when it is not configured. */
export function temporalAddress(): string {
  const a = process.env.DALESWEEP_TEMPORAL_ADDRESS;
  if (!a) {
    throw new Error(
      'DALESWEEP_TEMPORAL_ADDRESS is not set: start the dev server with `bash infra/temporal.sh start && eval "$(bash infra/temporal.sh env)"` (or set DALESWEEP_SKIP_TEMPORAL=1 to skip these tests)',
    );
  }
  return a;
}

/** A fresh directory for a filesystem store. */
export function tempStoreDir(): string {
  return mkdtempSync(join(tmpdir(), 'dalesweep-temporal-'));
}

/** A short random tag that keeps task queues and sweep ids of concurrent tests apart. */
export function uniqueTag(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A plan of `n` noop stages from the planner's {@link noopSweep}, salted (stage ids, and the name
 * `noop-<n>-<salt>`, hence the sweep id) so that each call's stages and workflows are its own on a
 * shared store and server. The salt defaults to a new unique tag.
 */
export function noopPlan(n: number, o: NoopSweepOptions): Plan {
  const salt = o.salt ?? uniqueTag();
  return noopSweep(n, { ...o, salt, name: o.name ?? `noop-${n}-${salt}` });
}

let bundle: ReturnType<typeof bundleSweepWorkflows> | null = null;

/** Starts an in-process worker (workflow bundle built once per process and cached on disk). */
export async function startTestWorker(o: {
  storeUrl: string;
  codeVersion: string;
  taskQueues: string[];
  controlQueue: string;
  concurrency?: number;
  workflows?: boolean;
}): Promise<SweepWorker> {
  // Expected stage failures would otherwise print as SDK warnings with stacks.
  installTemporalLogging((process.env.DALESWEEP_TEMPORAL_LOG as 'ERROR' | undefined) ?? 'ERROR');
  bundle ??= bundleSweepWorkflows();
  return startSweepWorker({
    address: temporalAddress(),
    namespace: 'default',
    taskQueues: o.taskQueues,
    concurrency: o.concurrency ?? 2,
    storeUrl: o.storeUrl,
    codeVersion: o.codeVersion,
    controlQueue: o.controlQueue,
    workflows: o.workflows,
    workflowBundle: await bundle,
    shutdownGraceMs: 2_000,
  });
}

/** One workflow execution of a sweep and its full history. */
export interface ExecutionHistory {
  workflowId: string;
  runId: string;
  history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
}

/**
 * Every execution of the latest sweep workflow chain: all parent runs (walked back through
 * continue-as-new) and every batch the last result reports.
 */
export async function sweepExecutions(client: Client, sweepId: string, result: SweepWorkflowResult): Promise<ExecutionHistory[]> {
  const out: ExecutionHistory[] = [];
  const wfId = sweepWorkflowId(sweepId);
  let runId: string | undefined = (await client.workflow.getHandle(wfId).describe()).runId;
  while (runId) {
    const history: ExecutionHistory['history'] = await client.workflow.getHandle(wfId, runId).fetchHistory();
    out.push({ workflowId: wfId, runId, history });
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId ? started.continuedExecutionRunId : undefined;
  }
  for (let b = 0; b < result.batches; b++) {
    const id = `${wfId}-b${b}`;
    const h = client.workflow.getHandle(id);
    const desc = await h.describe();
    out.push({ workflowId: id, runId: desc.runId, history: await h.fetchHistory() });
  }
  return out;
}
