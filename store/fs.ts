/**
 * Filesystem artifact store (default root `./runs`). Objects are plain files under the root;
 * writes are atomic (temporary file in the same folder, fsync, rename), so a reader sees the old
 * object or the whole new one, never a torn write.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StoreNotFoundError, type ArtifactStore } from './types.js';
import { TEMP_INFIX, validateKey, validatePrefix } from './layout.js';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
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

  /** @param root folder holding the objects (created on first write). @default './runs' */
  constructor(root = './runs') {
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  private path(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const file = this.path(key);
    const dir = dirname(file);
    await mkdir(dir, { recursive: true });
    const base = file.slice(dir.length + 1);
    const tmp = join(dir, `.${base}${TEMP_INFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await removeTemp(tmp);
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, file);
    } catch (err) {
      await removeTemp(tmp);
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.path(key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw new StoreNotFoundError(`${this.url}: no object ${key}`);
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    const file = this.path(key);
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
        entries = await readdir(dirKey ? join(this.root, ...dirKey.split('/').filter(Boolean)) : this.root, { withFileTypes: true });
      } catch (err) {
        const code = errno(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.includes(TEMP_INFIX)) continue;
        const key = dirKey + e.name;
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
    try {
      await unlink(this.path(key));
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }

  /** Absolute filesystem path of a key (for tools that need a file, e.g. the report's PNGs). */
  filePath(key: string): string {
    const p = this.path(key);
    if (!p.startsWith(this.root + sep)) throw new Error(`internal: ${key} resolved outside ${this.root}`);
    return p;
  }
}
