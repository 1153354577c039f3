/**
 * Verification and quarantine of stored stages.
 *
 * A stage is *complete* when its manifest is a readable manifest of that stage and every file it
 * lists has the recorded size and sha256; it is *corrupt* when a manifest exists but any of this
 * fails. A corrupt stage is never deleted silently: {@link quarantineStage} copies everything
 * under `stages/<id>/` to `quarantine/stages/<id>/<time>-<random>/` with a `reason.json`, then
 * removes the manifest (the stage is now incomplete and runs again) and the other files.
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../sweeps/identity.js';
import { stageDir, stageManifestKey, STAGES_PREFIX } from './layout.js';
import { parseStageManifest, StageManifestError, type StageManifest } from './stage-io.js';
import { getIfPresent, StoreChecksumError, StoreNotFoundError, type ArtifactStore } from './types.js';

/** Result of checking one stage. */
export type StageCheck =
  | { id: string; state: 'complete'; manifest: StageManifest; manifestSha: string }
  | { id: string; state: 'absent' }
  | { id: string; state: 'corrupt'; reason: string; /** sha256 of the manifest bytes seen. */ manifestSha: string };

/** `quarantine/` */
export const QUARANTINE_PREFIX = 'quarantine/';

/**
 * Checks a stage: its manifest and every file it lists (size and sha256); with `manifestOnly`,
 * the manifest alone (for stages the caller verified or wrote itself).
 * @returns `absent` without a manifest, `corrupt` with the first problem found, else `complete`
 */
export async function checkStage(store: ArtifactStore, id: string, opts: { manifestOnly?: boolean } = {}): Promise<StageCheck> {
  const bytes = await getIfPresent(store, stageManifestKey(id));
  if (bytes === null) return { id, state: 'absent' };
  const manifestSha = sha256Hex(bytes);
  let manifest: StageManifest;
  try {
    manifest = parseStageManifest(store, id, bytes);
  } catch (err) {
    if (err instanceof StageManifestError) return { id, state: 'corrupt', reason: err.message, manifestSha };
    throw err;
  }
  if (opts.manifestOnly) return { id, state: 'complete', manifest, manifestSha };
  for (const [name, entry] of Object.entries(manifest.files)) {
    const key = `${stageDir(id)}${name}`;
    if (!entry || typeof entry.sha256 !== 'string' || typeof entry.size !== 'number') {
      return { id, state: 'corrupt', reason: `${store.url} ${stageManifestKey(id)}: malformed entry for ${name}`, manifestSha };
    }
    let data: Uint8Array;
    try {
      data = await store.get(key);
    } catch (err) {
      if (err instanceof StoreNotFoundError) return { id, state: 'corrupt', reason: `${store.url} ${key}: missing (the manifest lists it)`, manifestSha };
      throw err;
    }
    if (data.byteLength !== entry.size) return { id, state: 'corrupt', reason: `${store.url} ${key}: size ${data.byteLength} bytes, manifest says ${entry.size}`, manifestSha };
    if (sha256Hex(data) !== entry.sha256) return { id, state: 'corrupt', reason: `${store.url} ${key}: sha256 does not match the manifest`, manifestSha };
  }
  return { id, state: 'complete', manifest, manifestSha };
}

/** Whether an error means a stored artifact failed verification (and the stage should be repaired). */
export function isCorruptionError(err: unknown): err is StoreChecksumError | StageManifestError {
  return err instanceof StoreChecksumError || err instanceof StageManifestError;
}

/**
 * Checks many stages, `parallel` at a time.
 * @returns the checks in the order of `ids`
 */
export async function checkStages(store: ArtifactStore, ids: readonly string[], parallel = 8, trusted?: ReadonlySet<string>): Promise<StageCheck[]> {
  const out: StageCheck[] = new Array<StageCheck>(ids.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      out[i] = await checkStage(store, ids[i], { manifestOnly: trusted?.has(ids[i]) ?? false });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, ids.length)) }, worker));
  return out;
}

/** sha256 of a stage's manifest bytes as stored now, or null when it has none. */
export async function manifestFingerprint(store: ArtifactStore, id: string): Promise<string | null> {
  const bytes = await getIfPresent(store, stageManifestKey(id));
  return bytes === null ? null : sha256Hex(bytes);
}

/**
 * Moves a stage's objects aside under `quarantine/stages/<id>/<time>-<random>/` (with
 * `reason.json`), manifest first removed, so the stage is incomplete and runs again.
 * @returns the quarantine folder's key prefix
 */
export async function quarantineStage(store: ArtifactStore, id: string, reason: string): Promise<string> {
  const dir = `${QUARANTINE_PREFIX}${stageDir(id)}${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}/`;
  const keys = await store.list(stageDir(id));
  if (keys.length === 0) return dir;
  const moved: string[] = [];
  for (const key of keys) {
    const data = await getIfPresent(store, key);
    if (data === null) continue;
    await store.put(`${dir}${key.slice(stageDir(id).length)}`, data);
    moved.push(key);
  }
  await store.put(`${dir}reason.json`, new TextEncoder().encode(`${JSON.stringify({ stageId: id, reason, quarantinedAt: new Date().toISOString(), files: moved.map((k) => k.slice(stageDir(id).length)) }, null, 2)}\n`));
  const manifest = stageManifestKey(id);
  await store.delete(manifest);
  for (const key of moved) if (key !== manifest) await store.delete(key);
  return dir;
}

/** Stage ids that have been quarantined at least once (from `quarantine/stages/<id>/`). */
export async function quarantinedStageIds(store: ArtifactStore): Promise<Set<string>> {
  const out = new Set<string>();
  for (const key of await store.list(`${QUARANTINE_PREFIX}${STAGES_PREFIX}`)) {
    const m = /^quarantine\/stages\/([0-9a-f]{8,64})\/[^/]+\/reason\.json$/.exec(key);
    if (m) out.add(m[1]);
  }
  return out;
}
