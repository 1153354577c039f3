/**
 * The one stage runner both engines call (the local engine through the piscina pool, Temporal
 * activities likewise). Idempotent: a stage whose manifest is already in the store is returned as
 * cached without running. A stage that fails (divergence, exception) has its reason recorded in
 * the store (`failure.json`, never a manifest) and comes back as a failed outcome.
 */
import type { ArtifactStore } from '../store/types.js';
import type { Stage, StageOutcome } from '../sweeps/types.js';
import { readStageManifest, writeStageArtifacts, writeStageFailure } from '../store/stage-io.js';
import { deleteCheckpoints } from './checkpoint.js';
import { isCorruptionError } from '../store/verify.js';
import { runModelStage } from './model-stages.js';

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
  /** Aborts a running stage between epochs. */
  signal?: AbortSignal;
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

/**
 * Runs a stage unless it is already complete in the store, writes its artifacts (manifest last)
 * and returns its outcome. Never throws for a failure of the stage itself: the outcome says
 * `failed` with the reason. Throws only when the store itself cannot be used.
 */
export async function executeStage(stage: Stage, ctx: StageContext): Promise<StageOutcome> {
  const existing = await readStageManifest(ctx.store, stage.id);
  if (existing) {
    return { stageId: stage.id, kind: stage.kind, status: 'succeeded', metrics: existing.metrics, cached: true, wallMs: 0 };
  }
  const t0 = performance.now();
  let product: StageProduct;
  try {
    product = await runStageKind(stage, ctx);
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    let reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    // A parent changed behind its manifest after this run verified it: the next run repairs it.
    if (isCorruptionError(err)) reason = `a parent's artifacts failed verification (${err.message}); run the sweep again to quarantine and re-run it`;
    await writeStageFailure(ctx.store, stage, reason);
    return { stageId: stage.id, kind: stage.kind, status: 'failed', reason, metrics: {}, cached: false, wallMs: performance.now() - t0 };
  }
  const wallMs = performance.now() - t0;
  await writeStageArtifacts(ctx.store, stage, {
    files: product.files,
    metrics: product.metrics,
    timings: { wallMs },
    backend: product.backend,
    codeVersion: ctx.codeVersion,
    status: 'succeeded',
    extra: product.extra,
  });
  if (stage.kind === 'train' || stage.kind === 'finetune') await deleteCheckpoints(ctx.store, stage.id);
  return { stageId: stage.id, kind: stage.kind, status: 'succeeded', metrics: product.metrics, cached: false, wallMs };
}

async function runStageKind(stage: Stage, ctx: StageContext): Promise<StageProduct> {
  const cfg = stage.config;
  if (cfg.kind === 'noop') {
    if (cfg.sleepMs > 0) await new Promise((r) => setTimeout(r, cfg.sleepMs));
    if (cfg.fail) throw new DeterministicStageError(`noop stage ${cfg.index} was asked to fail`);
    return {
      files: { 'noop.json': new TextEncoder().encode(JSON.stringify({ index: cfg.index })) },
      metrics: { index: cfg.index },
      backend: 'none',
    };
  }
  return runModelStage(stage, ctx);
}
