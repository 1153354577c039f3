/**
 * Where a key of a store is, for the messages of the commands: its local path in a filesystem
 * store, else its URL.
 */
import type { ArtifactStore } from '../store/types.js';

/** Local path of a key in a filesystem store, or null for other stores. */
export function localPathOf(store: ArtifactStore, key: string): string | null {
  if (!store.url.startsWith('file://')) return null;
  return new URL(key, store.url.endsWith('/') ? store.url : `${store.url}/`).pathname;
}

/** Where a key can be found, for messages: its local path in a filesystem store, else its URL. */
export function locationOf(store: ArtifactStore, key: string): string {
  return localPathOf(store, key) ?? `${store.url.replace(/\/$/, '')}/${key}`;
}
