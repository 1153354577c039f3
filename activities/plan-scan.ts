/**
 * What the store holds for a plan, verified: which stages are complete (manifest and every file
 * checked against it), which are corrupt, and, with `repair`, the corrupt ones quarantined so
 * they run again. Complete stages built on a corrupt one are treated like it: their results came
 * from artifacts that can no longer be vouched for, so they are set aside and re-run as well.
 * Used at the start of a run (both engines), by `status`, `report` and `verify`.
 */
import { removeExpiredLeases, tryAcquireStageLease, type LeaseOwner } from '../store/lease.js';
import { completedStageIds } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import { checkStages, manifestFingerprint, quarantineStage } from '../store/verify.js';
import type { Plan } from '../sweeps/types.js';


/** A stage found corrupt (or built on a corrupt parent). */
export interface CorruptStage {
  id: string;
  reason: string;
  /** sha256 of the manifest bytes seen; quarantined only if still the same. */
  manifestSha: string;
  /** Set when {@link scanPlan} moved it aside: the quarantine folder. */
  quarantinedTo?: string;
}

/** Result of {@link scanPlan}. */
export interface PlanScan {
  /** Stages of the plan that are complete and verified. */
  complete: Set<string>;
  /** Metrics of the complete stages, from their manifests. */
  metrics: Map<string, Record<string, number | null>>;
  /** Corrupt stages of the plan, in plan (topological) order. */
  corrupt: CorruptStage[];
}

/** Options of {@link scanPlan}. */
export interface ScanOptions {
  /**
   * Quarantine the corrupt stages (under their leases, as this owner), and remove the expired
   * leases left on complete stages by runners killed between a stage's manifest and its release.
   */
  repair?: { owner: LeaseOwner };
  /**
   * Stages this process verified or wrote during this run: only their manifests are read (the
   * end of a local run, which verified everything at its start).
   */
  trusted?: ReadonlySet<string>;
  /** Stages verified at once. @default 8 */
  parallel?: number;
}

/** Verifies every stored stage of a plan; with `repair`, quarantines the corrupt ones. */
export async function scanPlan(store: ArtifactStore, plan: Plan, opts: ScanOptions = {}): Promise<PlanScan> {
  return scanStages(store, plan.stages, opts);
}

/** A stage as the scan needs it: its id and its parents' ids. */
export interface StageNode {
  id: string;
  parents: readonly string[];
}

/**
 * Verifies the stored ones of `stages` (in topological order: parents first); with `repair`,
 * quarantines the corrupt ones and the complete stages built on them.
 */
export async function scanStages(store: ArtifactStore, stages: readonly StageNode[], opts: ScanOptions = {}): Promise<PlanScan> {
  const stored = await completedStageIds(store);
  const ids = stages.filter((s) => stored.has(s.id)).map((s) => s.id);
  const checks = await checkStages(store, ids, opts.parallel ?? 8, opts.trusted);
  const complete = new Set<string>();
  const metrics = new Map<string, Record<string, number | null>>();
  const bad = new Map<string, CorruptStage>();
  const sha = new Map<string, string>();
  for (const c of checks) {
    if (c.state === 'complete') {
      complete.add(c.id);
      metrics.set(c.id, c.manifest.metrics);
      sha.set(c.id, c.manifestSha);
    } else if (c.state === 'corrupt') bad.set(c.id, { id: c.id, reason: c.reason, manifestSha: c.manifestSha });
  }
  // Plan order is topological: a stage's parents are decided before it.
  for (const s of stages) {
    if (!complete.has(s.id)) continue;
    const p = s.parents.find((id) => bad.has(id));
    if (p === undefined) continue;
    complete.delete(s.id);
    metrics.delete(s.id);
    bad.set(s.id, { id: s.id, reason: `built on stage ${p.slice(0, 12)}, whose artifacts failed verification`, manifestSha: sha.get(s.id)! });
  }
  const corrupt = stages.filter((s) => bad.has(s.id)).map((s) => bad.get(s.id)!);
  if (opts.repair) {
    await removeExpiredLeases(store, complete);
    for (const c of corrupt) {
      const attempt = await tryAcquireStageLease(store, c.id, { owner: opts.repair.owner });
      if (!attempt.acquired) continue; // its holder is re-running it
      try {
        // Set aside only what was seen: another runner may have repaired it since.
        if ((await manifestFingerprint(store, c.id)) === c.manifestSha) c.quarantinedTo = await quarantineStage(store, c.id, c.reason);
      } finally {
        await attempt.lease.release();
      }
    }
  }
  return { complete, metrics, corrupt };
}
