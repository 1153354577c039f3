/**
 * What both engines report: the events of a running sweep (progress display, logs) and the final
 * state of each stage. The local engine (`local.ts`) and the Temporal client (`temporal.ts`)
 * both produce them; the CLI consumes them.
 */
import type { Stage, StageOutcome } from '../sweeps/types.js';

/** Final state of one stage after a run. `skipped`: a parent failed, so it never ran. */
export type StageFinalStatus = 'succeeded' | 'cached' | 'failed' | 'skipped' | 'cancelled';

/** Events the engine reports while it runs (progress display, logs). */
export type EngineEvent =
  | { type: 'start'; total: number; alreadyComplete: number; /** Summed `cost` of those stages. */ alreadyCompleteCost?: number }
  | { type: 'stage-start'; stage: Stage }
  | { type: 'stage-progress'; stage: Stage; epoch: number; epochs: number; loss?: number }
  | { type: 'stage-end'; stage: Stage; outcome: StageOutcome }
  | { type: 'stage-skipped'; stage: Stage; reason: string }
  /** Something the user should know about a stage (quarantined artifacts, a corrupt checkpoint). */
  | { type: 'stage-warning'; stage: Stage; message: string }
  /** Another runner holds the stage's lease; this run waits for it (first time only). */
  | { type: 'stage-waiting'; stage: Stage; holder: string };
