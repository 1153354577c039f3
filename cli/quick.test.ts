/**
 * The README's quick sweep (sweeps/quick.yaml, `npm run quick`) end to end through the real CLI:
 * Ctrl-C stops it with status 130 keeping every completed stage, the same command resumes, and
 * the finished sweep has its full results table, a report whose every chart draws in headless
 * Chromium, one PNG per chart, and a status read back by name. The suite's only run of the quick
 * sweep (a few minutes of CPU), in a file of its own so that it overlaps the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectReport } from '../report/inspect.js';
import { launchChromium } from '../report/png.js';
import { decodePng, distinctColours } from '../report/png-decode.js';
import { MAIN, cli, stageManifests as manifests, sweepFolder, tempDir } from './test-support.js';

const QUICK = fileURLToPath(new URL('../../sweeps/quick.yaml', import.meta.url));

test('the quick sweep: Ctrl-C stops the run with status 130 and keeps every completed stage; the same command resumes and writes the full results and report', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t, 'cli-sigint-');
  const store = join(dir, 'runs');
  const child = spawn(process.execPath, [MAIN, 'run', QUICK, '--store', store, '--json', '--concurrency', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let ended = 0;
  let sent = false;
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    ended += chunk.split('\n').filter((l) => l.includes('"event":"stage-end"')).length;
    if (!sent && ended >= 10) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.ok(sent, 'the run finished before Ctrl-C could be sent');
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted/);
  const before = manifests(store);
  assert.ok(before.size >= 10);
  assert.ok(existsSync(join(sweepFolder(store), 'results.csv')), 'the partial results table is written');
  const again = cli(['run', QUICK, '--store', store, '--json', '--concurrency', '2']);
  assert.equal(again.status, 0, again.stderr);
  const done = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { ran: number; stages: number };
  assert.equal(done.ran + before.size, done.stages);
  for (const [id, m] of before) assert.equal(manifests(store).get(id)!.finishedAt, m.finishedAt, `stage ${id} was rewritten`);

  // The tidy table: one row per evaluation, a header naming every parameter and metric.
  const folder = sweepFolder(store);
  const csv = readFileSync(join(folder, 'results.csv'), 'utf8').trim().split('\n');
  const header = csv[0].split(',');
  for (const col of ['task', 'rule', 'pruning', 'sparsity', 'phase', 'seed', 'status', 'testLoss', 'mstOverlap', 'stage_id']) assert.ok(header.includes(col), `results.csv has column ${col}`);
  assert.equal(csv.length - 1, 162);
  const statusCol = header.indexOf('status');
  assert.deepEqual([...new Set(csv.slice(1).map((l) => l.split(',')[statusCol]))], ['succeeded']);
  for (const f of ['results.json', 'summary.json', 'report.html', 'plan.json', 'spec.yaml']) assert.ok(existsSync(join(folder, f)), `${f} written`);

  // The quick sweep's report in real headless Chromium: offline, no errors, every chart drawn.
  const browser = await launchChromium();
  try {
    const seen = await inspectReport(browser, join(folder, 'report.html'));
    assert.deepEqual(seen.problems, []);
    assert.deepEqual(seen.requests, [seen.url], 'no network requests besides the file itself');
    assert.ok(seen.canvases.length >= 6, `the quick sweep's figures are drawn (${seen.canvases.length} canvases)`);
    for (const c of seen.canvases) assert.ok(c.opaque > 0 && c.colours > 2, `canvas ${c.id} is drawn`);
    assert.deepEqual(seen.charts, seen.canvases.map((c) => c.id));
  } finally {
    await browser.close();
  }
  // `report --png`: one non-blank PNG of the requested size per chart.
  const pngDir = join(dir, 'png');
  const rep = cli(['report', 'quick', '--store', store, '--png', pngDir, '--width', '400', '--height', '300', '--json']);
  assert.equal(rep.status, 0, rep.stderr);
  const pngs = (JSON.parse(rep.stdout) as { pngs: string[] }).pngs;
  assert.ok(pngs.length >= 6);
  for (const f of pngs) {
    const img = decodePng(readFileSync(f));
    assert.deepEqual([img.width, img.height], [400, 300]);
    assert.ok(distinctColours(img) > 2, `${f} is not blank`);
  }

  // status reads the finished sweep back by name.
  const st = cli(['status', 'quick', '--store', store, '--json']);
  assert.equal(st.status, 0, st.stderr);
  const s = JSON.parse(st.stdout) as { total: number; complete: number; failed: number };
  assert.deepEqual([s.complete, s.failed], [s.total, 0]);
});
