/**
 * Behaviour every {@link ArtifactStore} must have, as node:test cases; `fs.test.ts` and
 * `s3.test.ts` run them against the filesystem store and a real MinIO server. Includes the
 * stage manifest protocol of `stage-io.ts` (manifest last, checksums, failures).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ArtifactStore } from './types.js';
import { StoreChecksumError, StoreKeyError, StoreNotFoundError } from './types.js';
import {
  completedStageIds,
  isStageComplete,
  readStageFailure,
  readStageFile,
  readStageManifest,
  writeStageArtifacts,
  writeStageFailure,
} from './stage-io.js';
import { stageFileKey, stageManifestKey } from './layout.js';
import { leasePrefix, newLeaseOwner, removeExpiredLeases, tryAcquireStageLease, type LeaseRecord } from './lease.js';
import { checkStage, quarantinedStageIds, quarantineStage } from './verify.js';
import type { Stage } from '../sweeps/types.js';
import { sha256Hex } from '../sweeps/identity.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Keys that must be rejected with StoreKeyError. */
export const BAD_KEYS = ['', '../x', 'a/../../x', '/abs', 'a\\b', 'a//b', 'a/', './a', 'a/./b', 'a\u0001b', 'a\nb', 'x\u007f'];

function fakeStage(n: number): Stage {
  const id = sha256Hex(`stage-${n}-${Math.random()}`);
  return { id, kind: 'noop', config: { kind: 'noop', index: n, sleepMs: 0 }, parents: [], queue: 'cpu', cost: 1 };
}

/** Records the order of writes of the store it wraps. */
class RecordingStore implements ArtifactStore {
  readonly puts: string[] = [];
  constructor(private readonly inner: ArtifactStore) {}
  get url(): string {
    return this.inner.url;
  }
  async put(key: string, data: Uint8Array): Promise<void> {
    await this.inner.put(key, data);
    this.puts.push(key);
  }
  async putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const created = await this.inner.putIfAbsent(key, data);
    if (created) this.puts.push(key);
    return created;
  }
  get(key: string): Promise<Uint8Array> {
    return this.inner.get(key);
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

/**
 * Registers the contract tests.
 * @param label shown in test names
 * @param store returns the (fresh, empty) store under test; called once per test
 */
export function storeContractTests(label: string, store: () => Promise<ArtifactStore>, opts: { skip?: string } = {}): void {
  const t = (name: string, fn: (s: ArtifactStore) => Promise<void>): void => {
    test(`${label}: ${name}`, { skip: opts.skip }, async () => fn(await store()));
  };

  t('put then get returns the same bytes; overwrite replaces; empty objects work', async (s) => {
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
    await s.put('a/b/c.bin', bytes);
    assert.deepEqual(await s.get('a/b/c.bin'), bytes);
    await s.put('a/b/c.bin', enc.encode('second'));
    assert.equal(dec.decode(await s.get('a/b/c.bin')), 'second');
    await s.put('empty', new Uint8Array(0));
    assert.equal((await s.get('empty')).byteLength, 0);
    assert.equal(await s.exists('a/b/c.bin'), true);
    assert.equal(await s.exists('a/b'), false, 'a folder is not an object');
  });

  t('putIfAbsent creates once: the first call writes, later ones leave the object as it is', async (s) => {
    assert.equal(await s.putIfAbsent('leases/x/1.json', enc.encode('first')), true);
    assert.equal(await s.putIfAbsent('leases/x/1.json', enc.encode('second')), false);
    assert.equal(dec.decode(await s.get('leases/x/1.json')), 'first');
    assert.deepEqual(await s.list('leases/'), ['leases/x/1.json'], 'no temporary object is left');
    await s.delete('leases/x/1.json');
    assert.equal(await s.putIfAbsent('leases/x/1.json', enc.encode('third')), true, 'free again after delete');
    for (const k of BAD_KEYS) await assert.rejects(s.putIfAbsent(k, enc.encode('x')), StoreKeyError, `putIfAbsent ${JSON.stringify(k)}`);
  });

  t('putIfAbsent under contention: of 16 concurrent creates of one key exactly one wins, whole', async (s) => {
    const bodies = Array.from({ length: 16 }, (_, i) => new Uint8Array(64 * 1024).fill(i + 1));
    const won = await Promise.all(bodies.map((b) => s.putIfAbsent('race/k', b)));
    assert.equal(won.filter(Boolean).length, 1);
    const got = await s.get('race/k');
    assert.deepEqual(got, bodies[won.indexOf(true)]);
  });

  t('modifiedAt: the time an object was last written; null when absent; keys checked', async (s) => {
    assert.ok(s.modifiedAt, 'both stores tell when an object was written');
    const before = Date.now();
    await s.put('times/a.json', enc.encode('{}'));
    const t = await s.modifiedAt('times/a.json');
    assert.ok(t instanceof Date, String(t));
    // Clock granularity (S3: whole seconds) and skew between this host and the server: 5 s.
    assert.ok(Math.abs(t.getTime() - before) < 5000, `${t.toISOString()} vs ${new Date(before).toISOString()}`);
    assert.equal(await s.modifiedAt('times/none.json'), null);
    assert.equal(await s.modifiedAt('times'), null, 'a folder is not an object');
    for (const k of BAD_KEYS) await assert.rejects(s.modifiedAt(k), StoreKeyError, `modifiedAt ${JSON.stringify(k)}`);
  });

  t('a missing object is StoreNotFoundError; exists is false; delete is a no-op', async (s) => {
    await assert.rejects(s.get('no/such/key'), StoreNotFoundError);
    assert.equal(await s.exists('no/such/key'), false);
    await s.delete('no/such/key');
    await s.put('k', enc.encode('v'));
    await s.delete('k');
    assert.equal(await s.exists('k'), false);
    await assert.rejects(s.get('k'), StoreNotFoundError);
  });

  t('list is recursive, sorted, and filters by prefix (also mid-segment)', async (s) => {
    const keys = ['stages/b1/x', 'stages/a2/manifest.json', 'stages/a1/y/z', 'sweeps/q/plan.json', 'top'];
    for (const k of keys) await s.put(k, enc.encode(k));
    assert.deepEqual(await s.list(''), [...keys].sort());
    assert.deepEqual(await s.list('stages/'), ['stages/a1/y/z', 'stages/a2/manifest.json', 'stages/b1/x']);
    assert.deepEqual(await s.list('stages/a'), ['stages/a1/y/z', 'stages/a2/manifest.json']);
    assert.deepEqual(await s.list('nothing/'), []);
  });

  t('keys that could escape the store are rejected with StoreKeyError', async (s) => {
    for (const k of BAD_KEYS) {
      await assert.rejects(s.put(k, enc.encode('x')), StoreKeyError, `put ${JSON.stringify(k)}`);
      await assert.rejects(s.get(k), StoreKeyError, `get ${JSON.stringify(k)}`);
      await assert.rejects(s.exists(k), StoreKeyError, `exists ${JSON.stringify(k)}`);
      await assert.rejects(s.delete(k), StoreKeyError, `delete ${JSON.stringify(k)}`);
    }
    for (const p of ['../', '/x', 'a//', 'a\\']) await assert.rejects(s.list(p), StoreKeyError, `list ${JSON.stringify(p)}`);
    assert.deepEqual(await s.list(''), [], 'nothing was written');
  });

  t('stage artifacts: files first, manifest last with sha256 and size; then complete', async (s) => {
    const rec = new RecordingStore(s);
    const stage = fakeStage(1);
    const files = { 'weights.bin': new Uint8Array([1, 2, 3, 4]), 'curves/loss.json': enc.encode('[1,0.5]') };
    assert.equal(await readStageManifest(s, stage.id), null);
    assert.equal(await isStageComplete(s, stage.id), false);
    await writeStageFailure(s, stage, 'NaN at epoch 3');
    assert.equal((await readStageFailure(s, stage.id))?.reason, 'NaN at epoch 3');
    assert.equal(await isStageComplete(s, stage.id), false, 'a failed stage is not complete');
    const m = await writeStageArtifacts(rec, stage, { files, metrics: { loss: 0.25, bad: NaN }, timings: { wallMs: 12 }, backend: 'js', codeVersion: 'cv', status: 'succeeded' });
    assert.equal(rec.puts[rec.puts.length - 1], stageManifestKey(stage.id), 'manifest written last');
    assert.deepEqual(rec.puts.slice(0, -1).sort(), Object.keys(files).map((n) => stageFileKey(stage.id, n)).sort());
    assert.equal(m.files['weights.bin'].size, 4);
    assert.equal(m.files['weights.bin'].sha256, sha256Hex(files['weights.bin']));
    const back = await readStageManifest(s, stage.id);
    assert.ok(back);
    assert.deepEqual(back.metrics, { loss: 0.25, bad: null });
    assert.equal(back.kind, 'noop');
    assert.equal(back.codeVersion, 'cv');
    assert.ok(!Number.isNaN(Date.parse(back.finishedAt)));
    assert.equal(await isStageComplete(s, stage.id), true);
    assert.equal(await readStageFailure(s, stage.id), null, 'success clears the failure record');
    assert.deepEqual(await readStageFile(s, stage.id, 'curves/loss.json'), files['curves/loss.json']);
    await assert.rejects(readStageFile(s, stage.id, 'nope.bin'), StoreNotFoundError);
    await assert.rejects(readStageFile(s, fakeStage(9).id, 'weights.bin'), StoreNotFoundError);
    await assert.rejects(
      writeStageArtifacts(s, stage, { files: { 'manifest.json': new Uint8Array(1) }, metrics: {}, timings: {}, backend: 'js', codeVersion: 'cv', status: 'succeeded' }),
      StoreKeyError,
    );
  });

  t('a file changed behind the manifest is detected (StoreChecksumError)', async (s) => {
    const stage = fakeStage(2);
    await writeStageArtifacts(s, stage, { files: { 'w.bin': new Uint8Array([9, 9, 9, 9]) }, metrics: {}, timings: {}, backend: 'js', codeVersion: 'cv', status: 'succeeded' });
    await s.put(stageFileKey(stage.id, 'w.bin'), new Uint8Array([9, 9, 9, 8]));
    await assert.rejects(readStageFile(s, stage.id, 'w.bin'), (e: unknown) => e instanceof StoreChecksumError && /sha256/.test(e.message));
    await s.put(stageFileKey(stage.id, 'w.bin'), new Uint8Array([9, 9]));
    await assert.rejects(readStageFile(s, stage.id, 'w.bin'), (e: unknown) => e instanceof StoreChecksumError && /size/.test(e.message));
  });

  t('completedStageIds lists exactly the stages with a manifest', async (s) => {
    const done = [fakeStage(3), fakeStage(4)];
    const failed = fakeStage(5);
    for (const st of done) await writeStageArtifacts(s, st, { files: { 'a.txt': enc.encode('a') }, metrics: {}, timings: {}, backend: 'none', codeVersion: 'cv', status: 'succeeded' });
    await writeStageFailure(s, failed, 'boom');
    await s.put(stageFileKey(failed.id, 'partial.bin'), new Uint8Array(3)); // a crash before the manifest
    assert.deepEqual([...(await completedStageIds(s))].sort(), done.map((d) => d.id).sort());
  });

  t('leases: one owner at a time; a live lease blocks, a released one is free, an expired one is taken over', async (s) => {
    const id = fakeStage(6).id;
    const a = newLeaseOwner();
    const b = newLeaseOwner();
    const first = await tryAcquireStageLease(s, id, { owner: a, ttlMs: 60_000 });
    assert.ok(first.acquired);
    const blocked = await tryAcquireStageLease(s, id, { owner: b, ttlMs: 60_000 });
    assert.equal(blocked.acquired, false);
    assert.equal(blocked.acquired ? null : blocked.holder?.token, a.token, 'the holder is named');
    assert.equal(await first.lease.held(), true);
    await first.lease.release();
    assert.deepEqual(await s.list(leasePrefix(id)), [], 'release removes the lease');
    const second = await tryAcquireStageLease(s, id, { owner: b, ttlMs: 60_000 });
    assert.ok(second.acquired);
    // A holder on another host whose heartbeat is older than its ttl has expired.
    const stale: LeaseRecord = { ...second.lease.record, host: 'elsewhere.invalid', heartbeatAt: new Date(Date.now() - 120_000).toISOString() };
    await s.put(`${leasePrefix(id)}${String(stale.generation).padStart(10, '0')}.json`, enc.encode(JSON.stringify(stale)));
    const reasons: string[] = [];
    const third = await tryAcquireStageLease(s, id, { owner: a, ttlMs: 60_000, onTakeover: (why) => reasons.push(why) });
    assert.ok(third.acquired, 'an expired lease is taken over');
    assert.equal(third.lease.record.generation, stale.generation + 1);
    assert.match(reasons[0], /heartbeat 1\d\d s ago/);
    assert.equal(await second.lease.held(), false, 'the old owner can tell it lost the lease');
    await third.lease.release();
  });

  t('leases: a dead owner on this host (pid gone) is taken over at once; heartbeats keep a lease alive', async (s) => {
    const id = fakeStage(7).id;
    const dead = { ...newLeaseOwner(), pid: 2 ** 22 + 12345 }; // above pid_max: never a live process
    const gone = await tryAcquireStageLease(s, id, { owner: dead, ttlMs: 60_000 });
    assert.ok(gone.acquired);
    const next = await tryAcquireStageLease(s, id, { owner: newLeaseOwner(), ttlMs: 200 });
    assert.ok(next.acquired, 'taken over from a dead pid');
    next.lease.keepAlive((err) => assert.fail(String(err)));
    await new Promise((r) => setTimeout(r, 500));
    const other = await tryAcquireStageLease(s, id, { owner: { ...newLeaseOwner(), host: 'elsewhere.invalid' }, ttlMs: 200 });
    assert.equal(other.acquired, false, 'a heartbeating lease with a short ttl stays held');
    await next.lease.release();
  });

  t('leases: expired leases left on complete stages are removed; live ones and other stages are kept', async (s) => {
    const [deadId, liveId, otherId] = [fakeStage(9).id, fakeStage(10).id, fakeStage(11).id];
    const dead = { ...newLeaseOwner(), pid: 2 ** 22 + 12345 }; // above pid_max: never a live process
    const left = await tryAcquireStageLease(s, deadId, { owner: dead, ttlMs: 60_000 });
    const live = await tryAcquireStageLease(s, liveId, { owner: newLeaseOwner(), ttlMs: 60_000 });
    const other = await tryAcquireStageLease(s, otherId, { owner: dead, ttlMs: 60_000 });
    assert.ok(left.acquired && live.acquired && other.acquired);
    const removed = await removeExpiredLeases(s, new Set([deadId, liveId]));
    assert.deepEqual(removed, [deadId]);
    assert.deepEqual(await s.list(leasePrefix(deadId)), [], 'the dead owner\'s lease is gone');
    assert.equal(await live.lease.held(), true, 'a live lease stays');
    assert.equal((await s.list(leasePrefix(otherId))).length, 1, 'a stage outside the set is left alone');
    await live.lease.release();
    await other.lease.release();
  });

  t('leases: of 8 concurrent claimants exactly one acquires', async (s) => {
    const id = fakeStage(8).id;
    const tries = await Promise.all(Array.from({ length: 8 }, () => tryAcquireStageLease(s, id, { owner: newLeaseOwner(), ttlMs: 60_000 })));
    const won = tries.filter((t) => t.acquired);
    assert.equal(won.length, 1);
    if (won[0].acquired) await won[0].lease.release();
  });

  t('verify: complete, absent and each kind of corruption; quarantine moves a stage aside whole', async (s) => {
    const stage = fakeStage(9);
    assert.equal((await checkStage(s, stage.id)).state, 'absent');
    const files = { 'weights/w.bin': new Uint8Array([1, 2, 3, 4]), 'records.json': enc.encode('[1]') };
    await writeStageArtifacts(s, stage, { files, metrics: { x: 1 }, timings: {}, backend: 'js', codeVersion: 'cv', status: 'succeeded' });
    assert.equal((await checkStage(s, stage.id)).state, 'complete');
    const good = await s.get(stageManifestKey(stage.id));
    const cases: [string, () => Promise<void>, RegExp][] = [
      ['flipped byte', () => s.put(stageFileKey(stage.id, 'weights/w.bin'), new Uint8Array([1, 2, 3, 5])), /sha256/],
      ['empty file', () => s.put(stageFileKey(stage.id, 'weights/w.bin'), new Uint8Array(0)), /size 0 bytes/],
      ['missing file', () => s.delete(stageFileKey(stage.id, 'records.json')), /missing/],
      ['manifest not JSON', () => s.put(stageManifestKey(stage.id), good.slice(0, 40)), /not valid JSON/],
      ['manifest of another stage', () => s.put(stageManifestKey(stage.id), enc.encode(dec.decode(good).replace(stage.id, fakeStage(10).id))), /not a manifest/],
    ];
    for (const [name, corrupt, why] of cases) {
      await corrupt();
      const c = await checkStage(s, stage.id);
      assert.equal(c.state, 'corrupt', name);
      assert.match(c.state === 'corrupt' ? c.reason : '', why, name);
      await writeStageArtifacts(s, stage, { files, metrics: { x: 1 }, timings: {}, backend: 'js', codeVersion: 'cv', status: 'succeeded' });
    }
    await s.put(stageFileKey(stage.id, 'weights/w.bin'), new Uint8Array([7]));
    const dir = await quarantineStage(s, stage.id, 'test');
    assert.equal((await checkStage(s, stage.id)).state, 'absent', 'quarantined: incomplete');
    assert.deepEqual(await s.list(`stages/${stage.id}/`), []);
    assert.deepEqual((await s.list(dir)).map((k) => k.slice(dir.length)).sort(), ['manifest.json', 'reason.json', 'records.json', 'weights/w.bin']);
    assert.deepEqual(await s.get(`${dir}weights/w.bin`), new Uint8Array([7]), 'the corrupt bytes are kept for inspection');
    assert.ok((await quarantinedStageIds(s)).has(stage.id));
  });
}
