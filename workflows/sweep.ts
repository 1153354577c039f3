/**
 * The sweep workflows (deterministic Temporal workflow code: no I/O, no clocks, no randomness).
 *
 * `sweepWorkflow` (the parent, id `dalesweep-<sweepId>`) loads the stage DAG's skeleton through a
 * small activity, then dispatches ready stages (all parents succeeded) in batches: each batch is a
 * `stageBatchWorkflow` child that runs up to a few hundred independent stages of one task queue
 * as `runStage` activities with bounded concurrency. The stages in flight across all batches never
 * exceed the sweep's window. When its own history grows past `maxHistoryEvents` (or the server
 * suggests it) the parent stops dispatching, lets its batches finish and continues as new,
 * carrying one state character per stage. Neither the parent nor any batch therefore outgrows the
 * history limits however large the sweep.
 *
 * A failed stage (non-retryable `StageFailed` from the activity, or retries exhausted) is recorded
 * with its reason and its descendants are skipped. Signals `pause`, `resume` and `cancel` (stop
 * dispatching; `abort: true` also cancels running stages, whose artifacts never become visible
 * because the runner writes the manifest last) reach the parent and, through it, every batch.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import {
  CODE_VERSION_MISMATCH,
  MAX_CHUNK,
  MAX_REASON,
  PLAN_INVALID,
  STAGE_FAILED,
  type BatchProgressSnapshot,
  type BatchResult,
  type BatchWorkflowInput,
  type CarriedState,
  type StageState,
  type SweepActivities,
  type SweepProgressSnapshot,
  type SweepWorkflowInput,
  type SweepWorkflowResult,
} from './types.js';
import { StageDag } from './dag.js';

/** Stop dispatching new stages until `resume`. */
export const pauseSignal = defineSignal('pause');
/** Resume after `pause`. */
export const resumeSignal = defineSignal('resume');
/** Stop dispatching; with `abort: true` also cancel running stages. */
export const cancelSignal = defineSignal<[{ abort?: boolean }?]>('cancel');
/** Parent progress: per-stage state string and the batches in flight. */
export const progressQuery = defineQuery<SweepProgressSnapshot>('progress');
/** Batch progress: per-stage state of the batch's stages. */
export const batchProgressQuery = defineQuery<BatchProgressSnapshot>('batchProgress');

function reasonOf(err: unknown): string {
  let e: unknown = err;
  // ActivityFailure / ChildWorkflowFailure wrap the interesting message in `cause`.
  while (e instanceof Error && e.cause instanceof Error && (e.name === 'ActivityFailure' || e.name === 'ChildWorkflowFailure')) e = e.cause;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.length > MAX_REASON ? msg.slice(0, MAX_REASON - 1) + '…' : msg;
}

/**
 * Runs a batch of independent stages of one task queue, at most `concurrency` at once.
 * Returns one state char per index: S, C, F or X.
 */
export async function stageBatchWorkflow(input: BatchWorkflowInput): Promise<BatchResult> {
  const { runStage } = proxyActivities<SweepActivities>({
    taskQueue: input.taskQueue,
    // Training stages may run for hours; a dead worker is noticed through the heartbeat timeout.
    startToCloseTimeout: '7 days',
    heartbeatTimeout: input.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: input.maxAttempts,
      nonRetryableErrorTypes: [STAGE_FAILED, CODE_VERSION_MISMATCH, PLAN_INVALID],
    },
  });
  const n = input.indices.length;
  const status: StageState[] = input.indices.map(() => '.');
  const reasons: Record<string, string> = {};
  let paused = input.paused;
  let cancelled = false;
  const scope = new CancellationScope();
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(cancelSignal, (opts) => {
    cancelled = true;
    if (opts?.abort) scope.cancel();
  });
  setHandler(batchProgressQuery, () => ({ indices: input.indices, status: status.join('') }));

  const limit = Math.max(1, Math.min(input.concurrency, n));
  let next = 0;
  let running = 0;
  const runOne = async (j: number): Promise<void> => {
    const index = input.indices[j];
    status[j] = 'R';
    running++;
    try {
      const r = await scope.run(() => runStage({ planKey: input.planKey, index, codeVersion: input.codeVersion }));
      status[j] = r.cached ? 'C' : 'S';
    } catch (err) {
      if (isCancellation(err)) {
        status[j] = 'X';
      } else {
        status[j] = 'F';
        reasons[String(index)] = reasonOf(err);
      }
    } finally {
      running--;
    }
  };
  const pending: Promise<void>[] = [];
  for (;;) {
    await condition(() => cancelled || next >= n || (!paused && running < limit));
    if (cancelled || next >= n) break;
    pending.push(runOne(next++));
  }
  await Promise.all(pending);
  for (let j = 0; j < n; j++) if (status[j] === '.') status[j] = 'X';
  return { status: status.join(''), reasons };
}

interface InFlight {
  indices: number[];
  concurrency: number;
  handle?: ChildWorkflowHandle<typeof stageBatchWorkflow>;
}

/** The sweep: dispatches the stage DAG in batches and continues as new before its history grows large. */
export async function sweepWorkflow(input: SweepWorkflowInput): Promise<SweepWorkflowResult> {
  const tuning = input.tuning;
  const window = Math.max(1, Math.floor(tuning.window));
  const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.floor(tuning.chunkSize)));
  const perBatch = Math.max(1, Math.ceil(window / 2));
  const carried: CarriedState | undefined = input.carried;
  let paused = carried?.paused ?? false;
  let cancelled = carried?.cancelled ?? false;
  let abort = carried?.abort ?? false;
  let batches = carried?.batches ?? 0;
  const runs = (carried?.runs ?? 0) + 1;
  const reasons: Record<string, string> = { ...(carried?.reasons ?? {}) };
  let status: StageState[] | null = null;
  const inflight = new Map<string, InFlight>();
  let dirty = false;

  const broadcast = (send: (h: ChildWorkflowHandle<typeof stageBatchWorkflow>) => Promise<void>): void => {
    for (const b of inflight.values()) if (b.handle) void send(b.handle).catch(() => undefined); // a batch that already closed cannot be signalled; nothing to do
  };
  setHandler(pauseSignal, () => {
    paused = true;
    dirty = true;
    broadcast((h) => h.signal(pauseSignal));
  });
  setHandler(resumeSignal, () => {
    paused = false;
    dirty = true;
    broadcast((h) => h.signal(resumeSignal));
  });
  setHandler(cancelSignal, (opts) => {
    cancelled = true;
    abort = abort || Boolean(opts?.abort);
    dirty = true;
    broadcast((h) => h.signal(cancelSignal, { abort }));
  });
  setHandler(progressQuery, () => ({
    status: status ? status.join('') : null,
    batches: [...inflight.entries()].filter(([, b]) => b.handle).map(([id]) => id),
    paused,
    cancelled,
    runs,
  }));

  const control = proxyActivities<SweepActivities>({
    taskQueue: input.controlQueue,
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: [PLAN_INVALID, CODE_VERSION_MISMATCH] },
  });
  const sk = await control.loadPlanSkeleton({ planKey: input.planKey, codeVersion: input.codeVersion });
  const n = sk.n;
  const st: StageState[] = carried ? (carried.status.split('') as StageState[]) : Array.from({ length: n }, () => '.');
  for (let i = 0; i < n; i++) if (st[i] === '.' && sk.complete[i] === '1') st[i] = 'C';
  status = st;

  const dag = StageDag.fromFlat(sk.parentsStart, sk.parentsFlat, (p) => st[p] === 'S' || st[p] === 'C');
  const open = (i: number): boolean => st[i] === '.';
  const skipDescendants = (i: number): void => dag.skipDescendants(i, open, (c) => void (st[c] = 'K'));
  for (let i = 0; i < n; i++) if (st[i] === 'F' || st[i] === 'K') skipDescendants(i);
  const ready: number[] = dag.ready(open);

  const markDone = (i: number): void => {
    for (const c of dag.release(i)) if (open(c)) ready.push(c);
  };
  let reserved = 0;
  const rollover = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= tuning.maxHistoryEvents;
  };

  const launch = (indices: number[], concurrency: number): void => {
    const id = `${workflowInfo().workflowId}-b${batches++}`;
    for (const i of indices) st[i] = 'D';
    reserved += concurrency;
    const entry: InFlight = { indices, concurrency };
    inflight.set(id, entry);
    const args: BatchWorkflowInput = {
      planKey: input.planKey,
      codeVersion: input.codeVersion,
      taskQueue: sk.queueNames[sk.queue[indices[0]]],
      indices,
      concurrency,
      heartbeatTimeoutMs: tuning.heartbeatTimeoutMs,
      maxAttempts: tuning.maxAttempts,
      paused,
    };
    const settle = (res: BatchResult | null, err: unknown): void => {
      inflight.delete(id);
      reserved -= concurrency;
      dirty = true;
      indices.forEach((i, j) => {
        const c = (res ? res.status[j] : 'F') as StageState;
        st[i] = c;
        if (c === 'S' || c === 'C') markDone(i);
        else if (c === 'F') {
          reasons[String(i)] = res ? (res.reasons[String(i)] ?? 'unknown failure') : `batch ${id} failed: ${reasonOf(err)}`;
          skipDescendants(i);
        }
      });
    };
    void startChild(stageBatchWorkflow, {
      workflowId: id,
      args: [args],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    })
      .then(async (handle) => {
        entry.handle = handle;
        // Signals sent before the batch started did not reach it.
        if (cancelled) await handle.signal(cancelSignal, { abort });
        else if (paused !== args.paused) await handle.signal(paused ? pauseSignal : resumeSignal);
        return handle.result();
      })
      .then(
        (res) => settle(res, null),
        (err: unknown) => settle(null, err),
      );
  };

  const dispatch = (): void => {
    while (!paused && !cancelled && ready.length > 0 && !rollover()) {
      const q = sk.queue[ready[0]];
      let readyOfQueue = 0;
      for (const i of ready) if (sk.queue[i] === q) readyOfQueue++;
      // A batch takes a chunk, but when few stages are ready it takes half of them at most, so
      // that two batches share the window instead of one running everything on half of it.
      const count = Math.min(chunk, readyOfQueue, Math.max(perBatch, Math.ceil(readyOfQueue / 2)));
      const want = Math.min(count, perBatch);
      const free = window - reserved;
      if (free < want && inflight.size > 0) return;
      const concurrency = Math.max(1, Math.min(want, free));
      const take: number[] = [];
      const rest: number[] = [];
      for (const i of ready) {
        if (take.length < count && sk.queue[i] === q && st[i] === '.') take.push(i);
        else if (st[i] === '.') rest.push(i);
      }
      ready.length = 0;
      ready.push(...rest);
      if (take.length > 0) launch(take, concurrency);
    }
  };

  for (;;) {
    dispatch();
    if (inflight.size === 0) {
      if (cancelled || ready.length === 0) break;
      if (!paused && rollover()) {
        await continueAsNew<typeof sweepWorkflow>({
          ...input,
          carried: { status: st.join(''), reasons, paused, cancelled, abort, runs, batches },
        });
      }
    }
    await condition(() => dirty);
    dirty = false;
  }

  for (let i = 0; i < n; i++) if (st[i] === '.' || st[i] === 'D') st[i] = 'X';
  let finalized = false;
  if (!cancelled) finalized = await control.finalizeSweep({ planKey: input.planKey });
  return { sweepId: input.sweepId, status: st.join(''), reasons, cancelled, runs, batches, finalized };
}
