/**
 * Stage leases: a runner claims a stage in the store before running it, so that concurrent runs
 * of one sweep on one store (two `dalesweep run`, a local run beside Temporal workers, several
 * machines) execute every stage exactly once.
 *
 * A lease is a chain of generations under `leases/<stageId>/<generation>.json`, each created
 * with {@link ArtifactStore.putIfAbsent} (filesystem `link(2)`, S3 `If-None-Match: *`), so
 * exactly one claimant wins each generation. The highest generation is the current lease. Its
 * owner rewrites it as a heartbeat; another runner takes over (creates the next generation) only
 * when the current one is expired: its owner's process is dead (same host, checked by pid) or
 * its heartbeat is older than its time-to-live. Releasing deletes the owner's generations.
 *
 * Content of a generation: {@link LeaseRecord} (owner token, host, pid, times, ttl).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pidAlive } from './fs.js';
import type { ArtifactStore } from './types.js';
import { StoreNotFoundError } from './types.js';
import { stageDir } from './layout.js';

/** Who holds a lease: one per runner process (engine or worker). */
export interface LeaseOwner {
  /** Random token of the owning runner (distinguishes runners in one process). */
  token: string;
  host: string;
  pid: number;
}

/** The JSON of one lease generation. */
export interface LeaseRecord extends LeaseOwner {
  stageId: string;
  generation: number;
  /** ISO 8601 time the generation was created. */
  acquiredAt: string;
  /** ISO 8601 time of the owner's last heartbeat. */
  heartbeatAt: string;
  /** Milliseconds after the last heartbeat at which others may take the lease over. */
  ttlMs: number;
}

/** Default lease time-to-live: a live owner heartbeats 4 times within it. */
export const DEFAULT_LEASE_TTL_MS = 60_000;

/** A new owner identity for this process (random token, host name, pid). */
export function newLeaseOwner(): LeaseOwner {
  return { token: randomBytes(8).toString('hex'), host: hostname(), pid: process.pid };
}

/** `leases/<stageId>/` */
export function leasePrefix(stageId: string): string {
  stageDir(stageId); // validates the id
  return `leases/${stageId}/`;
}

function generationKey(stageId: string, generation: number): string {
  return `${leasePrefix(stageId)}${String(generation).padStart(10, '0')}.json`;
}

function generationOf(key: string): number {
  const m = /\/(\d{10})\.json$/.exec(key);
  return m ? Number(m[1]) : -1;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Why a lease record no longer protects its stage, or null while it is live.
 * @param now milliseconds since the epoch
 */
export function leaseExpiry(rec: LeaseRecord | null, now: number): string | null {
  if (rec === null) return 'unreadable lease record';
  if (rec.host === hostname() && !pidAlive(rec.pid)) return `owner pid ${rec.pid} on ${rec.host} is not running`;
  const beat = Date.parse(rec.heartbeatAt);
  if (!Number.isFinite(beat)) return 'lease record without a heartbeat time';
  const ttl = Number.isFinite(rec.ttlMs) && rec.ttlMs > 0 ? rec.ttlMs : DEFAULT_LEASE_TTL_MS;
  if (now - beat > ttl) return `last heartbeat ${Math.round((now - beat) / 1000)} s ago (ttl ${Math.round(ttl / 1000)} s)`;
  return null;
}

function parseRecord(bytes: Uint8Array): LeaseRecord | null {
  try {
    const r = JSON.parse(dec.decode(bytes)) as LeaseRecord;
    return r && typeof r === 'object' && typeof r.token === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** The current (highest) generation of a stage's lease, or null when none is held. */
async function currentGeneration(store: ArtifactStore, stageId: string): Promise<{ generation: number; record: LeaseRecord | null } | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const keys = (await store.list(leasePrefix(stageId))).filter((k) => generationOf(k) >= 0);
    if (keys.length === 0) return null;
    const top = keys.reduce((a, b) => (generationOf(b) > generationOf(a) ? b : a));
    try {
      return { generation: generationOf(top), record: parseRecord(await store.get(top)) };
    } catch (err) {
      if (!(err instanceof StoreNotFoundError)) throw err;
      // Released between the listing and the read: look again.
    }
  }
  return null;
}

/** Outcome of {@link tryAcquireStageLease}. */
export type LeaseAttempt = { acquired: true; lease: StageLease } | { acquired: false; holder: LeaseRecord | null };

/** Options of {@link tryAcquireStageLease}. */
export interface LeaseOptions {
  owner: LeaseOwner;
  /** @default DEFAULT_LEASE_TTL_MS, or DALESWEEP_LEASE_TTL_MS from the environment */
  ttlMs?: number;
  /** Called when an expired lease is taken over, with the reason. */
  onTakeover?(reason: string, previous: LeaseRecord | null): void;
}

function ttlFromEnv(): number {
  const v = Number(process.env.DALESWEEP_LEASE_TTL_MS);
  return Number.isFinite(v) && v >= 100 ? v : DEFAULT_LEASE_TTL_MS;
}

/**
 * Claims a stage without waiting: creates its lease when none is held or the current one has
 * expired. Never blocks on a live lease; the caller decides whether to wait or do other work.
 */
export async function tryAcquireStageLease(store: ArtifactStore, stageId: string, opts: LeaseOptions): Promise<LeaseAttempt> {
  const ttlMs = opts.ttlMs ?? ttlFromEnv();
  const cur = await currentGeneration(store, stageId);
  if (cur !== null) {
    const why = leaseExpiry(cur.record, Date.now());
    if (why === null) return { acquired: false, holder: cur.record };
    opts.onTakeover?.(why, cur.record);
  }
  const generation = (cur?.generation ?? 0) + 1;
  const now = new Date().toISOString();
  const record: LeaseRecord = { ...opts.owner, stageId, generation, acquiredAt: now, heartbeatAt: now, ttlMs };
  if (!(await store.putIfAbsent(generationKey(stageId, generation), enc.encode(JSON.stringify(record))))) {
    const now2 = await currentGeneration(store, stageId);
    return { acquired: false, holder: now2?.record ?? null };
  }
  return { acquired: true, lease: new StageLease(store, record) };
}

/** A held stage lease: heartbeat it while the stage runs, release it at the end. */
export class StageLease {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ArtifactStore,
    /** This generation's record. */
    readonly record: LeaseRecord,
  ) {}

  /** Rewrites this generation with the current time. */
  async heartbeat(): Promise<void> {
    this.record.heartbeatAt = new Date().toISOString();
    await this.store.put(generationKey(this.record.stageId, this.record.generation), enc.encode(JSON.stringify(this.record)));
  }

  /**
   * Heartbeats every quarter of the ttl until {@link release}. A failed heartbeat is reported to
   * `onError` (the lease may then expire; the stage's artifacts stay valid either way).
   */
  keepAlive(onError: (err: unknown) => void): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.heartbeat()).catch(onError);
    }, Math.max(50, Math.floor(this.record.ttlMs / 4)));
    this.timer.unref();
  }

  /** Whether this generation is still the current lease (no one took it over). */
  async held(): Promise<boolean> {
    const cur = await currentGeneration(this.store, this.record.stageId);
    return cur !== null && cur.generation === this.record.generation;
  }

  /** Stops the heartbeat and deletes this generation and the older ones. */
  async release(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    for (const key of await this.store.list(leasePrefix(this.record.stageId))) {
      const g = generationOf(key);
      if (g >= 0 && g <= this.record.generation) await this.store.delete(key);
    }
  }
}

/**
 * The live leases of a store, by stage id: the current generation of every stage lease whose
 * owner still heartbeats (see {@link leaseExpiry}). One listing of `leases/` plus one read per
 * leased stage; a read-only view of what runners hold now (`dalesweep serve`, `status`).
 * @param now milliseconds since the epoch @default Date.now()
 */
export async function liveLeases(store: ArtifactStore, now = Date.now()): Promise<Map<string, LeaseRecord>> {
  const out = new Map<string, LeaseRecord>();
  for (const lease of await storedLeases(store)) {
    if (lease.record !== null && leaseExpiry(lease.record, now) === null) out.set(lease.stageId, lease.record);
  }
  return out;
}

/** A stage's lease files as listed, and its current generation's record (null: unreadable). */
interface StoredLease {
  stageId: string;
  keys: string[];
  generation: number;
  record: LeaseRecord | null;
}

/**
 * Every stage lease in the store (optionally only of `only`): one listing of `leases/` plus one
 * read per leased stage; a lease released between the listing and its read is left out.
 */
async function storedLeases(store: ArtifactStore, only?: ReadonlySet<string>): Promise<StoredLease[]> {
  const byStage = new Map<string, string[]>();
  for (const key of await store.list('leases/')) {
    const m = /^leases\/([0-9a-f]{8,64})\/\d{10}\.json$/.exec(key);
    if (!m || (only !== undefined && !only.has(m[1]))) continue;
    const keys = byStage.get(m[1]) ?? [];
    keys.push(key);
    byStage.set(m[1], keys);
  }
  const out: StoredLease[] = [];
  for (const [stageId, keys] of byStage) {
    const top = keys.reduce((a, b) => (generationOf(b) > generationOf(a) ? b : a));
    try {
      out.push({ stageId, keys, generation: generationOf(top), record: parseRecord(await store.get(top)) });
    } catch (err) {
      if (!(err instanceof StoreNotFoundError)) throw err;
    }
  }
  return out;
}

/**
 * Deletes the leases left behind on stages that are already complete by owners that are gone
 * (a runner killed after writing a stage's manifest and before releasing its lease): for each of
 * `stageIds` with a lease in the store whose current generation has expired (see
 * {@link leaseExpiry}), that generation and the older ones. Only complete stages are given, so a
 * runner that claims one of them afterwards finds it complete and runs nothing. One listing of
 * `leases/` plus one read per leased stage of the set.
 * @returns the stage ids whose leases were removed
 */
export async function removeExpiredLeases(store: ArtifactStore, stageIds: ReadonlySet<string>, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const lease of await storedLeases(store, stageIds)) {
    if (leaseExpiry(lease.record, now) === null) continue; // its owner is still finishing up
    for (const key of lease.keys) if (generationOf(key) <= lease.generation) await store.delete(key);
    removed.push(lease.stageId);
  }
  return removed;
}
