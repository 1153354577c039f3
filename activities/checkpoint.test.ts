import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../rnn/rng.js';
import { PARAM_NAMES, type Params } from '../rnn/types.js';
import { FsStore } from '../store/fs.js';
import {
  checkpointKey,
  checkpointPrefix,
  CheckpointFormatError,
  decodeCheckpoint,
  deleteCheckpoints,
  encodeCheckpoint,
  loadLatestCheckpoint,
  readCheckpoint,
  saveCheckpoint,
  type Checkpoint,
} from './checkpoint.js';

let dir: string;
let store: FsStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-ckpt-'));
  store = new FsStore(dir);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A checkpoint of random tensors (odd lengths, so the layout's padding and offsets matter). */
function checkpoint(epoch: number, seed: number, withV = true): Checkpoint {
  const rng = new Rng(seed);
  const tensors = (): Params => Object.fromEntries(PARAM_NAMES.map((n, i) => [n, Float32Array.from({ length: 3 + 2 * i }, () => rng.normal())])) as unknown as Params;
  return {
    epoch,
    params: tensors(),
    optimizerState: withV ? { kind: 'adam', step: 7 * epoch, m: tensors(), v: tensors() } : { kind: 'sgd', step: 3, m: tensors() },
    records: Array.from({ length: epoch }, (_, e) => ({ epoch: e + 1, trainLoss: 1 / (e + 1), testLoss: 2 / (e + 1), testAccuracy: 0.5 })),
  };
}

test('a checkpoint decodes to exactly what was encoded (every float bit, optimiser slots, records)', () => {
  for (const c of [checkpoint(3, 1), checkpoint(1, 2, false)]) {
    const bytes = encodeCheckpoint(c);
    // decoding must not depend on the byte offset of the input
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    assert.deepEqual(decodeCheckpoint(shifted.subarray(1)), c);
    assert.deepEqual(decodeCheckpoint(bytes), c);
  }
});

test('a flipped bit, a wrong magic or a truncated object is a CheckpointFormatError naming the object', () => {
  const bytes = encodeCheckpoint(checkpoint(2, 3));
  const flipped = bytes.slice();
  flipped[bytes.length - 40] ^= 1;
  assert.throws(() => decodeCheckpoint(flipped, 'ck-a'), (e: unknown) => e instanceof CheckpointFormatError && /ck-a: sha256 checksum does not match/.test(e.message));
  const magic = bytes.slice();
  magic[0] = 0x58;
  assert.throws(() => decodeCheckpoint(magic, 'ck-b'), /ck-b: not a dalesweep checkpoint/);
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, 20), 'ck-c'), CheckpointFormatError);
});

test('saveCheckpoint keeps the newest two; loadLatestCheckpoint returns the newest', async () => {
  const id = 'a'.repeat(64);
  for (let e = 1; e <= 4; e++) assert.equal(await saveCheckpoint(store, id, checkpoint(e, e)), checkpointKey(id, e));
  assert.deepEqual((await store.list(checkpointPrefix(id))).sort(), [checkpointKey(id, 3), checkpointKey(id, 4)]);
  const latest = await loadLatestCheckpoint(store, id, undefined, () => assert.fail('no warning expected'));
  assert.equal(latest?.key, checkpointKey(id, 4));
  assert.deepEqual(latest?.checkpoint, checkpoint(4, 4));
  await deleteCheckpoints(store, id);
  assert.deepEqual(await store.list(checkpointPrefix(id)), []);
  assert.equal(await loadLatestCheckpoint(store, id), null);
});

test('a corrupt newest checkpoint is quarantined with a warning and the previous one is used', async () => {
  const id = 'b'.repeat(64);
  await saveCheckpoint(store, id, checkpoint(1, 11));
  await saveCheckpoint(store, id, checkpoint(2, 12));
  const bad = (await store.get(checkpointKey(id, 2))).slice();
  bad[100] ^= 0xff;
  await store.put(checkpointKey(id, 2), bad);
  assert.ok((await readCheckpoint(store, checkpointKey(id, 2))) instanceof CheckpointFormatError);
  const warnings: string[] = [];
  const r = await loadLatestCheckpoint(store, id, undefined, (m) => warnings.push(m));
  assert.equal(r?.checkpoint.epoch, 1);
  assert.deepEqual(r?.checkpoint, checkpoint(1, 11));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /checksum does not match.*moved to quarantine\/checkpoints\//);
  assert.equal(await store.exists(checkpointKey(id, 2)), false);
  assert.equal((await store.list('quarantine/checkpoints/')).length, 1);
  // every checkpoint corrupt: start over
  const only = (await store.get(checkpointKey(id, 1))).slice();
  only[only.length - 1] ^= 1;
  await store.put(checkpointKey(id, 1), only);
  assert.equal(await loadLatestCheckpoint(store, id, undefined, (m) => warnings.push(m)), null);
  assert.equal(warnings.length, 2);
});

test('a preferred key outside the listing (a heartbeat\u2019s) is used when present; absent keys read as null', async () => {
  const id = 'c'.repeat(64);
  const elsewhere = `elsewhere/${id}.ckpt`;
  await store.put(elsewhere, encodeCheckpoint(checkpoint(5, 5)));
  const r = await loadLatestCheckpoint(store, id, elsewhere);
  assert.equal(r?.key, elsewhere);
  assert.equal(r?.checkpoint.epoch, 5);
  assert.equal(await loadLatestCheckpoint(store, id, `elsewhere/missing.ckpt`), null);
  assert.equal(await readCheckpoint(store, 'checkpoints/none/epoch-000001.ckpt'), null);
});
