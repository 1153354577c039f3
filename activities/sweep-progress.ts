/**
 * How far a sweep is, read from the store alone (works for local and Temporal runs alike): the
 * stages complete, corrupt, failed (with their reasons), running (a live lease in the store) and
 * pending, overall and per stage kind; and the sweeps a store holds. `dalesweep status` and
 * `dalesweep serve` both use it.
 */
import { liveLeases, type LeaseRecord } from '../store/lease.js';
import { STAGES_PREFIX, stageFailureKey, stageIdOfManifestKey } from '../store/layout.js';
import { readStageFailure } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import { quarantinedStageIds } from '../store/verify.js';
import type { Plan, StageKind } from '../sweeps/types.js';
import { scanPlan, type PlanScan, type ScanOptions } from './plan-scan.js';

/** Stage counts; `complete + corrupt + failed + running + pending = total`. */
export interface StageCounts {
  total: number;
  complete: number;
  /** A manifest exists but the stage fails verification (it runs again on the next run). */
  corrupt: number;
  /** A failure record and no manifest (a re-run retries it). */
  failed: number;
  /** Not complete, and a runner holds a live lease on it now. */
  running: number;
  /** Everything else: not started, or waiting for its parents. */
  pending: number;
}

/** A stage a runner holds now. */
export interface RunningStage {
  id: string;
  kind: StageKind;
  host: string;
  pid: number;
  /** ISO 8601 time the runner claimed it. */
  since: string;
  /** ISO 8601 time of the runner's last heartbeat. */
  heartbeatAt: string;
}

/** A failed stage and the reason its runner recorded. */
export interface FailedStage {
  id: string;
  kind: StageKind;
  reason: string;
  /** ISO 8601; '' when the record is unreadable. */
  failedAt: string;
}

/** What {@link sweepStoreProgress} found. */
export interface SweepStoreProgress {
  counts: StageCounts;
  /** Per stage kind, in order of first appearance in the plan. */
  byKind: Record<string, StageCounts>;
  running: RunningStage[];
  failures: FailedStage[];
  corrupt: { id: string; reason: string }[];
  /** Stages of the plan quarantined at least once earlier (and re-run). */
  quarantined: number;
  /**
   * `complete`: every stage complete; `running`: some stage is held by a runner; `failed`:
   * nothing runs and some stage failed or is corrupt; `incomplete`: nothing runs, stages remain.
   */
  status: 'complete' | 'running' | 'failed' | 'incomplete';
}

/** Options of {@link sweepStoreProgress}. */
export interface ProgressOptions {
  /**
   * How a stored stage is judged complete: `artifacts`, its manifest and every file verified
   * against it (as `status` and `verify` do); `manifests`, its manifest read and checked, no
   * artifact read; `listing`, a manifest is listed (one listing of `stages/` for the whole sweep,
   * no read per stage: a live view's refresh; corrupt stages are then not detected).
   * @default 'artifacts'
   */
  check?: 'artifacts' | 'manifests' | 'listing';
  /** Count live leases as running stages. @default true */
  leases?: boolean;
  /** Milliseconds since the epoch, for lease expiry. @default Date.now() */
  now?: number;
}

function zero(): StageCounts {
  return { total: 0, complete: 0, corrupt: 0, failed: 0, running: 0, pending: 0 };
}

/** A sweep's progress from the store (see the module comment). Reads only. */
export async function sweepStoreProgress(store: ArtifactStore, plan: Plan, opts: ProgressOptions = {}): Promise<SweepStoreProgress> {
  const check = opts.check ?? 'artifacts';
  const scanOpts: ScanOptions = check === 'manifests' ? { trusted: new Set(plan.stages.map((s) => s.id)) } : {};
  const [keys, quarantined, leases] = await Promise.all([
    store.list(STAGES_PREFIX),
    quarantinedStageIds(store),
    opts.leases === false ? Promise.resolve(new Map<string, LeaseRecord>()) : liveLeases(store, opts.now),
  ]);
  const scan: Pick<PlanScan, 'complete' | 'corrupt'> =
    check === 'listing' ? { complete: new Set(keys.map(stageIdOfManifestKey).filter((id): id is string => id !== null)), corrupt: [] } : await scanPlan(store, plan, scanOpts);
  const failureKeys = new Set(keys.filter((k) => k.endsWith('/failure.json')));
  const corrupt = new Map(scan.corrupt.map((c) => [c.id, c.reason]));
  const counts = zero();
  const byKind: Record<string, StageCounts> = {};
  const running: RunningStage[] = [];
  const failures: FailedStage[] = [];
  let requarantined = 0;
  for (const s of plan.stages) {
    const c = (byKind[s.kind] ??= zero());
    const bump = (field: keyof StageCounts): void => {
      c[field]++;
      counts[field]++;
    };
    bump('total');
    if (quarantined.has(s.id)) requarantined++;
    if (scan.complete.has(s.id)) {
      bump('complete');
      continue;
    }
    if (corrupt.has(s.id)) {
      bump('corrupt');
      continue;
    }
    const lease = leases.get(s.id);
    if (lease) {
      bump('running');
      running.push({ id: s.id, kind: s.kind, host: lease.host, pid: lease.pid, since: lease.acquiredAt, heartbeatAt: lease.heartbeatAt });
      continue;
    }
    const f = failureKeys.has(stageFailureKey(s.id)) ? await readStageFailure(store, s.id) : null;
    if (f) {
      bump('failed');
      failures.push({ id: s.id, kind: s.kind, reason: f.reason, failedAt: f.failedAt });
    } else bump('pending');
  }
  const status: SweepStoreProgress['status'] =
    counts.complete === counts.total ? 'complete' : counts.running > 0 ? 'running' : counts.failed + counts.corrupt > 0 ? 'failed' : 'incomplete';
  return { counts, byKind, running, failures, corrupt: scan.corrupt.map((c) => ({ id: c.id, reason: c.reason })), quarantined: requarantined, status };
}

/** A sweep folder of a store: `sweeps/<name>-<sweepId first 12>/`. */
export interface SweepFolder {
  /** `<name>-<sweepId first 12>` */
  dir: string;
  name: string;
  /** The first 12 hex digits of the sweep id. */
  idPrefix: string;
  /** `sweeps/<dir>/plan.json` */
  planKey: string;
}

/** The sweep folders of a store (those with a plan.json), sorted by folder name. One listing. */
export async function listSweepFolders(store: ArtifactStore): Promise<SweepFolder[]> {
  const out: SweepFolder[] = [];
  for (const key of await store.list('sweeps/')) {
    const m = /^sweeps\/(([^/]+)-([0-9a-f]{12}))\/plan\.json$/.exec(key);
    if (m) out.push({ dir: m[1], name: m[2], idPrefix: m[3], planKey: key });
  }
  return out.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}
