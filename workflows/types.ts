/**
 * Plain data that crosses the Temporal boundary between the sweep workflows, their activities and
 * the client engine. Kept small on purpose: a stage is named by its index in the plan stored in
 * the artifact store, never by its full configuration, so workflow histories stay small however
 * large the sweep.
 *
 * Per-stage states are single characters in a string (one per plan index):
 * `.` pending, `D` dispatched to a batch (parent only), `R` running (batch only),
 * `S` succeeded (ran now), `C` cached (already complete in the store), `F` failed,
 * `K` skipped (an ancestor failed), `X` cancelled (never ran because the sweep was cancelled).
 */

/** One-character stage state; see the module comment. */
export type StageState = '.' | 'D' | 'R' | 'S' | 'C' | 'F' | 'K' | 'X';

/** The stage DAG without configurations: what the sweep workflow needs to schedule. */
export interface PlanSkeleton {
  /** Number of stages. */
  n: number;
  /** Distinct stage kinds; `kind[i]` indexes into it. */
  kindNames: string[];
  /** Distinct task queues; `queue[i]` indexes into it. */
  queueNames: string[];
  kind: number[];
  queue: number[];
  /** Parents of stage i are `parentsFlat[parentsStart[i] .. parentsStart[i+1])` (plan indices). */
  parentsFlat: number[];
  /** Length n + 1. */
  parentsStart: number[];
  /** One char per stage: `1` when its manifest is already in the store, `0` otherwise. */
  complete: string;
}

/** Options shared by the parent and the batch workflows. */
export interface SweepTuning {
  /** Stages running at once across the whole sweep. */
  window: number;
  /** Stages per batch (child workflow), at most {@link MAX_CHUNK}. */
  chunkSize: number;
  /** Parent history length (events) after which it drains its batches and continues as new. */
  maxHistoryEvents: number;
  /** Heartbeat timeout of a stage activity, ms (a dead worker is noticed after this long). */
  heartbeatTimeoutMs: number;
  /** Attempts per stage for infrastructure errors (deterministic stage failures never retry). */
  maxAttempts: number;
}

export const MAX_CHUNK = 500;

/** Default task queue of the sweep workflows and their control activities (workers, engine and CLI share it). */
export const DEFAULT_CONTROL_QUEUE = 'dalesweep';

export const DEFAULT_TUNING: SweepTuning = {
  window: 64,
  chunkSize: 200,
  maxHistoryEvents: 4000,
  heartbeatTimeoutMs: 30_000,
  maxAttempts: 10,
};

/** Input of the sweep (parent) workflow. */
export interface SweepWorkflowInput {
  sweepId: string;
  /** Store key of the plan JSON (`Plan`). */
  planKey: string;
  /** Code version the plan's stage ids were computed with; workers must match it. */
  codeVersion: string;
  tuning: SweepTuning;
  /** Task queue of the light control activities (skeleton, finalize): the workflow task queue. */
  controlQueue: string;
  /** State carried over continue-as-new (absent on the first run). */
  carried?: CarriedState;
}

/** What the parent carries from one run to the next. */
export interface CarriedState {
  status: string;
  /** Failure reasons by plan index (truncated). */
  reasons: Record<string, string>;
  paused: boolean;
  cancelled: boolean;
  abort: boolean;
  /** How many runs came before this one. */
  runs: number;
  /** Batches started so far (for unique child ids). */
  batches: number;
}

/** Input of one batch (child workflow): independent ready stages on one task queue. */
export interface BatchWorkflowInput {
  planKey: string;
  codeVersion: string;
  taskQueue: string;
  indices: number[];
  concurrency: number;
  heartbeatTimeoutMs: number;
  maxAttempts: number;
  /** Start paused (the parent was paused while the batch was being started). */
  paused: boolean;
}

/** Result of one batch. */
export interface BatchResult {
  /** One state char per entry of `indices`: S, C, F or X. */
  status: string;
  reasons: Record<string, string>;
}

/** Result of a whole sweep. */
export interface SweepWorkflowResult {
  sweepId: string;
  /** Final state char per plan index: S, C, F, K or X. */
  status: string;
  reasons: Record<string, string>;
  cancelled: boolean;
  /** Workflow runs (1 + continue-as-new count). */
  runs: number;
  batches: number;
  /** Whether the finalize (aggregation) activity ran. */
  finalized: boolean;
}

/** Answer of the parent's `progress` query. */
export interface SweepProgressSnapshot {
  /** Null until the plan skeleton has been loaded. */
  status: string | null;
  /** Workflow ids of batches in flight (query them for per-stage running state). */
  batches: string[];
  paused: boolean;
  cancelled: boolean;
  runs: number;
}

/** Answer of a batch's `progress` query. */
export interface BatchProgressSnapshot {
  indices: number[];
  /** One char per index: `.`, R, S, C, F or X. */
  status: string;
}

/** Input of the `runStage` activity. */
export interface RunStageInput {
  planKey: string;
  index: number;
  codeVersion: string;
}

/** Result of the `runStage` activity (failures are thrown as non-retryable `StageFailed`). */
export interface RunStageResult {
  cached: boolean;
  wallMs: number;
}

/** Heartbeat details of `runStage`: the last checkpoint the attempt wrote. */
export interface StageHeartbeat {
  checkpointKey?: string;
  epoch?: number;
}

/** Application failure types the activities throw. */
export const STAGE_FAILED = 'StageFailed';
export const CODE_VERSION_MISMATCH = 'CodeVersionMismatch';
export const PLAN_INVALID = 'PlanInvalid';

/** Workflow id of a sweep: derived from its identity, so resubmitting attaches to it. */
export function sweepWorkflowId(sweepId: string): string {
  return `dalesweep-${sweepId}`;
}

/** Maximum characters of a failure reason kept in workflow state. */
export const MAX_REASON = 300;

/** The activities the sweep workflows call (implemented in `activities/temporal.ts`). */
export interface SweepActivities {
  /** Reads the plan from the store and returns its skeleton. */
  loadPlanSkeleton(input: { planKey: string; codeVersion: string }): Promise<PlanSkeleton>;
  /** Runs stage `index` of the plan on the worker's stage pool. */
  runStage(input: RunStageInput): Promise<RunStageResult>;
  /** Aggregates a finished sweep's results (when the aggregation step is available). */
  finalizeSweep(input: { planKey: string }): Promise<boolean>;
}
