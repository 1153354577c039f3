/**
 * Training checkpoints: parameters, optimiser state and the epoch records so far, in one binary
 * object under `checkpoints/<stageId>/epoch-<e>.ckpt`. A retried attempt (Temporal) or a re-run
 * after a crash (local engine) resumes from the newest one instead of epoch 0; because training
 * replays the batch order of the done epochs, the resumed run equals an uninterrupted one bit for
 * bit.
 *
 * Format: 8 bytes magic `DSCKPT02`, uint32 LE header length H, H bytes of UTF-8 JSON header
 * ({epoch, records, tensors: [{name, offset, length}], optimizer: {kind, step, slotNames}}),
 * padding to a multiple of 4, the float32 tensors (LE) back to back, and last the 32-byte
 * sha256 of everything before it. A checkpoint whose checksum fails is moved to
 * `quarantine/checkpoints/` with a warning and the next older one is used (the previous
 * checkpoint is kept for that), or training starts over.
 */
import type { OptimizerState, Slots } from '../rnn/optim.js';
import { PARAM_NAMES, type EpochRecord, type Params } from '../rnn/types.js';
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../store/types.js';
import { getIfPresent } from '../store/types.js';

const MAGIC = 'DSCKPT02';
const SHA_BYTES = 32;

/** What a checkpoint holds. */
export interface Checkpoint {
  /** Epochs completed. */
  epoch: number;
  params: Params;
  optimizerState: OptimizerState;
  /** Records of epochs 1..epoch. */
  records: EpochRecord[];
}

/** A checkpoint object could not be decoded. */
export class CheckpointFormatError extends Error {
  override name = 'CheckpointFormatError';
}

interface TensorEntry {
  name: string;
  offset: number;
  length: number;
}

interface Header {
  epoch: number;
  records: EpochRecord[];
  tensors: TensorEntry[];
  optimizer: { kind: OptimizerState['kind']; step: number; slotNames: ('m' | 'v')[] };
}

/** Prefix of a stage's checkpoints. */
export function checkpointPrefix(stageId: string): string {
  return `checkpoints/${stageId}/`;
}

/** Key of the checkpoint taken after `epoch` epochs (zero-padded so keys sort by epoch). */
export function checkpointKey(stageId: string, epoch: number): string {
  return `${checkpointPrefix(stageId)}epoch-${String(epoch).padStart(6, '0')}.ckpt`;
}

/** Serialises a checkpoint (see the module comment for the layout). */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const arrays: [string, Float32Array][] = PARAM_NAMES.map((n) => [`param.${n}`, c.params[n]]);
  const o = c.optimizerState;
  const slotNames: ('m' | 'v')[] = [];
  for (const s of ['m', 'v'] as const) {
    const slot = o[s];
    if (slot === undefined) continue;
    slotNames.push(s);
    for (const n of PARAM_NAMES) arrays.push([`slot.${s}.${n}`, slot[n]]);
  }
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    tensors.push({ name, offset, length: a.length });
    offset += a.length;
  }
  const header: Header = { epoch: c.epoch, records: c.records, tensors, optimizer: { kind: o.kind, step: o.step, slotNames } };
  const hdr = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((12 + hdr.length) / 4) * 4;
  const out = new Uint8Array(dataStart + offset * 4 + SHA_BYTES);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, hdr.length, true);
  out.set(hdr, 12);
  const body = new Float32Array(out.buffer, dataStart, offset);
  for (let i = 0; i < arrays.length; i++) body.set(arrays[i][1], tensors[i].offset);
  out.set(createHash('sha256').update(out.subarray(0, out.length - SHA_BYTES)).digest(), out.length - SHA_BYTES);
  return out;
}

/**
 * Decodes a checkpoint written by {@link encodeCheckpoint}.
 * @throws CheckpointFormatError on a wrong magic, a checksum mismatch, a truncated object or a
 *   missing tensor
 */
export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  if (bytes.length < 12 + SHA_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CheckpointFormatError(`${what}: not a dalesweep checkpoint (expected magic ${MAGIC})`);
  }
  const sum = createHash('sha256').update(bytes.subarray(0, bytes.length - SHA_BYTES)).digest();
  if (!sum.equals(bytes.subarray(bytes.length - SHA_BYTES))) throw new CheckpointFormatError(`${what}: sha256 checksum does not match (the checkpoint is corrupt)`);
  bytes = bytes.subarray(0, bytes.length - SHA_BYTES);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = dv.getUint32(8, true);
  if (12 + hlen > bytes.length) throw new CheckpointFormatError(`${what}: truncated header`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + hlen))) as Header;
  } catch (err) {
    throw new CheckpointFormatError(`${what}: header is not JSON (${(err as Error).message})`);
  }
  const dataStart = Math.ceil((12 + hlen) / 4) * 4;
  const total = header.tensors.reduce((n, t) => n + t.length, 0);
  if (dataStart + total * 4 > bytes.length) throw new CheckpointFormatError(`${what}: truncated tensor data`);
  // Copy into an aligned buffer (the input may sit at any byte offset).
  const body = new Float32Array(total);
  new Uint8Array(body.buffer).set(bytes.subarray(dataStart, dataStart + total * 4));
  const byName = new Map(header.tensors.map((t) => [t.name, body.slice(t.offset, t.offset + t.length)]));
  const take = (name: string): Float32Array => {
    const a = byName.get(name);
    if (a === undefined) throw new CheckpointFormatError(`${what}: tensor ${name} missing`);
    return a;
  };
  const params = Object.fromEntries(PARAM_NAMES.map((n) => [n, take(`param.${n}`)])) as unknown as Params;
  const { slotNames, kind, step } = header.optimizer;
  const optimizerState: OptimizerState = { kind, step };
  for (const s of slotNames) optimizerState[s] = Object.fromEntries(PARAM_NAMES.map((n) => [n, take(`slot.${s}.${n}`)])) as unknown as Slots;
  return { epoch: header.epoch, records: header.records, params, optimizerState };
}

/**
 * Writes a stage's checkpoint and deletes the older ones except the previous (kept so that a
 * corrupt newest checkpoint costs one epoch, not the whole run). @returns the key written
 */
export async function saveCheckpoint(store: ArtifactStore, stageId: string, c: Checkpoint): Promise<string> {
  const key = checkpointKey(stageId, c.epoch);
  await store.put(key, encodeCheckpoint(c));
  const keys = (await store.list(checkpointPrefix(stageId))).filter((k) => k.endsWith('.ckpt') && k < key).sort();
  for (const old of keys.slice(0, -1)) await store.delete(old);
  return key;
}

/**
 * Reads and verifies one checkpoint.
 * @returns the checkpoint, the CheckpointFormatError saying why it failed verification, or null
 *   when the object is absent
 */
export async function readCheckpoint(store: ArtifactStore, key: string): Promise<Checkpoint | CheckpointFormatError | null> {
  const bytes = await getIfPresent(store, key);
  if (bytes === null) return null;
  try {
    return decodeCheckpoint(bytes, `${store.url} ${key}`);
  } catch (err) {
    if (err instanceof CheckpointFormatError) return err;
    throw err;
  }
}

/** Moves a checkpoint that failed verification to `quarantine/checkpoints/...`. @returns its new key */
export async function quarantineCheckpoint(store: ArtifactStore, key: string): Promise<string> {
  const to = `quarantine/${key.replace(/\.ckpt$/, '')}-${new Date().toISOString().replace(/[:.]/g, '-')}.ckpt`;
  const bytes = await getIfPresent(store, key);
  if (bytes === null) return to;
  await store.put(to, bytes);
  await store.delete(key);
  return to;
}

/**
 * The checkpoint to resume a stage from: the newest under the stage's prefix (a retried Temporal
 * attempt passes its last heartbeat's key as `preferredKey`; it is used when the listing does not
 * show it), else null. A checkpoint that fails its checksum or cannot be decoded is quarantined,
 * reported to `onWarning`, and the next older one is tried (else the stage starts over).
 */
export async function loadLatestCheckpoint(
  store: ArtifactStore,
  stageId: string,
  preferredKey?: string,
  onWarning: (message: string) => void = (m) => process.emitWarning(m),
): Promise<{ key: string; checkpoint: Checkpoint } | null> {
  const keys = (await store.list(checkpointPrefix(stageId))).filter((k) => k.endsWith('.ckpt')).sort().reverse();
  // Newest first: every checkpoint of a stage lies on the same deterministic trajectory, so a
  // newer one than the heartbeat's (written just before the worker died) is strictly better.
  if (preferredKey !== undefined && !keys.includes(preferredKey) && (await store.exists(preferredKey))) keys.push(preferredKey);
  for (const key of keys) {
    const read = await readCheckpoint(store, key);
    if (read === null) continue;
    if (!(read instanceof CheckpointFormatError)) return { key, checkpoint: read };
    const to = await quarantineCheckpoint(store, key);
    onWarning(`${read.message}; moved to ${to}, resuming from an older checkpoint or from the start`);
  }
  return null;
}

/** Deletes a finished stage's checkpoints. */
export async function deleteCheckpoints(store: ArtifactStore, stageId: string): Promise<void> {
  for (const k of await store.list(checkpointPrefix(stageId))) await store.delete(k);
}
