/**
 * `dalesweep run --data DIR` on a cell-type sweep whose file has a placeholder dataDir (like
 * sweeps/paper/celltype.yaml), through the real CLI at the smallest scale (latentScaling 1,
 * N = 90) on files written in the authors' format by the synthetic generator
 * (celltype/data.ts): the override reaches every stage config as an absolute path; a missing
 * directory, or the placeholder without --data, exits 2 naming it before anything runs; the run
 * trains with the cosine-annealed learning rate when asked; its summary has the cell-type
 * analysis (condition means, change minus no change with tests) and its report draws every
 * heatmap in Chromium without console errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Summary } from '../analysis/types.js';
import { conditionFileNames } from '../celltype/data.js';
import { generateSyntheticDataset } from '../celltype/synthetic.js';
import { FILE_CONDITIONS } from '../celltype/conditions.js';
import { inspectReport } from '../report/inspect.js';
import { launchChromium } from '../report/png.js';
import { learningRateAt } from '../rnn/lr-schedule.js';
import type { Plan } from '../sweeps/types.js';
import { cli, cliAsync } from './test-support.js';

const CONDITIONS = ['familiar_no_change_full', 'familiar_change_full'];
const PLACEHOLDER = '/path/to/celltype-data';

const SPEC = `name: celltype-data
fixed:
  task: celltype
  celltypeData: files
  dataDir: ${PLACEHOLDER}
  latentScaling: 1
  epochs: 3
  batchSize: 20
  nTrain: 60
  pruning: celltype
  lrSchedule: cosine
  lrTMax: 2
axes:
  condition: [${CONDITIONS.join(', ')}]
  seed: [0, 1]
stages:
  finetune: { epochs: 2 }
`;

test('run --data DIR replaces the placeholder dataDir with the folder of the authors\u2019 files; a missing folder exits 2', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-celltype-data-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'allen files');
  const written = await generateSyntheticDataset(data, { seed: 3, conditions: CONDITIONS, nSamples: 60 });
  assert.equal(written.length, 2 * 18 * 2, '2 file conditions x 18 populations x train/test');
  assert.ok(written.every((f) => /^dff_(V1|LM)_(L4|L23|L5)_(pyr|sst|vip)_familiar_(no_)?change_(train|test)\.npy$/.test(f)));
  const specFile = join(dir, 'celltype.yaml');
  writeFileSync(specFile, SPEC);

  // A missing --data folder: exit 2, naming it, nothing written.
  const missingStore = join(dir, 'store-missing');
  const missing = cli(['run', specFile, '--store', missingStore, '--data', join(dir, 'nope'), '--quiet']);
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, new RegExp(`--data: directory ${join(dir, 'nope').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`));
  assert.ok(!existsSync(missingStore), 'nothing written');
  // A file is not a folder.
  const notDir = cli(['run', specFile, '--store', missingStore, '--data', specFile, '--quiet']);
  assert.equal(notDir.status, 2);
  assert.match(notDir.stderr, /is not a directory/);
  // --data on a sweep that reads no data directory is a usage error too.
  const synth = join(dir, 'synthetic.yaml');
  writeFileSync(synth, 'name: s\nfixed: { task: celltype, celltypeData: synthetic, latentScaling: 1 }\naxes: { condition: [novel_change_full] }\n');
  const noReader = cli(['plan', synth, '--data', data]);
  assert.equal(noReader.status, 2);
  assert.match(noReader.stderr, /no run of this sweep reads a data directory/);

  // Without --data the placeholder folder is checked before anything runs: exit 2 naming it,
  // nothing written.
  const placeholderStore = join(dir, 'store-placeholder');
  const without = cli(['run', specFile, '--store', placeholderStore, '--quiet']);
  assert.equal(without.status, 2, without.stderr);
  assert.match(without.stderr, /1 data file or folder is missing or malformed \(nothing was run\):\n {2}\/path\/to\/celltype-data: cell-type data folder does not exist/);
  assert.ok(!existsSync(placeholderStore), 'nothing written');

  // With --data (given relative to the working directory): every stage reads the files.
  const store = join(dir, 'store');
  const rel = relative(process.cwd(), data);
  const planned = cli(['plan', specFile, '--data', rel, '--json', '--no-calibrate']);
  assert.equal(planned.status, 0, planned.stderr);
  const r = await cliAsync(['run', specFile, '--store', store, '--data', rel, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const [folder] = readdirSync(join(store, 'sweeps'));
  const base = join(store, 'sweeps', folder);
  const plan = JSON.parse(readFileSync(join(base, 'plan.json'), 'utf8')) as Plan;
  assert.equal(plan.sweepId, (JSON.parse(planned.stdout) as { sweepId: string }).sweepId, 'plan --data plans the same sweep');
  for (const s of plan.stages) assert.equal((s.config as { dataDir: string | null }).dataDir, resolve(data), `${s.kind} config`);
  for (const row of plan.rows) assert.equal(row.params.dataDir, resolve(data));

  // Cosine-annealed Adam: each training stage starts its own schedule at eta_max.
  const schedule = { kind: 'cosine', tMax: 2, etaMin: 1e-4 } as const;
  for (const s of plan.stages.filter((x) => x.kind === 'train' || x.kind === 'finetune')) {
    const records = JSON.parse(readFileSync(join(store, 'stages', s.id, 'records.json'), 'utf8')) as { lr: number }[];
    const epochs = s.kind === 'train' ? 3 : 2;
    assert.deepEqual(records.map((x) => x.lr), Array.from({ length: epochs }, (_, e) => learningRateAt(1e-3, schedule, e)), s.kind);
  }

  // summary.json: the cell-type analysis, change minus no change per phase.
  const summary = JSON.parse(readFileSync(join(base, 'summary.json'), 'utf8')) as Summary;
  const ct = summary.celltype;
  assert.ok(ct, 'celltype section');
  assert.equal(ct.conditions.length, CONDITIONS.length * 3);
  assert.deepEqual([...new Set(ct.differences.map((d) => `${d.second} - ${d.first}`))], ['familiar_change_full - familiar_no_change_full']);
  assert.deepEqual(ct.differences.map((d) => d.phase).sort(), ['dense', 'finetuned', 'pruned']);
  for (const d of ct.differences) {
    assert.equal(d.nFirst, 2);
    assert.equal(d.population.difference.values.length, 18);
    assert.equal(d.layer.difference.values.length, 6);
    const ff = d.bands.find((b) => b.kind === 'feedforward')!;
    assert.ok(typeof ff.difference === 'number' && Number.isFinite(ff.difference));
    assert.ok(ff.pValues.some((p) => p.test === 'welch-t' && p.correction === 'bh'));
    assert.deepEqual(d.population.p.map((p) => [p.test, p.correction]), [['welch-t', 'none'], ['welch-t', 'bh']]);
  }

  // The report: every canvas (the heatmaps included) drawn, no console errors, no requests.
  const browser = await launchChromium();
  try {
    const { url, problems, requests, canvases, charts } = await inspectReport(browser, join(base, 'report.html'));
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [url]);
    assert.ok(canvases.filter((c) => c.id.startsWith('fig-5-')).length >= 3 * 2 + 2 * 2, canvases.map((c) => c.id).join('\n'));
    assert.equal(charts.length, canvases.length);
    for (const c of canvases) assert.ok(c.opaque > 0 && c.colours > 2, `canvas ${c.id} is drawn`);
  } finally {
    await browser.close();
  }

  // report and status find the sweep from the file with the same --data.
  const rep = cli(['report', specFile, '--store', store, '--data', data, '--json']);
  assert.equal(rep.status, 0, rep.stderr);
  const st = cli(['status', specFile, '--store', store, '--data', data, '--json']);
  assert.equal(st.status, 0, st.stderr);
  assert.ok(st.stdout.includes(plan.sweepId.slice(0, 12)) || st.stdout.includes(plan.name));
});

/** Writes `name` as a .npy float32 (samples, 15) file whose data are a hole (sparse: only the header is written). */
function sparseNpy(dir: string, name: string, samples: number): void {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${samples}, 15), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = new Uint8Array(total);
  header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(header.buffer).setUint16(8, total - 10, true);
  for (let i = 0; i < total - 10; i++) header[10 + i] = i < dict.length ? dict.charCodeAt(i) : i === total - 11 ? 0x0a : 0x20;
  writeFileSync(join(dir, name), header);
  truncateSync(join(dir, name), total + samples * 15 * 4);
}

test('the paper cell-type sweep plans with --data: every run reads the given folder, checked before anything runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-celltype-paper-'));
  try {
    const paper = resolve(process.cwd(), 'sweeps/paper/celltype.yaml');
    // The placeholder folder does not exist; an empty folder lacks the 6 x 36 files.
    const placeholder = cli(['plan', paper, '--json']);
    assert.equal(placeholder.status, 2, placeholder.stderr);
    assert.match(placeholder.stderr, /1 data file or folder is missing or malformed/);
    assert.ok(placeholder.stderr.includes(`${PLACEHOLDER}: cell-type data folder does not exist`));
    const empty = cli(['plan', paper, '--data', dir, '--json']);
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /216 data files or folders are missing or malformed/);
    assert.equal(empty.stderr.trimEnd().split('\n').length, 1 + 216);
    // With the files (2000 samples each, as the paper's nTrain needs) the sweep plans.
    for (const c of FILE_CONDITIONS) for (const f of conditionFileNames(c)) for (const name of [f.train, f.test]) sparseNpy(dir, name, 2000);
    const withData = cli(['plan', paper, '--data', dir, '--json', '--no-calibrate']);
    assert.equal(withData.status, 0, withData.stderr);
    assert.equal((JSON.parse(withData.stdout) as { stages: number }).stages, 360);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
