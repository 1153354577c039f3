/**
 * Store wrappers of `dalesweep serve`: a read-only view of the user's store (any write is an
 * error, so no request can change it), and an in-memory overlay on top of it that lets the report
 * code build a report on demand without writing to the store.
 */
import { StoreError, StoreNotFoundError, type ArtifactStore } from '../store/types.js';

/** A write was attempted through a read-only view. */
export class ReadOnlyStoreError extends StoreError {
  override name = 'ReadOnlyStoreError';
}

/** A view of `store` that reads and refuses every write with {@link ReadOnlyStoreError}. */
export function readOnlyStore(store: ArtifactStore): ArtifactStore {
  const refuse = (what: string, key: string): never => {
    throw new ReadOnlyStoreError(`${store.url}: ${what} ${key} refused: this view of the store is read-only`);
  };
  return {
    url: store.url,
    get: (key) => store.get(key),
    exists: (key) => store.exists(key),
    list: (prefix) => store.list(prefix),
    modifiedAt: store.modifiedAt ? (key) => store.modifiedAt!(key) : undefined,
    put: async (key) => refuse('write of', key),
    putIfAbsent: async (key) => refuse('write of', key),
    delete: async (key) => refuse('delete of', key),
  };
}

/**
 * A store that reads through to `base` and keeps every write in memory (never in `base`):
 * `finalizeSweep` run on it builds results and report.html that the caller reads back.
 */
export class OverlayStore implements ArtifactStore {
  private readonly written = new Map<string, Uint8Array>();
  private readonly deleted = new Set<string>();

  constructor(private readonly base: ArtifactStore) {}

  get url(): string {
    return this.base.url;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    this.written.set(key, data.slice());
    this.deleted.delete(key);
  }

  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    if (await this.exists(key)) return false;
    await this.put(key, data);
    return true;
  }

  async get(key: string): Promise<Uint8Array> {
    const w = this.written.get(key);
    if (w !== undefined) return w;
    if (this.deleted.has(key)) throw new StoreNotFoundError(`${this.url}: no object ${key}`);
    return this.base.get(key);
  }

  async exists(key: string): Promise<boolean> {
    if (this.written.has(key)) return true;
    if (this.deleted.has(key)) return false;
    return this.base.exists(key);
  }

  async list(prefix: string): Promise<string[]> {
    const keys = new Set((await this.base.list(prefix)).filter((k) => !this.deleted.has(k)));
    for (const k of this.written.keys()) if (k.startsWith(prefix)) keys.add(k);
    return [...keys].sort();
  }

  async delete(key: string): Promise<void> {
    this.written.delete(key);
    this.deleted.add(key);
  }
}
