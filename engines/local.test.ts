/**
 * The local engine on no-op plans (fast: no model code runs): scheduling through the shared DAG
 * bookkeeping, failure and skipping, resuming from the store, and the events it reports.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noopSweep } from '../sweeps/plan.js';
import { openStore } from '../store/open.js';
import { createStagePool } from '../workers/pool.js';
import type { EngineEvent } from './events.js';
import { runPlanLocally } from './local.js';

const dir = mkdtempSync(join(tmpdir(), 'dalesweep-local-'));
const pool = createStagePool({ threads: 2 });
after(async () => {
  await pool.destroy();
  rmSync(dir, { recursive: true, force: true });
});

//   0 → 1 (fails) → 2 → 4 ← 3 → 5      6
const PARENTS: number[][] = [[], [0], [1], [], [2, 3], [3], []];
const plan = noopSweep(7, { codeVersion: 'local-test', parents: (i) => PARENTS[i], fail: new Set([1]), name: 'local-test' });

async function run(storeDir: string, events: EngineEvent[] = []) {
  const storeUrl = join(dir, storeDir);
  const store = await openStore(storeUrl);
  return runPlanLocally(plan, { store, storeUrl, codeVersion: 'local-test', pool, concurrency: 2, onEvent: (e) => events.push(e) });
}

test('a failed stage skips exactly its descendants; every other stage runs after its parents, once', async () => {
  const events: EngineEvent[] = [];
  const res = await run('a', events);
  const st = plan.stages.map((s) => res.status.get(s.id));
  assert.deepEqual(st, ['succeeded', 'failed', 'skipped', 'succeeded', 'skipped', 'succeeded', 'succeeded']);
  assert.equal(res.ran, 5);
  assert.match(res.reasons.get(plan.stages[1].id) ?? '', /asked to fail/);
  assert.match(res.reasons.get(plan.stages[4].id) ?? '', new RegExp(`parent stage ${plan.stages[1].id.slice(0, 12)} \\(noop\\) failed`));
  // Order: a stage starts only after each parent ended; skipped stages never start.
  const ended = new Set<string>();
  for (const e of events) {
    if (e.type === 'stage-start') for (const p of e.stage.parents) assert.ok(ended.has(p), `stage ${e.stage.config.kind} started before its parent`);
    if (e.type === 'stage-end') ended.add(e.stage.id);
  }
  const started = events.filter((e) => e.type === 'stage-start').map((e) => (e.type === 'stage-start' ? e.stage.id : ''));
  assert.equal(new Set(started).size, started.length, 'no stage starts twice');
  assert.deepEqual(events.filter((e) => e.type === 'stage-skipped').length, 2);
  assert.deepEqual(events[0], { type: 'start', total: 7, alreadyComplete: 0, alreadyCompleteCost: 0 });
});

test('the same plan again on the same store: completed stages are cached, only the failed one runs again', async () => {
  const events: EngineEvent[] = [];
  const res = await run('a', events);
  const st = plan.stages.map((s) => res.status.get(s.id));
  assert.deepEqual(st, ['cached', 'failed', 'skipped', 'cached', 'skipped', 'cached', 'cached']);
  assert.equal(res.ran, 1);
  assert.deepEqual(events[0], { type: 'start', total: 7, alreadyComplete: 4, alreadyCompleteCost: 4 });
  assert.deepEqual([...res.verified].sort(), [0, 3, 5, 6].map((i) => plan.stages[i].id).sort());
});
