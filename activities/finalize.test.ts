import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../store/fs.js';
import { stageFileKey, sweepKeys } from '../store/layout.js';
import { StoreNotFoundError, type ArtifactStore } from '../store/types.js';
import { noopSweep, planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { Plan } from '../sweeps/types.js';
import { codeVersion } from './code-version.js';
import { collectResultRows, finalizeSweep, readSweepRecord, SweepRecordError, writeSweepRecord } from './finalize.js';
import { executeStage } from './run-stage.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-finalize-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let stores = 0;
/** A fresh filesystem store that counts its writes. */
function countingStore(): { store: ArtifactStore; puts: string[] } {
  const fs = new FsStore(join(dir, `s${stores++}`));
  const puts: string[] = [];
  const store = Object.create(fs) as ArtifactStore;
  store.put = (key, bytes) => {
    puts.push(key);
    return fs.put(key, bytes);
  };
  return { store, puts };
}

const enc = new TextEncoder();

/**
 * A plan of noop stages with one results row per chain: [0] alone, [1] (fails), [2, 3] (3 never
 * runs), [4] (corrupted after it ran); `fidelity` per row.
 */
function noopPlan(fidelities: string[]): Plan {
  const base = noopSweep(5, { codeVersion: 'test', name: 'fin', salt: fidelities.join(','), fail: new Set([1]), parents: (i) => (i === 3 ? [2] : []) });
  const id = (i: number): string => base.stages[i].id;
  const chains = [[0], [1], [2, 3], [4]];
  return { ...base, rows: chains.map((c, r) => ({ params: { fidelity: fidelities[r], phase: 'noop', seed: r }, stageId: id(c[c.length - 1]), stageIds: c.map(id) })) };
}

async function runAndCorrupt(store: ArtifactStore, plan: Plan): Promise<void> {
  for (const i of [0, 1, 2, 4]) await executeStage(plan.stages[i], { store, codeVersion: 'test' });
  await store.put(stageFileKey(plan.stages[4].id, 'noop.json'), enc.encode('{"index":99}'));
}

test('result rows: succeeded with metrics, failed with the stage\u2019s reason, pending at the first incomplete or corrupt stage', async () => {
  const { store } = countingStore();
  const plan = noopPlan(['corrected', 'corrected', 'corrected', 'corrected']);
  await runAndCorrupt(store, plan);
  const rows = await collectResultRows(store, plan);
  assert.deepEqual(rows.map((r) => r.status), ['succeeded', 'failed', 'pending', 'pending']);
  assert.deepEqual(rows[0].metrics, { index: 0 });
  assert.equal(rows[1].reason, `noop ${plan.stages[1].id.slice(0, 12)} failed: DeterministicStageError: noop stage 1 was asked to fail`);
  assert.equal(rows[2].reason, undefined);
  assert.match(rows[3].reason!, new RegExp(`^noop ${plan.stages[4].id.slice(0, 12)} is corrupt \\(.*\\); run the sweep again or dalesweep verify --repair$`));
  assert.deepEqual(rows.map((r) => r.params.seed), [0, 1, 2, 3]);
});

test('the sweep\u2019s fidelity is every fidelity of its rows, not the first row\u2019s', async () => {
  for (const [fidelities, expected] of [
    [['paper-code', 'corrected', 'paper-code', 'corrected'], 'corrected + paper-code'],
    [['paper-code', 'paper-code', 'paper-code', 'paper-code'], 'paper-code'],
  ] as const) {
    const { store } = countingStore();
    const plan = noopPlan([...fidelities]);
    await runAndCorrupt(store, plan);
    const r = await finalizeSweep(store, plan, { specText: 'name: fin', codeVersion: 'test' });
    assert.equal(r.summary?.sweep.fidelity, expected);
    assert.deepEqual(r.summary?.statusCounts, { succeeded: 1, failed: 1, pending: 2, total: 4 });
    assert.deepEqual(r.corrupt.map((c) => c.id), [plan.stages[4].id]);
    const report = new TextDecoder().decode(await store.get(r.keys.report));
    assert.ok(report.includes(`<dt>fidelity</dt><dd>${expected}</dd>`));
  }
});

test('tablesOnly writes the results tables and no summary or report', async () => {
  const { store, puts } = countingStore();
  const plan = noopPlan(['corrected', 'corrected', 'corrected', 'corrected']);
  await runAndCorrupt(store, plan);
  puts.length = 0;
  const r = await finalizeSweep(store, plan, { specText: '', codeVersion: 'test', tablesOnly: true });
  assert.equal(r.summary, null);
  assert.deepEqual(puts.sort(), [r.keys.resultsCsv, r.keys.resultsJson].sort());
  const csv = new TextDecoder().decode(await store.get(r.keys.resultsCsv));
  assert.equal(csv.trim().split('\n').length, 5, csv);
  const json = JSON.parse(new TextDecoder().decode(await store.get(r.keys.resultsJson))) as { sweep: { sweepId: string }; rows: unknown[] };
  assert.equal(json.sweep.sweepId, plan.sweepId);
  assert.equal(json.rows.length, 4);
});

test('the sweep record is written once, replaced when it differs, and a corrupt plan is rebuilt from its spec', async () => {
  const specText = ['name: record', 'fixed: { nHidden: 8 }', 'tasks:', '  flipflop: { epochs: 1, batchSize: 10, nTrain: 20, nTest: 10 }', 'axes: { task: [flipflop], rule: [dale], seed: [0, 1] }', ''].join('\n');
  const plan = planSweep(parseSpec(specText, 'record.yaml'), { codeVersion: codeVersion() });
  const { store, puts } = countingStore();
  const keys = await writeSweepRecord(store, plan, specText);
  assert.deepEqual(keys, sweepKeys(plan.name, plan.sweepId));
  assert.deepEqual(puts.sort(), [keys.plan, keys.spec].sort());
  await writeSweepRecord(store, plan, specText);
  assert.equal(puts.length, 2, 'an identical record is not written again');
  await store.put(keys.plan, enc.encode('{"truncated'));
  puts.length = 0;
  await writeSweepRecord(store, plan, specText);
  assert.deepEqual(puts, [keys.plan]);
  assert.deepEqual((await readSweepRecord(store, keys.plan)).plan, plan);

  // corrupt plan, stored spec plans to the same sweep: rebuilt and written back
  await store.put(keys.plan, enc.encode('not json'));
  const rebuilt = await readSweepRecord(store, keys.plan);
  assert.deepEqual(rebuilt.plan, plan);
  assert.equal(rebuilt.specText, specText);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(await store.get(keys.plan))), plan);
  // corrupt plan whose spec plans to another sweep, or without a spec: one-line errors naming the key
  await store.put(keys.plan, enc.encode('not json'));
  await store.put(keys.spec, enc.encode(specText.replace('seed: [0, 1]', 'seed: [0]')));
  await assert.rejects(readSweepRecord(store, keys.plan), (e: unknown) => e instanceof SweepRecordError && e.message.includes(keys.plan) && /plans to another sweep/.test(e.message));
  await store.delete(keys.spec);
  await assert.rejects(readSweepRecord(store, keys.plan), (e: unknown) => e instanceof SweepRecordError && /has no stored spec\.yaml/.test(e.message));
  await assert.rejects(readSweepRecord(store, 'sweeps/none-000000000000/plan.json'), StoreNotFoundError);
});
