/**
 * The message a stage pool thread receives, and the events it sends back while it works.
 * Shared by the local engine and the Temporal worker (both run stages on the same pool).
 */
import type { MessagePort } from 'node:worker_threads';
import type { Stage } from '../sweeps/types.js';

/** One stage to run on a pool thread. Plain data: it crosses a thread boundary. */
export interface StageTask {
  stage: Stage;
  /** Store URL (see `store/open.ts`); each thread opens and caches its own store client. */
  storeUrl: string;
  codeVersion: string;
  /** Checkpoint to resume from (a retried Temporal attempt passes its last heartbeat's key). */
  resumeCheckpointKey?: string;
  /**
   * Threads the stage's big matrix products may use (rnn/parallel-gemm.ts): element 0 of a shared
   * Int32Array that the pool (workers/pool.ts) sets and changes while the stage runs, as other
   * stages end and start. A hint outside the stage's identity: results are the same for any
   * value. @default 1
   */
  threads?: Int32Array;
}

/** Progress of a training-like stage, once per epoch. */
export interface ProgressEvent {
  type: 'progress';
  stageId: string;
  epoch: number;
  epochs: number;
  loss?: number;
}

/** A checkpoint was written to the store under `key`. */
export interface CheckpointEvent {
  type: 'checkpoint';
  stageId: string;
  epoch: number;
  key: string;
}

/** Something the user should know (e.g. a corrupt checkpoint was set aside). */
export interface WarningEvent {
  type: 'warning';
  stageId: string;
  message: string;
}

export type StageEvent = ProgressEvent | CheckpointEvent | WarningEvent;

/** What the pool thread actually receives: the task plus a port for events. */
export interface StageTaskMessage extends StageTask {
  port: MessagePort;
}
