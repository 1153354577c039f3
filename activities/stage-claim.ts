/**
 * Claiming a stage before it runs, shared by both engines (the local engine's scheduler and the
 * Temporal `runStage` activity): take the stage's lease in the store (`store/lease.ts`), then
 * look at what the store holds under that lease. A stage that another runner completed meanwhile
 * is reported complete (never run twice); a stage whose stored artifacts fail verification is
 * quarantined (`store/verify.ts`) and handed back to be run again.
 */
import { tryAcquireStageLease, type LeaseOwner, type LeaseRecord, type StageLease } from '../store/lease.js';
import type { ArtifactStore } from '../store/types.js';
import { checkStage, quarantineStage } from '../store/verify.js';
import type { Stage } from '../sweeps/types.js';

/** What {@link claimStage} found. */
export type StageClaim =
  /** Another live runner holds the stage's lease: wait for it or do other work. */
  | { kind: 'busy'; holder: LeaseRecord | null }
  /** The stage is complete and verified (the lease is already released). */
  | { kind: 'complete'; metrics: Record<string, number | null> }
  /** This runner holds the lease (heartbeating): run the stage, then `lease.release()`. */
  | { kind: 'claimed'; lease: StageLease };

/** Options of {@link claimStage}. */
export interface ClaimOptions {
  owner: LeaseOwner;
  /** Warnings for the user: a quarantined stage, an expired lease taken over, a failed heartbeat. */
  onWarning?(message: string): void;
}

/**
 * Claims a stage for running (see the module comment).
 * @returns `busy`, `complete`, or `claimed` with a held lease the caller must release
 */
export async function claimStage(store: ArtifactStore, stage: Stage, opts: ClaimOptions): Promise<StageClaim> {
  const warn = opts.onWarning ?? ((m: string) => process.emitWarning(m));
  const short = `${stage.kind} ${stage.id.slice(0, 12)}`;
  const attempt = await tryAcquireStageLease(store, stage.id, {
    owner: opts.owner,
    onTakeover: (why, prev) => {
      if (prev?.token !== opts.owner.token) warn(`${short}: taking over an expired lease (${why})`);
    },
  });
  if (!attempt.acquired) return { kind: 'busy', holder: attempt.holder };
  const lease = attempt.lease;
  try {
    const check = await checkStage(store, stage.id);
    if (check.state === 'complete') {
      await lease.release();
      return { kind: 'complete', metrics: check.manifest.metrics };
    }
    if (check.state === 'corrupt') {
      const dir = await quarantineStage(store, stage.id, check.reason);
      warn(`${short}: ${check.reason}; moved to ${dir} and running it again`);
    }
  } catch (err) {
    await lease.release();
    throw err;
  }
  lease.keepAlive((err) => warn(`${short}: lease heartbeat failed: ${err instanceof Error ? err.message : String(err)}`));
  return { kind: 'claimed', lease };
}
