/**
 * Filesystem artifact store (default root `./runs`). Objects are plain files under the root;
 * writes are atomic (temporary file in the same folder, fsync, rename), so a reader sees the old
 * object or the whole new one, never a torn write. `putIfAbsent` links a complete temporary file
 * into place (`link(2)` fails when the name exists), which is atomic across processes and on NFS.
 *
 * Confinement: no operation follows a symbolic link out of the root (a key whose deepest
 * existing folder resolves outside it is refused with {@link StoreKeyError}); listings do not
 * descend into linked folders. Temporary files carry the writer's host and pid, so the ones a
 * killed writer left behind are found and removed by {@link FsStore.removeStaleTemporaries}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StoreKeyError, StoreNotFoundError, StoreWriteError, type ArtifactStore } from './types.js';
import { TEMP_INFIX, validateKey, validatePrefix } from './layout.js';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** This host's tag in temporary file names (8 hex digits of the host name's sha256). */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** Temporary files older than this are removed whoever wrote them (a writer never takes this long). */
const STALE_TEMP_MS = 24 * 3600 * 1000;

/** Whether a process of this host is alive (EPERM: alive, another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

/** Removes a temporary file after a failed write (the write's own error is what is reported). */
async function removeTemp(tmp: string): Promise<void> {
  try {
    await unlink(tmp);
  } catch (err) {
    if (errno(err) !== 'ENOENT') process.emitWarning(`dalesweep: could not remove temporary file ${tmp}: ${(err as Error).message}`);
  }
}

/** An {@link ArtifactStore} over a local folder. */
export class FsStore implements ArtifactStore {
  /** Absolute root folder. */
  readonly root: string;
  readonly url: string;
  private realRoot: string | null = null;

  /** @param root folder holding the objects (created on first write). @default './runs' */
  constructor(root = './runs') {
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  private path(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** The root with symbolic links resolved (the root itself may be a link), once it exists. */
  private async resolvedRoot(): Promise<string> {
    if (this.realRoot !== null) return this.realRoot;
    try {
      this.realRoot = await realpath(this.root);
      return this.realRoot;
    } catch (err) {
      // Absent, or under a file: nothing exists below it, so nothing there can be a link.
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return this.root;
      throw err;
    }
  }

  /**
   * Refuses a path whose deepest existing ancestor (or itself) resolves outside the root.
   * @throws StoreKeyError naming the key and where it leads
   */
  private async confine(key: string, file: string): Promise<void> {
    const root = await this.resolvedRoot();
    let p = file;
    for (;;) {
      let real: string;
      try {
        real = await realpath(p);
      } catch (err) {
        const code = errno(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
        const up = dirname(p);
        if (up === p || !up.startsWith(this.root)) return;
        p = up;
        continue;
      }
      if (real !== root && !real.startsWith(root + sep)) {
        throw new StoreKeyError(`${this.url}: ${key} leads outside the store through a symbolic link (to ${real}); the store never follows links out of its root`);
      }
      return;
    }
  }

  /** Writes `data` to a new temporary file beside `file` and fsyncs it. @returns its path */
  private async writeTemp(key: string, file: string, data: Uint8Array): Promise<string> {
    const dir = dirname(file);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw this.writeError(key, err);
    }
    await this.confine(key, file);
    const base = file.slice(dir.length + 1);
    const tmp = join(dir, `.${base}${TEMP_INFIX}${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fh;
    try {
      fh = await open(tmp, 'wx');
    } catch (err) {
      throw this.writeError(key, err);
    }
    try {
      await fh.writeFile(data);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await removeTemp(tmp);
      throw this.writeError(key, err);
    }
    await fh.close();
    return tmp;
  }

  /** A write failure as a one-line store error naming the object and its path. */
  private writeError(key: string, err: unknown): Error {
    if (err instanceof StoreKeyError) return err;
    const code = errno(err);
    const file = join(this.root, ...key.split('/'));
    const what = code === 'ENOSPC' ? 'no space left on the device' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (err as Error).message;
    return new StoreWriteError(`cannot write ${file} (store ${this.url}): ${what}${code ? ` [${code}]` : ''}`, { cause: err });
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const file = this.path(key);
    const tmp = await this.writeTemp(key, file, data);
    try {
      await rename(tmp, file);
    } catch (err) {
      await removeTemp(tmp);
      throw this.writeError(key, err);
    }
  }

  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const file = this.path(key);
    const tmp = await this.writeTemp(key, file, data);
    try {
      await link(tmp, file);
      return true;
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      throw this.writeError(key, err);
    } finally {
      await removeTemp(tmp);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.path(key);
    await this.confine(key, file);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw new StoreNotFoundError(`${this.url}: no object ${key}`);
      throw err;
    }
  }

  async modifiedAt(key: string): Promise<Date | null> {
    const file = this.path(key);
    await this.confine(key, file);
    try {
      const st = await stat(file);
      return st.isFile() ? st.mtime : null;
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    const file = this.path(key);
    await this.confine(key, file);
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    // Walk the deepest folder the prefix names completely, then filter by the full prefix.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut + 1);
    const out: string[] = [];
    const walk = async (dirKey: string): Promise<void> => {
      let entries;
      try {
        const dir = dirKey ? join(this.root, ...dirKey.split('/').filter(Boolean)) : this.root;
        if (dirKey) await this.confine(dirKey.slice(0, -1), dir);
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        const code = errno(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.includes(TEMP_INFIX)) continue;
        const key = dirKey + e.name;
        // Dirents do not follow links: a linked folder or file is neither listed nor walked.
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(`${key}/`);
        } else if (e.isFile() && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    await walk(base);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    const file = this.path(key);
    await this.confine(key, dirname(file));
    try {
      await unlink(file);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }

  /**
   * Removes temporary files left by writers that died mid-write: those of this host whose pid is
   * no longer alive, and any older than a day. Links are not followed.
   * @returns how many were removed
   */
  async removeStaleTemporaries(): Promise<number> {
    const pattern = new RegExp(`${TEMP_INFIX.replace(/[.-]/g, '\\$&')}(?:([0-9a-f]{8})-)?(\\d+)-[0-9a-f]+$`);
    let removed = 0;
    const now = Date.now();
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          await walk(p);
          continue;
        }
        const m = e.isFile() ? pattern.exec(e.name) : null;
        if (!m) continue;
        const ours = m[1] === HOST_TAG || m[1] === undefined;
        let stale = ours && !pidAlive(Number(m[2]));
        if (!stale) {
          try {
            stale = now - (await lstat(p)).mtimeMs > STALE_TEMP_MS;
          } catch (err) {
            if (errno(err) === 'ENOENT') continue;
            throw err;
          }
        }
        if (!stale) continue;
        try {
          await unlink(p);
          removed++;
        } catch (err) {
          if (errno(err) !== 'ENOENT') throw err;
        }
      }
    };
    await walk(this.root);
    return removed;
  }

  /** Absolute filesystem path of a key (for tools that need a file, e.g. the report's PNGs). */
  filePath(key: string): string {
    const p = this.path(key);
    if (!p.startsWith(this.root + sep)) throw new Error(`internal: ${key} resolved outside ${this.root}`);
    return p;
  }
}
