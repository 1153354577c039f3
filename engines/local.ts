/**
 * The local engine: runs a planned sweep on one machine with a piscina pool of stage threads.
 * Stages start as soon as their parents finish; stages already complete in the store are skipped
 * (resume after Ctrl-C, kill -9 or a power cut); a failed stage is recorded with its reason and
 * its descendants are skipped while independent stages go on.
 *
 * Integrity and exactly-once: before anything runs, every stored stage of the plan is verified
 * against its manifest and the corrupt ones are quarantined (`activities/plan-scan.ts`), and
 * each stage is claimed through its lease in the store before it runs
 * (`activities/stage-claim.ts`): a stage another runner holds is set aside and tried again later
 * while other stages go on, and one that runner completed is counted as already complete.
 */
import type { ArtifactStore } from '../store/types.js';
import type { Plan, Stage, StageOutcome } from '../sweeps/types.js';
import { createStagePool, type StagePool } from '../workers/pool.js';
import type { StageEvent } from '../workers/stage-task.js';
import { scanPlan } from '../activities/plan-scan.js';
import { claimStage } from '../activities/stage-claim.js';
import { newLeaseOwner, type LeaseOwner } from '../store/lease.js';
import { StageDag } from '../workflows/dag.js';
import type { EngineEvent, StageFinalStatus } from './events.js';

export interface LocalRunOptions {
  store: ArtifactStore;
  /** URL the pool threads open the store with (same store as `store`). */
  storeUrl: string;
  codeVersion: string;
  /** Stages run at once. @default os.availableParallelism() */
  concurrency?: number;
  /** An existing pool to use (otherwise one is created and destroyed). */
  pool?: StagePool;
  onEvent?(e: EngineEvent): void;
  /** Stops scheduling new stages; running stages are aborted (their artifacts are never half-visible). */
  signal?: AbortSignal;
  /** Identity of this runner in stage leases. @default a new one */
  owner?: LeaseOwner;
  /** Milliseconds between looks at a stage another runner holds. @default 500 */
  pollMs?: number;
}

/** Result of running a plan. */
export interface LocalRunResult {
  status: Map<string, StageFinalStatus>;
  outcomes: Map<string, StageOutcome>;
  /** Reasons of failed and skipped stages. */
  reasons: Map<string, string>;
  /** Stages that actually ran in this invocation (not cached). */
  ran: number;
  /** Stages complete at the end and verified by this run (checked at its start or under their lease, or written by it). */
  verified: Set<string>;
  wallMs: number;
}

/** Runs every stage of `plan` that is not already complete in the store. */
export async function runPlanLocally(plan: Plan, opts: LocalRunOptions): Promise<LocalRunResult> {
  const t0 = performance.now();
  const emit = opts.onEvent ?? (() => undefined);
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const indexOf = new Map(plan.stages.map((s, i) => [s.id, i]));
  const parentIndices = plan.stages.map((s) =>
    s.parents.map((p) => {
      const i = indexOf.get(p);
      if (i === undefined) throw new Error(`plan is inconsistent: stage ${s.id} names unknown parent ${p}`);
      return i;
    }),
  );

  const status = new Map<string, StageFinalStatus>();
  const outcomes = new Map<string, StageOutcome>();
  const reasons = new Map<string, string>();
  const owner = opts.owner ?? newLeaseOwner();
  await opts.store.removeStaleTemporaries?.();
  const scan = await scanPlan(opts.store, plan, { repair: { owner } });
  for (const c of scan.corrupt) {
    const what = c.quarantinedTo !== undefined ? `moved to ${c.quarantinedTo}; it runs again` : 'another runner is repairing it';
    emit({ type: 'stage-warning', stage: byId.get(c.id)!, message: `${c.reason} (${what})` });
  }
  const complete = scan.complete;
  const ready: Stage[] = [];
  /** Stages another runner holds, with the time to look again. */
  const deferred: { stage: Stage; at: number }[] = [];
  const waitingFor = new Set<string>();
  const pollMs = Math.max(10, opts.pollMs ?? 500);

  const dag = new StageDag(plan.stages.length, (i) => parentIndices[i], (i) => complete.has(plan.stages[i].id));
  const markDone = (id: string): void => {
    for (const c of dag.release(indexOf.get(id)!)) ready.push(plan.stages[c]);
  };
  const skipDescendants = (id: string, reason: string): void => {
    dag.skipDescendants(
      indexOf.get(id)!,
      (c) => !status.has(plan.stages[c].id),
      (c) => {
        const stage = plan.stages[c];
        status.set(stage.id, 'skipped');
        reasons.set(stage.id, reason);
        emit({ type: 'stage-skipped', stage, reason });
      },
    );
  };

  // Stages complete in the store count as done before anything runs.
  let already = 0;
  let alreadyCost = 0;
  for (const s of plan.stages) {
    if (complete.has(s.id)) {
      status.set(s.id, 'cached');
      already++;
      alreadyCost += s.cost;
    }
  }
  for (const i of dag.ready((i) => !complete.has(plan.stages[i].id))) ready.push(plan.stages[i]);
  emit({ type: 'start', total: plan.stages.length, alreadyComplete: already, alreadyCompleteCost: alreadyCost });

  const pool = opts.pool ?? createStagePool({ threads: opts.concurrency });
  const limit = Math.max(1, opts.concurrency ?? pool.threads);
  const running = new Map<string, Promise<void>>();
  let ran = 0;

  const warn = (stage: Stage) => (message: string): void => emit({ type: 'stage-warning', stage, message });

  /** Claims the stage, then runs it on the pool; a stage another runner holds is deferred. */
  const claimAndRun = async (stage: Stage): Promise<StageOutcome | null> => {
    const claim = await claimStage(opts.store, stage, { owner, onWarning: warn(stage) });
    if (claim.kind === 'busy') {
      if (!waitingFor.has(stage.id)) {
        waitingFor.add(stage.id);
        const h = claim.holder;
        emit({ type: 'stage-waiting', stage, holder: h ? `pid ${h.pid} on ${h.host}` : 'another runner' });
      }
      deferred.push({ stage, at: Date.now() + pollMs });
      return null;
    }
    if (claim.kind === 'complete') {
      return { stageId: stage.id, kind: stage.kind, status: 'succeeded', metrics: claim.metrics, cached: true, wallMs: 0 };
    }
    try {
      emit({ type: 'stage-start', stage });
      const onEvent = (e: StageEvent): void => {
        if (e.type === 'progress') emit({ type: 'stage-progress', stage, epoch: e.epoch, epochs: e.epochs, loss: e.loss });
        else if (e.type === 'warning') emit({ type: 'stage-warning', stage, message: e.message });
      };
      return await pool.run({ stage, storeUrl: opts.storeUrl, codeVersion: opts.codeVersion }, onEvent, opts.signal);
    } finally {
      await claim.lease.release();
    }
  };

  const launch = (stage: Stage): void => {
    const p = claimAndRun(stage)
      .then(
        (outcome) => {
          if (outcome === null) return; // deferred: another runner holds it
          outcomes.set(stage.id, outcome);
          if (!outcome.cached) ran++;
          emit({ type: 'stage-end', stage, outcome });
          if (outcome.status === 'succeeded') {
            status.set(stage.id, outcome.cached ? 'cached' : 'succeeded');
            markDone(stage.id);
          } else {
            status.set(stage.id, 'failed');
            const reason = outcome.reason ?? 'unknown failure';
            reasons.set(stage.id, reason);
            skipDescendants(stage.id, `parent stage ${stage.id.slice(0, 12)} (${stage.kind}) failed`);
          }
        },
        (err: unknown) => {
          if (opts.signal?.aborted) {
            status.set(stage.id, 'cancelled');
            return;
          }
          // The store or the thread itself broke: record it like a failed stage.
          const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          status.set(stage.id, 'failed');
          reasons.set(stage.id, reason);
          const outcome: StageOutcome = { stageId: stage.id, kind: stage.kind, status: 'failed', reason, metrics: {}, cached: false, wallMs: 0 };
          outcomes.set(stage.id, outcome);
          emit({ type: 'stage-end', stage, outcome });
          skipDescendants(stage.id, `parent stage ${stage.id.slice(0, 12)} (${stage.kind}) failed`);
        },
      )
      .finally(() => running.delete(stage.id));
    running.set(stage.id, p);
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((res) => {
      const done = (): void => {
        clearTimeout(t);
        opts.signal?.removeEventListener('abort', done);
        res();
      };
      const t = setTimeout(done, ms);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  try {
    while (ready.length > 0 || running.size > 0 || deferred.length > 0) {
      if (opts.signal?.aborted && running.size === 0) break;
      // Deferred stages whose time has come go to the back of the queue.
      const now = Date.now();
      for (let i = 0; i < deferred.length; ) {
        if (deferred[i].at <= now) ready.push(deferred.splice(i, 1)[0].stage);
        else i++;
      }
      while (ready.length > 0 && running.size < limit && !opts.signal?.aborted) {
        const next = ready.shift()!;
        if (status.has(next.id) || running.has(next.id)) continue;
        launch(next);
      }
      if (running.size === 0 && deferred.length === 0) break;
      const wake = deferred.length > 0 ? Math.max(0, Math.min(...deferred.map((d) => d.at)) - Date.now()) : null;
      if (running.size === 0) await sleep(wake ?? 0);
      else await Promise.race(wake === null ? [...running.values()] : [...running.values(), sleep(wake)]);
    }
  } finally {
    if (!opts.pool) await pool.destroy();
  }
  for (const s of plan.stages) {
    if (!status.has(s.id)) {
      status.set(s.id, 'cancelled');
    }
  }
  const verified = new Set([...status].filter(([, st]) => st === 'succeeded' || st === 'cached').map(([id]) => id));
  return { status, outcomes, reasons, ran, verified, wallMs: performance.now() - t0 };
}
