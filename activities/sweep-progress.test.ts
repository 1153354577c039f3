/**
 * Sweep progress from the store: every stage counted once (complete, corrupt, failed, running,
 * pending), a lease counts as running only while its owner heartbeats, the overall status follows
 * the counts, and the sweep folders of a store are found by their plan.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../store/fs.js';
import { newLeaseOwner, tryAcquireStageLease } from '../store/lease.js';
import { writeStageArtifacts, writeStageFailure } from '../store/stage-io.js';
import { noopSweep } from '../sweeps/plan.js';
import { writeSweepRecord } from './finalize.js';
import { listSweepFolders, sweepStoreProgress } from './sweep-progress.js';

const done = { files: { 'a.txt': new Uint8Array([1, 2, 3]) }, metrics: {}, timings: {}, backend: 'none', codeVersion: 'test', status: 'succeeded' as const };

test('counts, leases and status', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'progress-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = new FsStore(root);
  const plan = noopSweep(5, { codeVersion: 'test', name: 'p' });
  await writeSweepRecord(store, plan, '');
  assert.equal((await sweepStoreProgress(store, plan)).status, 'incomplete');
  await writeStageArtifacts(store, plan.stages[0], done);
  await writeStageArtifacts(store, plan.stages[1], done);
  writeFileSync(join(root, 'stages', plan.stages[1].id, 'a.txt'), 'changed'); // corrupt artifact
  await writeStageFailure(store, plan.stages[2], 'boom');
  // A lease whose heartbeat is older than its ttl is not a running stage; a fresh one is.
  const stale = await tryAcquireStageLease(store, plan.stages[3].id, { owner: { ...newLeaseOwner(), host: 'elsewhere' }, ttlMs: 1 });
  assert.ok(stale.acquired);
  await new Promise((r) => setTimeout(r, 20));
  let p = await sweepStoreProgress(store, plan);
  assert.deepEqual(p.counts, { total: 5, complete: 1, corrupt: 1, failed: 1, running: 0, pending: 2 });
  assert.equal(p.status, 'failed');
  assert.deepEqual(p.failures.map((f) => f.reason), ['boom']);
  assert.match(p.corrupt[0].reason, /a\.txt/);
  // Manifests only, or the listing: the changed artifact is not re-hashed.
  assert.equal((await sweepStoreProgress(store, plan, { check: 'manifests' })).counts.complete, 2);
  assert.equal((await sweepStoreProgress(store, plan, { check: 'listing' })).counts.complete, 2);
  // A manifest that is not a manifest: caught when manifests are read, not by the listing.
  writeFileSync(join(root, 'stages', plan.stages[0].id, 'manifest.json'), '{');
  assert.deepEqual([(await sweepStoreProgress(store, plan, { check: 'manifests' })).counts.corrupt, (await sweepStoreProgress(store, plan, { check: 'listing' })).counts.corrupt], [1, 0]);
  await writeStageArtifacts(store, plan.stages[0], done);

  const live = await tryAcquireStageLease(store, plan.stages[4].id, { owner: newLeaseOwner(), ttlMs: 60_000 });
  assert.ok(live.acquired);
  p = await sweepStoreProgress(store, plan);
  assert.deepEqual([p.counts.running, p.counts.pending, p.status], [1, 1, 'running']);
  assert.deepEqual(p.running.map((r) => [r.id, r.pid]), [[plan.stages[4].id, process.pid]]);
  assert.equal((await sweepStoreProgress(store, plan, { leases: false })).counts.running, 0);
  if (live.acquired) await live.lease.release();

  for (const s of plan.stages) await writeStageArtifacts(store, s, done);
  p = await sweepStoreProgress(store, plan);
  assert.deepEqual([p.counts.complete, p.status], [5, 'complete']);
});

test('listSweepFolders finds the folders with a plan.json', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'progress-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = new FsStore(root);
  const a = noopSweep(1, { codeVersion: 'test', name: 'b-sweep' });
  const b = noopSweep(2, { codeVersion: 'test', name: 'a.sweep' });
  await writeSweepRecord(store, a, '');
  await writeSweepRecord(store, b, '');
  await store.put('sweeps/stray/notes.txt', new Uint8Array([1]));
  const f = await listSweepFolders(store);
  assert.deepEqual(
    f.map((x) => [x.name, x.idPrefix, x.planKey]),
    [b, a].map((p) => [p.name, p.sweepId.slice(0, 12), `sweeps/${p.name}-${p.sweepId.slice(0, 12)}/plan.json`]),
  );
});
