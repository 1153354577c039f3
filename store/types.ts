/**
 * Artifact store interface: the filesystem store (`store/fs.ts`, default `./runs`) and the S3
 * store (`store/s3.ts`) both implement it. Keys are `/`-separated relative paths; a key that
 * would escape the store's root or prefix (`..`, absolute, empty segments, control characters)
 * is rejected with {@link StoreKeyError}.
 */

/** A key was malformed or would escape the store root. */
export class StoreKeyError extends Error {
  override name = 'StoreKeyError';
}

/** An object was missing. */
export class StoreNotFoundError extends Error {
  override name = 'StoreNotFoundError';
}

/** An object's bytes did not match the checksum its manifest recorded. */
export class StoreChecksumError extends Error {
  override name = 'StoreChecksumError';
}

/** Byte-level object store. */
export interface ArtifactStore {
  /** Human-readable location, e.g. `file:///abs/runs` or `s3://bucket/prefix`. Never contains credentials. */
  readonly url: string;
  /** Writes an object atomically (readers see the old object, or the whole new one). */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Reads an object; throws {@link StoreNotFoundError} when absent. */
  get(key: string): Promise<Uint8Array>;
  /** Whether an object exists. */
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes an object if present. */
  delete(key: string): Promise<void>;
}
