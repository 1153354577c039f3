import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeVersion } from '../activities/code-version.js';
import { writeSweepRecord } from '../activities/finalize.js';
import { openStore } from '../store/open.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import { UsageError } from '../errors/errors.js';
import { findSweep } from './sweep-ref.js';

const specText = (name: string, seeds: number[]): string => `name: ${name}
fixed: { nHidden: 8 }
tasks:
  flipflop: { epochs: 1, batchSize: 4, nTrain: 8, nTest: 4 }
axes:
  task: [flipflop]
  rule: [dale]
  seed: [${seeds.join(', ')}]
`;

test('findSweep: exact name, prefixes, ids and ambiguous names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-sweep-ref-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(dir);
  const record = async (name: string, seeds: number[]): Promise<string> => {
    const text = specText(name, seeds);
    const plan = planSweep(parseSpec(text, `${name}.yaml`), { codeVersion: codeVersion() });
    await writeSweepRecord(store, plan, text);
    return plan.sweepId;
  };
  const rules = await record('rules', [0]);
  const rulesPaper = await record('rules-paper-code', [0]);
  const other = await record('other', [0]);

  // 'rules' is a prefix of 'rules-paper-code' too: the sweep named exactly 'rules' is meant.
  assert.equal((await findSweep('rules', store)).plan.sweepId, rules);
  assert.equal((await findSweep('rules-paper-code', store)).plan.sweepId, rulesPaper);
  assert.equal((await findSweep(other.slice(0, 8), store)).plan.sweepId, other, 'a prefix of the id');
  assert.equal((await findSweep(`other-${other.slice(0, 12)}`, store)).plan.sweepId, other, 'the folder name');
  await assert.rejects(findSweep('nothing', store), (e: Error) => e instanceof UsageError && /no sweep 'nothing'.*rules-/.test(e.message));

  // Two sweep files with the same name, both plannable by this build: ambiguous, one line.
  await record('rules-paper-code', [1]);
  await assert.rejects(findSweep('rules-pa', store), (e: Error) => e instanceof UsageError && /matches several sweeps/.test(e.message));
});
