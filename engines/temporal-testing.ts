/**
 * Helpers for the Temporal engine's tests and benchmark: where the dev server is (started by
 * `infra/temporal.sh`), small noop plans with unique identities, in-process workers, and a walk
 * over every workflow execution of a sweep (parent runs and batches) with their histories.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Plan, Stage } from '../sweeps/types.js';
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

export interface NoopPlanOptions {
  /** Simulated work per stage, ms. @default 0 */
  sleepMs?: number;
  /** Indices of stages that fail deterministically. */
  fail?: ReadonlySet<number>;
  /** Parents of stage i (indices < i). @default none */
  parents?(i: number): number[];
  /** Task queue of stage i. @default 'cpu' */
  queue?(i: number): string;
  /** Makes the stage ids (and sweep id) unique to this call. */
  salt?: string;
  codeVersion: string;
}

/** A plan of `n` noop stages (ids hashed like the planner's: kind, config, parents, code version). */
export function noopPlan(n: number, o: NoopPlanOptions): Plan {
  const stages: Stage[] = [];
  const salt = o.salt ?? uniqueTag();
  for (let i = 0; i < n; i++) {
    const config = { kind: 'noop' as const, index: i, sleepMs: o.sleepMs ?? 0, ...(o.fail?.has(i) ? { fail: true } : {}) };
    const parents = (o.parents?.(i) ?? []).map((p) => stages[p].id);
    const id = createHash('sha256').update(JSON.stringify({ kind: 'noop', config, parents, codeVersion: o.codeVersion, salt })).digest('hex');
    stages.push({ id, kind: 'noop', config, parents, queue: o.queue?.(i) ?? 'cpu', cost: 1 });
  }
  const sweepId = createHash('sha256').update(stages.map((s) => s.id).sort().join(',')).digest('hex').slice(0, 16);
  return { sweepId, name: `noop-${n}`, stages, rows: [] };
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
