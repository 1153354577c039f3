/**
 * Artifact store interface: the filesystem store (`store/fs.ts`, default `./runs`) and the S3
 * store (`store/s3.ts`) both implement it. Keys are `/`-separated relative paths; a key that
 * would escape the store's root or prefix (`..`, absolute, empty segments, control characters)
 * is rejected with {@link StoreKeyError}.
 */

/**
 * Base of every error the stores raise for a condition of the store itself (a missing object,
 * bad credentials, a full disk, a corrupt artifact): the CLI prints its message as one line and
 * exits 1. Messages name the store and the object, never credentials.
 */
export class StoreError extends Error {
  override name = 'StoreError';
}

/** A key was malformed or would escape the store root. */
export class StoreKeyError extends StoreError {
  override name = 'StoreKeyError';
}

/** An object was missing. */
export class StoreNotFoundError extends StoreError {
  override name = 'StoreNotFoundError';
}

/** An object's bytes did not match the checksum its manifest recorded. */
export class StoreChecksumError extends StoreError {
  override name = 'StoreChecksumError';
}

/** Byte-level object store. */
export interface ArtifactStore {
  /** Human-readable location, e.g. `file:///abs/runs` or `s3://bucket/prefix`. Never contains credentials. */
  readonly url: string;
  /** Writes an object atomically (readers see the old object, or the whole new one). */
  put(key: string, data: Uint8Array): Promise<void>;
  /**
   * Creates an object only if no object has that key, atomically across processes and machines
   * (filesystem: `link(2)` of a complete temporary file; S3: `If-None-Match: *`). Readers see no
   * object or the whole new one. Stage leases are built on it.
   * @returns true when this call created the object, false when one already existed
   */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean>;
  /** Reads an object; throws {@link StoreNotFoundError} when absent. */
  get(key: string): Promise<Uint8Array>;
  /** Whether an object exists. */
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes an object if present. */
  delete(key: string): Promise<void>;
  /**
   * When an object was last written (filesystem mtime, S3 LastModified), or null when absent.
   * Optional: callers fall back to showing no time.
   */
  modifiedAt?(key: string): Promise<Date | null>;
  /**
   * Removes temporary files that writers killed mid-write left behind (the filesystem store's
   * `.dalesweep-tmp-` files of dead processes); S3 has none.
   * @returns how many were removed
   */
  removeStaleTemporaries?(): Promise<number>;
}

/** Reads an object, or null when it is absent (other errors propagate). */
export async function getIfPresent(store: ArtifactStore, key: string): Promise<Uint8Array | null> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof StoreNotFoundError) return null;
    throw err;
  }
}

/** Writing to the store failed (no space, permissions, I/O): the message names the object. */
export class StoreWriteError extends StoreError {
  override name = 'StoreWriteError';
}
