/**
 * The Temporal engine, client side: writes the plan to the artifact store, starts the sweep
 * workflow (id `dalesweep-<sweepId>`) or attaches to the one already running for the same sweep,
 * follows its progress through queries (feeding the same events as the local engine), and
 * returns the stage outcomes (metrics read back from the store's manifests).
 *
 * Stages run on `dalesweep worker` processes (workers/temporal-worker.ts) that share the store.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import type { ArtifactStore } from '../store/types.js';
import type { Plan, Stage, StageOutcome } from '../sweeps/types.js';
import { readStageManifest } from '../store/stage-io.js';
import { sweepKeys } from '../store/layout.js';
import { RunFailedError } from '../errors/errors.js';
import type { EngineEvent, StageFinalStatus } from './events.js';
import { batchProgressQuery, cancelSignal, pauseSignal, progressQuery, resumeSignal } from '../workflows/sweep.js';
import {
  DEFAULT_CONTROL_QUEUE,
  DEFAULT_TUNING,
  sweepWorkflowId,
  type BatchProgressSnapshot,
  type SweepProgressSnapshot,
  type SweepTuning,
  type SweepWorkflowInput,
  type SweepWorkflowResult,
} from '../workflows/types.js';

/** The Temporal frontend could not be reached (exit status 1 with this message, no stack). */
export class TemporalUnavailableError extends RunFailedError {
  override name = 'TemporalUnavailableError';
}

/** Store key of a sweep's plan (the same folder the local engine and the results tables use). */
export function planKeyFor(plan: Pick<Plan, 'name' | 'sweepId'>): string {
  return sweepKeys(plan.name, plan.sweepId).plan;
}

/** Counts of one stage kind (or of all stages). */
export interface StageCounts {
  total: number;
  /** Finished: succeeded, cached, failed or skipped. */
  done: number;
  running: number;
  failed: number;
}

/** A progress snapshot of a sweep on Temporal. */
export interface SweepProgress extends StageCounts {
  skipped: number;
  cached: number;
  byKind: Record<string, StageCounts>;
  paused: boolean;
  cancelled: boolean;
}

/** Where the Temporal service is. */
export interface TemporalConnectionOptions {
  /** `HOST:PORT` of the frontend. */
  address: string;
  /** @default 'default' */
  namespace?: string;
  /** An existing client (then `address` is not dialled). */
  client?: Client;
}

export interface TemporalRunOptions extends TemporalConnectionOptions {
  store: ArtifactStore;
  codeVersion: string;
  /** Stages running at once across the sweep. @default 64 */
  window?: number;
  /** Tuning beyond the window (batch size, history guard, heartbeat timeout, attempts). */
  tuning?: Partial<SweepTuning>;
  controlQueue?: string;
  /** Progress poll interval, ms. @default 500 */
  pollMs?: number;
  onProgress?(p: SweepProgress): void;
  /** The same events the local engine emits (derived from state changes between polls). */
  onEvent?(e: EngineEvent): void;
  /** Aborting cancels the sweep (stops dispatching; running stages finish unless `abortRunning`). */
  signal?: AbortSignal;
  abortRunning?: boolean;
  /** Read metrics of finished stages from their manifests. @default true */
  loadMetrics?: boolean;
}

export interface TemporalRunResult {
  workflowId: string;
  /** True when the sweep was already running and this call attached to it. */
  attached: boolean;
  status: Map<string, StageFinalStatus>;
  outcomes: Map<string, StageOutcome>;
  reasons: Map<string, string>;
  /** Stages that ran (not cached) in this workflow execution chain. */
  ran: number;
  cancelled: boolean;
  /** True when a worker's finalize activity wrote the results tables, summary and report. */
  finalized: boolean;
  /** Workflow runs of the parent (1 + continue-as-new count) and batches started. */
  runs: number;
  batches: number;
  wallMs: number;
}

const FINAL: Record<string, StageFinalStatus> = { S: 'succeeded', C: 'cached', F: 'failed', K: 'skipped', X: 'cancelled' };

async function clientFor(opts: TemporalConnectionOptions): Promise<{ client: Client; close(): Promise<void> }> {
  if (opts.client) return { client: opts.client, close: async () => undefined };
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: opts.address, connectTimeout: '10 seconds' });
  } catch (err) {
    throw new TemporalUnavailableError(
      `cannot reach the Temporal frontend at ${opts.address} (${(err as Error).message}); start one with \`bash infra/temporal.sh start\` or pass --temporal-address`,
    );
  }
  const client = new Client({ connection, namespace: opts.namespace ?? 'default' });
  return { client, close: () => connection.close() };
}

/** Per-stage state string merged from the parent's and in-flight batches' queries. */
async function mergedState(client: Client, handle: WorkflowHandle): Promise<{ snap: SweepProgressSnapshot; state: string | null }> {
  const snap = await handle.query(progressQuery);
  if (!snap.status) return { snap, state: null };
  const chars = snap.status.split('');
  await Promise.all(
    snap.batches.map(async (id) => {
      let b: BatchProgressSnapshot;
      try {
        b = await client.workflow.getHandle(id).query(batchProgressQuery);
      } catch {
        return; // the batch closed between the two queries: the parent's next answer has its result
      }
      b.indices.forEach((i, j) => {
        if (chars[i] === 'D' && b.status[j] !== '.') chars[i] = b.status[j];
      });
    }),
  );
  return { snap, state: chars.join('') };
}

/** Counts (per kind when `kinds`, one kind name per stage, is given) from a state string. */
export function countStates(kinds: readonly string[] | null, state: string, flags: { paused: boolean; cancelled: boolean }): SweepProgress {
  const p: SweepProgress = { total: 0, done: 0, running: 0, failed: 0, skipped: 0, cached: 0, byKind: {}, ...flags };
  const none: StageCounts = { total: 0, done: 0, running: 0, failed: 0 };
  Array.from(state).forEach((c, i) => {
    const k = kinds ? (p.byKind[kinds[i]] ??= { total: 0, done: 0, running: 0, failed: 0 }) : none;
    p.total++;
    k.total++;
    if (c === 'R') {
      p.running++;
      k.running++;
    } else if (c === 'S' || c === 'C' || c === 'F' || c === 'K') {
      p.done++;
      k.done++;
      if (c === 'F') {
        p.failed++;
        k.failed++;
      } else if (c === 'K') p.skipped++;
      else if (c === 'C') p.cached++;
    }
  });
  return p;
}

/** Emits local-engine-style events for the state changes from `prev` to `next`. */
function emitDiff(plan: Plan, prev: string, next: string, reasons: Record<string, string>, emit: (e: EngineEvent) => void): void {
  for (let i = 0; i < next.length; i++) {
    const a = prev[i];
    const b = next[i];
    if (a === b) continue;
    const stage: Stage = plan.stages[i];
    if (b === 'R') emit({ type: 'stage-start', stage });
    else if (b === 'S' || b === 'C' || b === 'F') {
      if (a !== 'R' && b !== 'C') emit({ type: 'stage-start', stage });
      const outcome: StageOutcome = { stageId: stage.id, kind: stage.kind, status: b === 'F' ? 'failed' : 'succeeded', metrics: {}, cached: b === 'C', wallMs: 0 };
      if (b === 'F') outcome.reason = reasons[String(i)] ?? 'failed';
      emit({ type: 'stage-end', stage, outcome });
    } else if (b === 'K') emit({ type: 'stage-skipped', stage, reason: 'an ancestor stage failed' });
  }
}

/**
 * Runs `plan` on Temporal: stores the plan, starts (or attaches to) its sweep workflow, reports
 * progress every `pollMs`, and resolves with every stage's final status once the sweep ends.
 */
export async function runSweepOnTemporal(plan: Plan, opts: TemporalRunOptions): Promise<TemporalRunResult> {
  const t0 = performance.now();
  const planKey = planKeyFor(plan);
  if (!(await opts.store.exists(planKey))) {
    await opts.store.put(planKey, new TextEncoder().encode(JSON.stringify(plan)));
  }
  const kinds = plan.stages.map((s) => s.kind);
  const tuning: SweepTuning = { ...DEFAULT_TUNING, ...(opts.tuning ?? {}) };
  if (opts.window !== undefined) tuning.window = opts.window;
  const input: SweepWorkflowInput = {
    sweepId: plan.sweepId,
    planKey,
    codeVersion: opts.codeVersion,
    tuning,
    controlQueue: opts.controlQueue ?? DEFAULT_CONTROL_QUEUE,
  };
  const workflowId = sweepWorkflowId(plan.sweepId);
  const { client, close } = await clientFor(opts);
  try {
    let handle: WorkflowHandle;
    let attached = false;
    try {
      handle = await client.workflow.start('sweepWorkflow', {
        workflowId,
        taskQueue: input.controlQueue,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = client.workflow.getHandle(workflowId);
      attached = true;
    }

    const onAbort = (): void => void handle.signal(cancelSignal, { abort: Boolean(opts.abortRunning) }).catch((e: unknown) => {
      process.stderr.write(`temporal: could not cancel ${workflowId}: ${(e as Error).message}\n`);
    });
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    let settled = false;
    const resultP = handle.result() as Promise<SweepWorkflowResult>;
    const watch = resultP.then(
      () => void (settled = true),
      () => void (settled = true),
    );
    let prev = '.'.repeat(plan.stages.length);
    let started = false;
    const report = (state: string, reasons: Record<string, string>, flags: { paused: boolean; cancelled: boolean }): void => {
      if (!started) {
        started = true;
        let already = 0;
        for (const c of state) if (c === 'C') already++;
        opts.onEvent?.({ type: 'start', total: plan.stages.length, alreadyComplete: already });
        prev = state.replace(/[^C]/g, '.'); // stages cached before the sweep started produce no events
      }
      if (opts.onEvent) emitDiff(plan, prev, state, reasons, opts.onEvent);
      prev = state;
      opts.onProgress?.(countStates(kinds, state, flags));
    };
    const pollMs = opts.pollMs ?? 500;
    while (!settled && (opts.onProgress || opts.onEvent)) {
      await Promise.race([watch, new Promise((r) => setTimeout(r, pollMs))]);
      if (settled) break;
      let m;
      try {
        m = await mergedState(client, handle);
      } catch (err) {
        if (settled) break; // the run continued as new or closed between polls
        // A query can fail transiently while the parent continues as new; try again next tick.
        if (err instanceof Error && /continued|not found|closed/i.test(err.message)) continue;
        throw err;
      }
      if (m.state) report(m.state, {}, { paused: m.snap.paused, cancelled: m.snap.cancelled });
    }
    const res = await resultP;
    opts.signal?.removeEventListener('abort', onAbort);
    report(res.status, res.reasons, { paused: false, cancelled: res.cancelled });

    const status = new Map<string, StageFinalStatus>();
    const outcomes = new Map<string, StageOutcome>();
    const reasons = new Map<string, string>();
    let ran = 0;
    const loadMetrics = opts.loadMetrics ?? true;
    const toLoad: Array<[number, Stage]> = [];
    plan.stages.forEach((s, i) => {
      const c = res.status[i];
      status.set(s.id, FINAL[c] ?? 'cancelled');
      if (c === 'S') ran++;
      if (c === 'F' || c === 'K') reasons.set(s.id, res.reasons[String(i)] ?? 'an ancestor stage failed');
      if (c === 'F') outcomes.set(s.id, { stageId: s.id, kind: s.kind, status: 'failed', reason: reasons.get(s.id), metrics: {}, cached: false, wallMs: 0 });
      if (c === 'S' || c === 'C') {
        outcomes.set(s.id, { stageId: s.id, kind: s.kind, status: 'succeeded', metrics: {}, cached: c === 'C', wallMs: 0 });
        if (loadMetrics) toLoad.push([i, s]);
      }
    });
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(16, toLoad.length) }, async () => {
        while (next < toLoad.length) {
          const [, s] = toLoad[next++];
          const m = await readStageManifest(opts.store, s.id);
          if (m) outcomes.get(s.id)!.metrics = m.metrics;
        }
      }),
    );
    return { workflowId, attached, status, outcomes, reasons, ran, cancelled: res.cancelled, finalized: res.finalized, runs: res.runs, batches: res.batches, wallMs: performance.now() - t0 };
  } finally {
    await close();
  }
}

/** Sends `pause`, `resume` or `cancel` to a running sweep. */
export async function signalSweep(sweepId: string, what: 'pause' | 'resume' | 'cancel', opts: TemporalConnectionOptions & { abortRunning?: boolean }): Promise<void> {
  const { client, close } = await clientFor(opts);
  try {
    const h = client.workflow.getHandle(sweepWorkflowId(sweepId));
    if (what === 'cancel') await h.signal(cancelSignal, { abort: Boolean(opts.abortRunning) });
    else await h.signal(what === 'pause' ? pauseSignal : resumeSignal);
  } finally {
    await close();
  }
}

/**
 * Progress of a sweep on Temporal (running or finished). With the plan, counts are broken down
 * by kind; without it, `byKind` is empty.
 */
export async function querySweepStatus(sweepId: string, opts: TemporalConnectionOptions & { plan?: Plan }): Promise<{ state: string | null; progress: SweepProgress | null; running: boolean }> {
  const { client, close } = await clientFor(opts);
  try {
    const handle = client.workflow.getHandle(sweepWorkflowId(sweepId));
    const desc = await handle.describe();
    let state: string | null;
    let flags = { paused: false, cancelled: false };
    if (desc.status.name === 'RUNNING') {
      const m = await mergedState(client, handle);
      state = m.state;
      flags = { paused: m.snap.paused, cancelled: m.snap.cancelled };
    } else if (desc.status.name === 'COMPLETED') {
      const r = (await handle.result()) as SweepWorkflowResult;
      state = r.status;
      flags.cancelled = r.cancelled;
    } else {
      state = null;
    }
    let progress: SweepProgress | null = null;
    if (state) {
      progress = countStates(opts.plan ? opts.plan.stages.map((s) => s.kind) : null, state, flags);
    }
    return { state, progress, running: desc.status.name === 'RUNNING' };
  } finally {
    await close();
  }
}
