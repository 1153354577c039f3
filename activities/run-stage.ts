/**
 * The one stage runner both engines call (the local engine through the piscina pool, Temporal
 * activities likewise). Idempotent: a stage whose manifest is already in the store is returned as
 * cached without running. A stage that fails (divergence, exception) has its reason recorded in
 * the store (`failure.json`, never a manifest) and comes back as a failed outcome.
 */
import type { Stage, StageOutcome } from '../sweeps/types.js';
import { readStageManifest, writeStageArtifacts, writeStageFailure } from '../store/stage-io.js';
import { deleteCheckpoints } from './checkpoint.js';
import { isCorruptionError } from '../store/verify.js';
import { runModelStage } from './model-stages.js';
import { DeterministicStageError, type StageContext, type StageProduct } from './stage-context.js';
import { resetGemmThreadsUsed, shutdownGemmThreads, useGemmThreads } from '../rnn/parallel-gemm.js';

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
  useGemmThreads(ctx.threads ?? 1);
  resetGemmThreadsUsed();
  try {
    try {
      product = await runStageKind(stage, ctx);
    } finally {
      // Helper threads end with the stage, whether it succeeded or failed.
      useGemmThreads(1);
      await shutdownGemmThreads();
    }
  } catch (err) {
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
