/**
 * One machine's cores shared among all its dalesweep stage pools, across processes: several
 * Temporal workers on one machine, or a worker beside a `dalesweep run`. Each pool keeps a small
 * file `<dir>/<pid>-<n>` holding how many of its stages are running (rewritten atomically on
 * every change and at least every {@link HEARTBEAT_MS} while it runs stages, removed when it has
 * none); a pool's stages then get their share of the cores as ranks among all running stages of
 * the machine (workers/pool.ts `shareCores`). Files of processes that are gone (killed, crashed),
 * or not rewritten for {@link STALE_MS} (their pid reused by another program), are ignored and
 * removed by whoever reads them. The
 * share is a hint for the big products' helper threads (rnn/parallel-gemm.ts): results never
 * depend on it.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** The registry directory all of a user's pools on this machine share (in the OS temp folder). */
export function defaultMachineCoresDir(): string {
  let user: string;
  try {
    user = String(userInfo().uid);
  } catch {
    user = 'user'; // no passwd entry (some containers): one registry for the machine
  }
  return join(tmpdir(), `dalesweep-cores-${user}`);
}

/** Where this pool's running stages rank among the machine's: stages ranked before them, and all. */
export interface MachineStages {
  /** Running stages of pools ranked before this one (lower pid, then lower pool number). */
  before: number;
  /** Running stages of every live pool, this one included. */
  total: number;
}

/** A pool with running stages rewrites its entry at least this often (ms). */
export const HEARTBEAT_MS = 10_000;
/** Entries not rewritten for this long (ms) are stale. */
export const STALE_MS = 60_000;

let poolsMade = 0;

/** True when process `pid` exists (a signal 0 reaches it, or it belongs to another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A pool's entry in the machine's registry of running stages. */
export class MachineCores {
  private readonly pid = process.pid;
  private readonly index = ++poolsMade;
  private readonly file: string;
  private published = 0;
  private writtenAt = 0;

  /** @param dir the registry directory (created when missing) */
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${this.pid}-${this.index}`);
  }

  /** Record that this pool runs `count` stages now (0 removes its file); also the heartbeat. */
  publish(count: number): void {
    if (count === this.published && (count === 0 || Date.now() - this.writtenAt < HEARTBEAT_MS)) return;
    this.published = count;
    this.writtenAt = Date.now();
    if (count === 0) {
      rmSync(this.file, { force: true });
      return;
    }
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, String(count));
    renameSync(tmp, this.file);
  }

  /**
   * This pool's `mine` running stages among the machine's live pools. A pool's file that cannot
   * be read counts as nothing (it is being replaced, or its pool just ended).
   */
  stages(mine: number): MachineStages {
    let before = 0;
    let total = mine;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return { before, total }; // the registry went away: this pool alone
    }
    for (const name of names) {
      const m = /^(\d+)-(\d+)$/.exec(name);
      if (m === null) continue;
      const pid = Number(m[1]);
      const index = Number(m[2]);
      if (pid === this.pid && index === this.index) continue;
      if (!alive(pid)) {
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      let count: number;
      try {
        const path = join(this.dir, name);
        if (Date.now() - statSync(path).mtimeMs > STALE_MS) {
          rmSync(path, { force: true });
          continue;
        }
        count = Number(readFileSync(path, 'utf8'));
      } catch {
        continue;
      }
      if (!Number.isInteger(count) || count <= 0) continue;
      total += count;
      if (pid < this.pid || (pid === this.pid && index < this.index)) before += count;
    }
    return { before, total };
  }

  /** Remove this pool's entry. */
  close(): void {
    this.publish(0);
  }
}
