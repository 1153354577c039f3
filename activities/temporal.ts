/**
 * Temporal activities of the sweep workflows. They wrap the shared stage runner: `runStage` runs
 * one stage of the plan (read from the store by index, cached per worker process) on the worker's
 * piscina stage pool, heartbeating the last checkpoint key so that a retried attempt (another
 * worker, after this one died) resumes from it. Payloads are keys and indices only.
 *
 * Failures: a stage that fails deterministically (NaN divergence, an exception in the model code)
 * comes back from the runner as a failed outcome and is thrown as a non-retryable `StageFailed`;
 * anything else (the store or the thread broke) is thrown as is and retried by Temporal.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactStore } from '../store/types.js';
import { StoreNotFoundError } from '../store/types.js';
import type { Plan } from '../sweeps/types.js';
import { scanPlan } from './plan-scan.js';
import { claimStage } from './stage-claim.js';
import { newLeaseOwner } from '../store/lease.js';
import type { StagePool } from '../workers/pool.js';
import type { StageEvent } from '../workers/stage-task.js';
import {
  CODE_VERSION_MISMATCH,
  PLAN_INVALID,
  STAGE_FAILED,
  type PlanSkeleton,
  type RunStageInput,
  type RunStageResult,
  type StageHeartbeat,
  type SweepActivities,
} from '../workflows/types.js';

/** What the activities need from the worker process. */
export interface SweepActivityDeps {
  store: ArtifactStore;
  /** URL the pool threads open the same store with. */
  storeUrl: string;
  /** Code version of this worker; a plan made with another version is refused. */
  codeVersion: string;
  pool: StagePool;
  /** Plans kept in memory per process. @default 4 */
  planCacheSize?: number;
  /** Called with the aggregation step at the end of a sweep; absent: finalize does nothing. */
  finalize?(storeUrl: string, planKey: string): Promise<void>;
}

/** Parses and checks a stored plan. */
export function parsePlan(bytes: Uint8Array, planKey: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(new TextDecoder().decode(bytes)) as Plan;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`plan ${planKey} is not JSON: ${(err as Error).message}`, PLAN_INVALID);
  }
  if (!plan || typeof plan.sweepId !== 'string' || !Array.isArray(plan.stages)) {
    throw ApplicationFailure.nonRetryable(`plan ${planKey} lacks sweepId/stages: expected a Plan (sweeps/types.ts)`, PLAN_INVALID);
  }
  return plan;
}

/** Builds the compact DAG skeleton of a plan (`complete` from the given set of complete stage ids). */
export function planSkeleton(plan: Plan, complete: Set<string>): PlanSkeleton {
  const index = new Map<string, number>();
  plan.stages.forEach((s, i) => index.set(s.id, i));
  const kindNames: string[] = [];
  const queueNames: string[] = [];
  const intern = (names: string[], name: string): number => {
    let k = names.indexOf(name);
    if (k < 0) k = names.push(name) - 1;
    return k;
  };
  const sk: PlanSkeleton = { n: plan.stages.length, kindNames, queueNames, kind: [], queue: [], parentsFlat: [], parentsStart: [0], complete: '' };
  let done = '';
  for (const s of plan.stages) {
    sk.kind.push(intern(kindNames, s.kind));
    sk.queue.push(intern(queueNames, s.queue || 'cpu'));
    for (const p of s.parents) {
      const pi = index.get(p);
      if (pi === undefined) throw ApplicationFailure.nonRetryable(`plan ${plan.sweepId}: stage ${s.id} names unknown parent ${p}`, PLAN_INVALID);
      sk.parentsFlat.push(pi);
    }
    sk.parentsStart.push(sk.parentsFlat.length);
    done += complete.has(s.id) ? '1' : '0';
  }
  sk.complete = done;
  return sk;
}

/** Creates the activity implementations for one worker process. */
export function createSweepActivities(deps: SweepActivityDeps): SweepActivities {
  const cacheSize = Math.max(1, deps.planCacheSize ?? 4);
  const owner = newLeaseOwner();
  const plans = new Map<string, Promise<Plan>>();

  const loadPlan = (planKey: string): Promise<Plan> => {
    let p = plans.get(planKey);
    if (p) {
      plans.delete(planKey); // re-insert: most recently used last
      plans.set(planKey, p);
      return p;
    }
    p = deps.store.get(planKey).then(
      (bytes) => parsePlan(bytes, planKey),
      (err: unknown) => {
        if (err instanceof StoreNotFoundError) throw ApplicationFailure.nonRetryable(`plan ${planKey} is not in store ${deps.store.url}`, PLAN_INVALID);
        throw err;
      },
    );
    p.catch(() => plans.delete(planKey)); // a failed load is not cached (the promise is also awaited by the caller)
    plans.set(planKey, p);
    while (plans.size > cacheSize) plans.delete(plans.keys().next().value!);
    return p;
  };

  const checkVersion = (cv: string): void => {
    if (cv !== deps.codeVersion) {
      throw ApplicationFailure.nonRetryable(
        `plan was made with code version ${cv} but this worker runs ${deps.codeVersion}: deploy the same build to clients and workers`,
        CODE_VERSION_MISMATCH,
      );
    }
  };

  return {
    async loadPlanSkeleton({ planKey, codeVersion }) {
      checkVersion(codeVersion);
      const plan = await loadPlan(planKey);
      const scan = await scanPlan(deps.store, plan, { repair: { owner } });
      for (const c of scan.corrupt) Context.current().log.warn(`stage ${c.id.slice(0, 12)}: ${c.reason}${c.quarantinedTo ? `; moved to ${c.quarantinedTo}` : ''}`);
      return planSkeleton(plan, scan.complete);
    },

    async runStage({ planKey, index, codeVersion }: RunStageInput): Promise<RunStageResult> {
      checkVersion(codeVersion);
      const plan = await loadPlan(planKey);
      const stage = plan.stages[index];
      if (!stage) throw ApplicationFailure.nonRetryable(`plan ${planKey} has no stage ${index} (it has ${plan.stages.length})`, PLAN_INVALID);
      const ctx = Context.current();
      let last: StageHeartbeat = (ctx.info.heartbeatDetails as StageHeartbeat | undefined) ?? {};
      const resumeCheckpointKey = last.checkpointKey;
      // Heartbeat while the stage runs on its thread, so a dead worker is noticed (and
      // cancellation delivered) within the heartbeat timeout even between epochs.
      const every = Math.max(200, Math.min(10_000, (ctx.info.heartbeatTimeoutMs ?? 30_000) / 3));
      const timer = setInterval(() => ctx.heartbeat(last), every);
      const onEvent = (e: StageEvent): void => {
        if (e.type === 'checkpoint') last = { checkpointKey: e.key, epoch: e.epoch };
        else if (e.type === 'warning') ctx.log.warn(e.message);
        ctx.heartbeat(last);
      };
      let outcome;
      try {
        // Claim the stage through its lease in the store (shared with local runs and other
        // workers); while another runner holds it, wait, heartbeating, until it is done or free.
        for (;;) {
          const claim = await claimStage(deps.store, stage, { owner, onWarning: (m) => ctx.log.warn(m) });
          if (claim.kind === 'complete') return { cached: true, wallMs: 0 };
          if (claim.kind === 'claimed') {
            try {
              outcome = await deps.pool.run({ stage, storeUrl: deps.storeUrl, codeVersion, resumeCheckpointKey }, onEvent, ctx.cancellationSignal);
            } finally {
              await claim.lease.release();
            }
            break;
          }
          await ctx.sleep(500);
        }
      } catch (err) {
        const reason: unknown = ctx.cancellationSignal.reason;
        if (ctx.cancellationSignal.aborted && reason instanceof Error) throw reason;
        throw err;
      } finally {
        clearInterval(timer);
      }
      if (outcome.status === 'failed') {
        throw ApplicationFailure.nonRetryable(outcome.reason ?? `stage ${stage.id} failed`, STAGE_FAILED);
      }
      return { cached: outcome.cached, wallMs: outcome.wallMs };
    },

    async finalizeSweep({ planKey }) {
      if (!deps.finalize) return false;
      await deps.finalize(deps.storeUrl, planKey);
      return true;
    },
  };
}
