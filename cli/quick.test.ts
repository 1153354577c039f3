/**
 * The README's main job, `npm run quick` (sweeps/quick.yaml end to end on the embedded engine and
 * the filesystem store), as a user runs it: on the system Node (`DALESWEEP_OTHER_NODE`, which
 * `npm test` sets while the suite itself runs on Node 24; this Node otherwise), exit 0, every
 * evaluation succeeded, the results tables, and a report carrying the paper comparison. The
 * suite's only run of the real quick sweep (the resume and fault tests use smaller sweeps;
 * node-versions.test compares Node versions), in a file of its own so that it overlaps the others
 * at --test-concurrency=2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../analysis/types.js';
import { cliAsync, sweepFolder, tempDir } from './test-support.js';

const QUICK = fileURLToPath(new URL('../../sweeps/quick.yaml', import.meta.url));
/** The Node `npm run quick` uses: the system one under `npm test`. */
const NODE = process.env.DALESWEEP_OTHER_NODE || process.execPath;

test(`npm run quick (on ${NODE === process.execPath ? 'this Node' : 'the system Node'}): the quick sweep runs end to end with every row succeeded, its tables and a report with the paper comparison`, { timeout: 600_000 }, async (t) => {
  const store = join(tempDir(t, 'cli-quick-'), 'runs');
  const r = await cliAsync(['run', QUICK, '--store', store], 600_000, NODE);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /324 ran, 0 already complete, 0 failed/);
  const folder = sweepFolder(store);
  const csv = readFileSync(join(folder, 'results.csv'), 'utf8').trim().split('\n');
  const header = csv[0].split(',');
  assert.equal(csv.length - 1, 162, 'one row per evaluation');
  const status = header.indexOf('status');
  assert.deepEqual([...new Set(csv.slice(1).map((l) => l.split(',')[status]))], ['succeeded']);
  const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as Summary;
  const card = summary.paperComparison;
  assert.ok(card, 'summary.json carries the paper comparison');
  for (const task of ['flipflop', 'wave', 'smnist']) assert.ok(card.numbers.some((n) => n.task === task), `paper numbers for ${task}`);
  assert.ok(card.claims.length > 0 && card.claims.every((c) => ['reproduced', 'not reproduced', 'not enough runs'].includes(c.verdict)), 'every claim has a verdict');
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  assert.match(html, /<section id="paper"><h2>Paper comparison<\/h2>/);
});
