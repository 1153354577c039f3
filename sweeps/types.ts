/**
 * The planned form of a sweep: a DAG of stages. Produced by `sweeps/plan.ts`, consumed by the
 * engines (local, Temporal) and the stage runners in `activities/`. Everything here is plain
 * JSON so it can cross thread and workflow boundaries.
 */

import type { StageConfig } from './stage-config.js';

/** Kinds of stage. `noop` does no training (scheduling benchmarks and engine tests). */
export type StageKind = 'train' | 'prune' | 'finetune' | 'evaluate' | 'noop';
export const STAGE_KINDS: readonly StageKind[] = ['train', 'prune', 'finetune', 'evaluate', 'noop'];

/** A JSON value as it appears in a normalised stage configuration. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One node of the stage DAG. */
export interface Stage {
  /** Content address: sha256 hex of the canonical JSON of {kind, config, parents, codeVersion}. */
  id: string;
  kind: StageKind;
  /** Normalised configuration: everything this stage's result depends on, besides its parents. */
  config: StageConfig;
  /** Ids of the stages whose outputs this stage reads, in a fixed order. */
  parents: string[];
  /** Worker task queue this stage routes to (Temporal engine), e.g. `cpu`, `gpu`. @default 'cpu' */
  queue: string;
  /** Relative cost estimate (training sample-steps), used for progress ETA and `plan` output. */
  cost: number;
}

/**
 * One row of the results table: a leaf of the DAG (an evaluation) together with the sweep-axis
 * values that led to it. `stageIds` names the chain, root first.
 */
export interface RunRow {
  /** Sweep-axis values and fixed parameters of this row, flat (e.g. task, rule, seed, sparsity). */
  params: { [key: string]: Json };
  /** Id of the stage whose metrics this row reports. */
  stageId: string;
  /** The chain of stage ids from dense training to this stage. */
  stageIds: string[];
}

/** A planned sweep. */
export interface Plan {
  /** Sweep identity: hash of the sorted stage ids (the same sweep plans to the same id). */
  sweepId: string;
  /** Human name from the spec. */
  name: string;
  /** Stages in a topological order (parents before children), each once. */
  stages: Stage[];
  /** Rows of the results table. */
  rows: RunRow[];
}

/** What a finished stage reports back to the engine (small: artifacts stay in the store). */
export interface StageOutcome {
  stageId: string;
  kind: StageKind;
  status: 'succeeded' | 'failed';
  /** Failure reason (exception message, "loss diverged to NaN at epoch 3", ...). */
  reason?: string;
  /** Scalar metrics (final test loss, accuracy, achieved sparsity, MST overlap, ...). */
  metrics: { [key: string]: number | null };
  /** True when the stage was already complete in the store and was not run again. */
  cached: boolean;
  /** Wall time of the run in milliseconds (0 when cached). */
  wallMs: number;
}
