/**
 * Durations of stages already complete in a store, for `dalesweep plan`'s wall-time estimate.
 * Every stage manifest records the stage's wall time (`timings.wallMs`, the run of the stage
 * itself, without the writing of its artifacts) and, for a stage resumed from a checkpoint, the
 * epoch it resumed from (`extra.resumedFromEpoch`). Reads only.
 */
import { STAGES_PREFIX, stageIdOfManifestKey } from '../store/layout.js';
import { readStageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { StageConfig } from '../sweeps/stage-config.js';
import type { Plan } from '../sweeps/types.js';

/** A completed stage's config and duration. */
export interface StoredStageTiming {
  id: string;
  config: StageConfig;
  /** Wall time of the stage's own run, seconds. */
  seconds: number;
  /** Epochs this run trained (training-like stages; fewer than `epochs` after a resume). */
  epochsRun?: number;
  codeVersion: string;
}

/** What a store holds for an estimate of a plan. */
export interface StoreTimings {
  /** Stages of the plan with a manifest in the store (listed, not verified). */
  complete: Set<string>;
  /** Durations read from manifests of this code version. */
  timings: StoredStageTiming[];
  /** Manifests listed in the store. */
  listed: number;
  /** Manifests that could not be read (left out; `run` quarantines them). */
  unreadable: number;
}

/** Options of {@link readStoreTimings}. */
export interface StoreTimingsOptions {
  /** Only manifests written by this code version are used for durations. */
  codeVersion: string;
  /** Most manifests read (the plan's own complete stages first). @default 500 */
  maxReads?: number;
}

/**
 * One listing of `stages/`, then the manifests of the plan's complete stages and of other stages
 * (up to `maxReads` in all, 16 at a time). Unreadable manifests are counted and left out (the
 * run that uses them repairs them).
 */
export async function readStoreTimings(store: ArtifactStore, plan: Plan, opts: StoreTimingsOptions): Promise<StoreTimings> {
  const ids = new Set((await store.list(STAGES_PREFIX)).map(stageIdOfManifestKey).filter((id): id is string => id !== null));
  const planIds = new Set(plan.stages.map((s) => s.id));
  const complete = new Set([...ids].filter((id) => planIds.has(id)));
  const order = [...complete, ...[...ids].filter((id) => !planIds.has(id))].slice(0, opts.maxReads ?? 500);
  const timings: StoredStageTiming[] = [];
  let unreadable = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < order.length) {
      const id = order[next++];
      let m;
      try {
        m = await readStageManifest(store, id);
      } catch {
        unreadable++; // counted and reported; `run` quarantines it
        continue;
      }
      const wallMs = m?.timings?.wallMs;
      if (!m || m.codeVersion !== opts.codeVersion || typeof wallMs !== 'number' || !Number.isFinite(wallMs) || wallMs < 0) continue;
      const t: StoredStageTiming = { id, config: m.config, seconds: wallMs / 1000, codeVersion: m.codeVersion };
      if (m.config.kind === 'train' || m.config.kind === 'finetune') {
        const from = m.extra?.resumedFromEpoch;
        t.epochsRun = m.config.epochs - (typeof from === 'number' ? from : 0);
      }
      timings.push(t);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { complete, timings, listed: ids.size, unreadable };
}
