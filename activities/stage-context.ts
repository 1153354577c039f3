/**
 * What a stage runner receives and returns, and the error of a stage that would fail again: the
 * vocabulary shared by the runner (`run-stage.ts`) and the stage kinds (`model-stages.ts` and
 * the `stage-*.ts` modules it dispatches to), kept apart so that neither imports the other's
 * module.
 *
 * A running stage is stopped by its thread: the pool (`workers/pool.ts`) passes the engine's
 * AbortSignal to piscina, which ends the thread; the manifest, written last, never appears.
 */
import type { ArtifactStore } from '../store/types.js';

/** What a stage runner gets besides the stage itself. */
export interface StageContext {
  store: ArtifactStore;
  /** Version of the model code (part of every stage id). */
  codeVersion: string;
  /** Called once per epoch by training-like stages. */
  onProgress?(p: { epoch: number; epochs: number; loss?: number }): void;
  /** Checkpoint to resume from (key in the store), for a retried attempt. */
  resumeCheckpointKey?: string;
  /** Called with a warning the user should see (e.g. a corrupt checkpoint was set aside). */
  onWarning?(message: string): void;
  /** Called after each checkpoint is written, with its key and the epoch it holds. */
  onCheckpoint?(key: string, epoch: number): void;
  /**
   * Threads the `js` backend's big products may use: a number, or element 0 of a shared Int32Array
   * the engine updates while the stage runs (see rnn/parallel-gemm.ts). Never changes a result.
   * @default 1
   */
  threads?: number | Int32Array;
}

/** Files and metrics a stage produced, before they are written to the store. */
export interface StageProduct {
  files: Record<string, Uint8Array>;
  metrics: Record<string, number | null>;
  /**
   * Backend that computed it: the stage's backend choice (`js`, `tfjs`, `tfjs-node`, ...; the tfjs
   * engine's name, device and version go in `extra`), or `none`.
   */
  backend: string;
  /** Facts about this run recorded in the manifest only (e.g. the epoch a resumed stage started from). */
  extra?: { [key: string]: number | string | null };
}

/** A stage failed for a reason that will repeat if it is run again (e.g. NaN loss). */
export class DeterministicStageError extends Error {
  override name = 'DeterministicStageError';
}
