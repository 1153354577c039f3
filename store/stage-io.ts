/**
 * A stage's artifacts in a store: its files under `stages/<id>/`, then `manifest.json` LAST, with
 * the sha256 and size of every file. A stage is complete exactly when its manifest exists, so a
 * crash mid-write leaves an incomplete stage that is simply run again. A failed stage gets
 * `failure.json` (never a manifest) and is re-run on resume.
 */
import type { ArtifactStore } from './types.js';
import { StoreChecksumError, StoreError, StoreKeyError, StoreNotFoundError } from './types.js';
import type { Json, Stage, StageKind } from '../sweeps/types.js';
import type { StageConfig } from '../sweeps/stage-config.js';
import { sha256Hex } from '../sweeps/identity.js';
import { RESERVED_STAGE_FILES, STAGES_PREFIX, stageFailureKey, stageFileKey, stageIdOfManifestKey, stageManifestKey } from './layout.js';

/** Manifest format version. */
export const MANIFEST_VERSION = 1;

/** `stages/<id>/manifest.json`. */
export interface StageManifest {
  manifestVersion: number;
  stageId: string;
  kind: StageKind;
  config: StageConfig;
  parents: string[];
  status: 'succeeded';
  /** Each file the stage wrote: sha256 hex and size in bytes. */
  files: Record<string, { sha256: string; size: number }>;
  /** Scalar metrics (non-finite values are stored as null). */
  metrics: Record<string, number | null>;
  /** Durations in milliseconds (e.g. wallMs). */
  timings: Record<string, number>;
  /** Backend that computed it (`js`, `tfjs`, `none`). */
  backend: string;
  codeVersion: string;
  /** ISO 8601 time the manifest was written. */
  finishedAt: string;
  /** Anything else the runner wants recorded (plain JSON). */
  extra?: { [key: string]: Json };
}

/** `stages/<id>/failure.json`. */
export interface StageFailure {
  stageId: string;
  kind: StageKind;
  config: StageConfig;
  parents: string[];
  status: 'failed';
  reason: string;
  failedAt: string;
}

export interface StageArtifacts {
  /** File name (may contain `/`) → bytes. `manifest.json` and `failure.json` are reserved. */
  files: Record<string, Uint8Array>;
  metrics: Record<string, number | null>;
  timings: Record<string, number>;
  backend: string;
  codeVersion: string;
  status: 'succeeded';
  extra?: { [key: string]: Json };
}

/** A manifest exists but is not a readable manifest of that stage. */
export class StageManifestError extends StoreError {
  override name = 'StageManifestError';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function jsonBytes(v: unknown): Uint8Array {
  return enc.encode(`${JSON.stringify(v, null, 2)}\n`);
}

function finiteOrNull(m: Record<string, number | null>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typeof v === 'number' && Number.isFinite(v) ? v : null;
  return out;
}

/**
 * Writes a finished stage: every file, then the manifest (last), then removes any earlier
 * `failure.json`.
 * @returns the manifest written
 */
export async function writeStageArtifacts(store: ArtifactStore, stage: Stage, a: StageArtifacts): Promise<StageManifest> {
  const files: StageManifest['files'] = {};
  const names = Object.keys(a.files).sort();
  for (const name of names) {
    if (RESERVED_STAGE_FILES.includes(name)) throw new StoreKeyError(`stage ${stage.id}: file name ${name} is reserved`);
    stageFileKey(stage.id, name); // validates before anything is written
  }
  // Up to 4 uploads at a time (S3 round trips); the manifest waits for all of them.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++];
      const data = a.files[name];
      await store.put(stageFileKey(stage.id, name), data);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, names.length) }, worker));
  for (const name of names) files[name] = { sha256: sha256Hex(a.files[name]), size: a.files[name].byteLength };
  const manifest: StageManifest = {
    manifestVersion: MANIFEST_VERSION,
    stageId: stage.id,
    kind: stage.kind,
    config: stage.config,
    parents: stage.parents,
    status: a.status,
    files,
    metrics: finiteOrNull(a.metrics),
    timings: a.timings,
    backend: a.backend,
    codeVersion: a.codeVersion,
    finishedAt: new Date().toISOString(),
    ...(a.extra ? { extra: a.extra } : {}),
  };
  await store.put(stageManifestKey(stage.id), jsonBytes(manifest));
  await store.delete(stageFailureKey(stage.id));
  return manifest;
}

/**
 * Reads a stage's manifest.
 * @returns null when the stage is not complete
 * @throws StageManifestError when the manifest is unreadable or belongs to another stage
 */
export async function readStageManifest(store: ArtifactStore, id: string): Promise<StageManifest | null> {
  const key = stageManifestKey(id);
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (err) {
    if (err instanceof StoreNotFoundError) return null;
    throw err;
  }
  return parseStageManifest(store, id, bytes);
}

/**
 * Parses the bytes of a stage's manifest.
 * @throws StageManifestError (naming the store and key) when they are not a manifest of that stage
 */
export function parseStageManifest(store: ArtifactStore, id: string, bytes: Uint8Array): StageManifest {
  const key = stageManifestKey(id);
  let m: StageManifest;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as StageManifest;
  } catch (err) {
    throw new StageManifestError(`${store.url} ${key}: not valid JSON (${(err as Error).message.slice(0, 100)})`);
  }
  if (!m || typeof m !== 'object' || m.stageId !== id || typeof m.files !== 'object' || m.files === null || Array.isArray(m.files) || typeof m.metrics !== 'object' || m.metrics === null) {
    throw new StageManifestError(`${store.url} ${key}: not a manifest of stage ${id}`);
  }
  return m;
}

/** Whether a stage is complete (its manifest exists). */
export async function isStageComplete(store: ArtifactStore, id: string): Promise<boolean> {
  return store.exists(stageManifestKey(id));
}

/** Ids of every complete stage in the store (one listing of `stages/`). */
export async function completedStageIds(store: ArtifactStore): Promise<Set<string>> {
  const out = new Set<string>();
  for (const key of await store.list(STAGES_PREFIX)) {
    const id = stageIdOfManifestKey(key);
    if (id) out.add(id);
  }
  return out;
}

/**
 * Reads one file of a complete stage and checks it against the manifest.
 * @param manifest the stage's manifest, if already read (saves a request)
 * @throws StoreNotFoundError when the stage is not complete or has no such file;
 *   StoreChecksumError when the bytes do not match the manifest's size or sha256
 */
export async function readStageFile(store: ArtifactStore, id: string, name: string, manifest?: StageManifest): Promise<Uint8Array> {
  const m = manifest ?? (await readStageManifest(store, id));
  if (!m) throw new StoreNotFoundError(`${store.url}: stage ${id} is not complete (no manifest), so its file ${name} cannot be read`);
  const entry = Object.hasOwn(m.files, name) ? m.files[name] : undefined;
  if (!entry) throw new StoreNotFoundError(`${store.url}: stage ${id} has no file ${name} (it has: ${Object.keys(m.files).join(', ') || 'none'})`);
  const key = stageFileKey(id, name);
  const data = await store.get(key);
  if (data.byteLength !== entry.size) {
    throw new StoreChecksumError(`${store.url} ${key}: size ${data.byteLength} bytes, manifest says ${entry.size}`);
  }
  const sum = sha256Hex(data);
  if (sum !== entry.sha256) throw new StoreChecksumError(`${store.url} ${key}: sha256 ${sum} does not match the manifest's ${entry.sha256}`);
  return data;
}

/** Records a stage failure (`failure.json`); the stage stays incomplete and runs again on resume. */
export async function writeStageFailure(store: ArtifactStore, stage: Stage, reason: string): Promise<void> {
  const f: StageFailure = {
    stageId: stage.id,
    kind: stage.kind,
    config: stage.config,
    parents: stage.parents,
    status: 'failed',
    reason,
    failedAt: new Date().toISOString(),
  };
  await store.put(stageFailureKey(stage.id), jsonBytes(f));
}

/** The recorded failure of a stage, or null. */
export async function readStageFailure(store: ArtifactStore, id: string): Promise<StageFailure | null> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(stageFailureKey(id));
  } catch (err) {
    if (err instanceof StoreNotFoundError) return null;
    throw err;
  }
  try {
    const f = JSON.parse(dec.decode(bytes)) as StageFailure;
    if (f && typeof f === 'object' && typeof f.reason === 'string') return f;
  } catch {
    // fall through: an unreadable record still says the stage failed
  }
  return { stageId: id, kind: 'noop', config: { kind: 'noop', index: 0, sleepMs: 0 }, parents: [], status: 'failed', reason: `(unreadable failure record ${stageFailureKey(id)})`, failedAt: '' };
}
