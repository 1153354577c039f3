import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../cli/errors.js';
import { expandAssignments, loadSpec, PARAM_NAMES, paramApplies, parseSpec, resolveRun, SpecError } from './spec.js';
import { badSpecFixtures } from './testdata/bad-fixtures.js';
import { PRUNE_METHODS, TASKS } from './stage-config.js';
import { CELLTYPE_CONDITIONS } from '../celltype/data.js';
import schema from './sweep.schema.json' with { type: 'json' };

const REPO = new URL('../../', import.meta.url);

test('every malformed sweep file gives a SpecError naming the file, line and field path', () => {
  const fixtures = badSpecFixtures();
  assert.ok(fixtures.length >= 20, `only ${fixtures.length} fixtures`);
  for (const { file, expectPath } of fixtures) {
    assert.throws(
      () => loadSpec(file),
      (err: unknown) => {
        assert.ok(err instanceof SpecError, `${file}: ${String(err)}`);
        assert.ok(err instanceof UsageError && err.exitCode === 2);
        assert.equal(err.path, expectPath, `${file}: ${err.message}`);
        assert.ok(err.message.startsWith(file), err.message);
        assert.ok(err.message.includes(expectPath || '(document)'), err.message);
        assert.ok(typeof err.line === 'number' && err.line >= 1, `${file}: no line in ${err.message}`);
        return true;
      },
      file,
    );
  }
});

test('messages say what was expected', () => {
  const cases: [string, RegExp][] = [
    ['name: x\naxes: {task: [flipflop], rule: [dale], pruning: [random], sparsity: [0.5, 1.5]}\n', /axes\.sparsity\[1\]: expected a number in \[0, 1\).*got 1\.5/],
    ['name: x\naxes: {task: [flipflop], rule: [dale], foo: [1]}\n', /unknown axis "foo"; expected one of: task, rule/],
    ['name: x\naxes: {task: [flipflop], rule: [dale], seed: [0, 2.5]}\n', /axes\.seed\[1\]: expected an integer >= 0 \(got 2\.5\)/],
    ['name: x\nname: y\naxes: {task: [flipflop], rule: [dale]}\n', /x\.yaml:2:1: name: duplicate key/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseSpec(text, 'x.yaml'), re);
});

test('a missing file is a SpecError', () => {
  assert.throws(() => loadSpec('/nonexistent/sweep.yaml'), (e: unknown) => e instanceof SpecError && /no such file/.test(e.message));
});

test('the repository sweep files load', () => {
  for (const f of ['sweeps/quick.yaml', 'sweeps/paper/learning-rules.yaml', 'sweeps/paper/pruning.yaml']) {
    const spec = loadSpec(new URL(f, REPO).pathname);
    assert.ok(spec.name.length > 0);
  }
});

test('the paper pruning sweep uses the authors keep fractions (0.619 among them) as sparsity = 1 - keep', () => {
  const spec = loadSpec(new URL('sweeps/paper/pruning.yaml', REPO).pathname);
  const sp = spec.axes.sparsity as number[];
  assert.equal(sp.length, 14);
  const keep = sp.map((s) => 1 - s);
  for (let i = 0; i < 14; i++) assert.ok(Math.abs(keep[i] - (0.01 + (i * 0.99) / 13)) < 1e-12, `keep ${keep[i]}`);
  assert.ok(keep.some((k) => Math.abs(k - 0.619) < 5e-4));
  assert.deepEqual(spec.axes.pruning, ['random', 'top-prob']);
  assert.equal(spec.fixed.rule, 'dale');
});

test('resolution order: axis/include > tasks override > fixed > paper defaults', () => {
  const spec = parseSpec(
    [
      'name: r',
      'fixed: { nHidden: 64, epochs: 7 }',
      'tasks:',
      '  smnist: { epochs: 3, nTrain: 500 }',
      'axes:',
      '  task: [flipflop, smnist]',
      '  rule: [dale]',
      'include:',
      '  - { task: smnist, rule: conventional, nTrain: 99 }',
    ].join('\n'),
    'r.yaml',
  );
  const runs = [...expandAssignments(spec)].map((a) => resolveRun(spec, a.values).params);
  assert.equal(runs.length, 3);
  const [ff, sm, inc] = runs;
  assert.deepEqual([ff.task, ff.epochs, ff.nTrain, ff.nHidden, ff.batchSize, ff.lr], ['flipflop', 7, 6000, 64, 200, 0.001]);
  assert.deepEqual([sm.task, sm.epochs, sm.nTrain, sm.nTest], ['smnist', 3, 500, 10000]);
  assert.deepEqual([inc.task, inc.rule, inc.epochs, inc.nTrain], ['smnist', 'conventional', 3, 99]);
});

test('include fills absent axes with their first value and skips duplicates; exclude drops matches', () => {
  const spec = parseSpec(
    [
      'name: ie',
      'axes:',
      '  task: [flipflop, wave]',
      '  rule: [conventional, dale]',
      '  seed: [0, 1]',
      'exclude:',
      '  - { task: wave, rule: conventional }',
      'include:',
      '  - { rule: dale, seed: 7 }',
      '  - { task: flipflop, rule: dale, seed: 1 }',
    ].join('\n'),
    'ie.yaml',
  );
  const runs = [...expandAssignments(spec)].map((a) => `${a.values.task}/${a.values.rule}/${a.values.seed}`);
  assert.deepEqual(runs, [
    'flipflop/conventional/0',
    'flipflop/conventional/1',
    'flipflop/dale/0',
    'flipflop/dale/1',
    'wave/dale/0',
    'wave/dale/1',
    'flipflop/dale/7',
  ]);
});

test('a relative dataDir is resolved against the sweep file folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-spec-'));
  const file = join(dir, 's.yaml');
  writeFileSync(file, 'name: d\nfixed: { dataSource: mnist, dataDir: idx }\naxes: { task: [smnist], rule: [dale] }\n');
  assert.equal(loadSpec(file).fixed.dataDir, join(dir, 'idx'));
  assert.deepEqual(readdirSync(dir), ['s.yaml'], 'loading wrote nothing');
});

test('numbers: 1e-3, 0.001 and 0.0010 parse to the same value; 1.0 is an integer', () => {
  const a = parseSpec('name: n\nfixed: { lr: 1e-3, epochs: 2.0 }\naxes: { task: [wave], rule: [dale] }\n', 'a.yaml');
  const b = parseSpec('name: n\nfixed: { lr: 0.0010, epochs: 2 }\naxes: { task: [wave], rule: [dale] }\n', 'b.yaml');
  assert.equal(a.fixed.lr, b.fixed.lr);
  assert.equal(a.fixed.epochs, 2);
});

test('the cell-type sweep files load: conditions as an axis, pruning celltype, rule and sizes from the task', () => {
  for (const f of ['sweeps/celltype-synthetic.yaml', 'sweeps/paper/celltype.yaml']) {
    const spec = loadSpec(new URL(f, REPO).pathname);
    const runs = [...expandAssignments(spec)].map((a) => resolveRun(spec, a.values).params);
    assert.ok(runs.length > 0);
    for (const p of runs) {
      assert.equal(p.task, 'celltype');
      assert.equal(p.pruning, 'celltype');
      assert.equal(p.sparsity, null);
      assert.equal(p.nHidden, 90 * p.latentScaling!);
      assert.ok(CELLTYPE_CONDITIONS.includes(p.condition as (typeof CELLTYPE_CONDITIONS)[number]));
    }
  }
  const paper = loadSpec(new URL('sweeps/paper/celltype.yaml', REPO).pathname);
  assert.deepEqual(paper.axes.condition, [...CELLTYPE_CONDITIONS].sort());
});

test('celltype defaults: rule dale, N = 1440, 100 epochs of all 2000 samples, evaluated on the training samples', () => {
  const spec = parseSpec('name: c\nfixed: { task: celltype, dataDir: /data }\naxes: { condition: [novel_change_half] }\n', 'c.yaml');
  const [p] = [...expandAssignments(spec)].map((a) => resolveRun(spec, a.values).params);
  assert.deepEqual(
    [p.rule, p.nHidden, p.excFraction, p.threshold, p.epochs, p.batchSize, p.nTrain, p.nTest, p.latentScaling, p.celltypeData, p.dataSource, p.dataDir, p.syntheticSamples],
    ['dale', 1440, 0.8, 0, 100, 200, 2000, 0, 16, 'files', null, '/data', null],
  );
  const syn = parseSpec('name: c\nfixed: { task: celltype, celltypeData: synthetic, nTrain: 30, latentScaling: 1 }\naxes: { condition: [novel_change_half] }\n', 'c.yaml');
  const q = resolveRun(syn, [...expandAssignments(syn)][0].values).params;
  assert.deepEqual([q.nHidden, q.syntheticSamples], [90, 30]);
});

test('task-specific parameters: fixed and axis values are ignored by tasks that do not read them; explicit per-task values are errors', () => {
  const spec = parseSpec(
    [
      'name: mixed',
      'fixed: { nHidden: 64, celltypeData: synthetic, latentScaling: 1 }',
      'tasks:',
      '  flipflop: { pruning: top-prob, sparsity: 0.5 }',
      '  celltype: { pruning: celltype }',
      'axes:',
      '  task: [flipflop, celltype]',
      '  condition: [familiar_change_full, novel_change_full]',
      '  rule: [dale]',
    ].join('\n'),
    'm.yaml',
  );
  const runs = [...expandAssignments(spec)].map((a) => resolveRun(spec, a.values).params);
  const ff = runs.filter((p) => p.task === 'flipflop');
  const ct = runs.filter((p) => p.task === 'celltype');
  for (const p of ff) assert.deepEqual([p.nHidden, p.condition, p.latentScaling, p.celltypeData, p.pruning, p.sparsity], [64, null, null, null, 'top-prob', 0.5]);
  assert.deepEqual(ct.map((p) => [p.nHidden, p.condition, p.pruning, p.sparsity]), [
    [90, 'familiar_change_full', 'celltype', null],
    [90, 'novel_change_full', 'celltype', null],
  ]);
  const cases: [string, RegExp][] = [
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic }\naxes: { condition: [novel_change_full] }\ninclude:\n  - { condition: novel_change_half, threshold: 0.1 }\n', /include\[0\]\.threshold: threshold does not apply to task celltype/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic }\ntasks:\n  celltype: { excFraction: 0.5 }\naxes: { condition: [novel_change_full] }\n', /tasks\.celltype\.excFraction: unknown key "excFraction"/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic, pruning: celltype, sparsity: 0.5 }\naxes: { condition: [novel_change_full] }\n', /fixed\.sparsity: sparsity does not apply to task celltype/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic }\naxes: { seed: [0, 1] }\n', /axes: task celltype needs a condition/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic, pruning: celltype }\naxes: { condition: [novel_change_full] }\nstages: { prune: { mode: iterative } }\n', /stages\.prune\.mode: iterative pruning does not apply to task celltype/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic, dataDir: /d }\naxes: { condition: [novel_change_full] }\n', /fixed\.dataDir: dataDir is only read with celltypeData files/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic, nTrain: 50, syntheticSamples: 40 }\naxes: { condition: [novel_change_full] }\n', /fixed\.syntheticSamples: syntheticSamples \(40\) must be at least nTrain \+ nTest/],
    ['name: x\nfixed: { pruning: celltype }\naxes: { task: [wave], rule: [dale] }\n', /fixed\.pruning: pruning celltype \(Table 1 blocks\) applies only to task celltype/],
    ['name: x\nfixed: { nTest: 0 }\naxes: { task: [wave], rule: [dale] }\n', /fixed\.nTest: nTest 0 is allowed only for task celltype/],
    ['name: x\naxes: { task: [wave, celltype], condition: [novel_change_full] }\n', /axes: "rule" is required/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseSpec(text, 'x.yaml'), re);
});

test('the schema lists every parameter in fixed, axes, include and exclude, and the 12 conditions', () => {
  const props = schema.properties;
  for (const k of PARAM_NAMES) {
    assert.ok(k in props.axes.properties, `axes.${k}`);
    assert.ok(k in props.include.items.properties, `include.${k}`);
    assert.ok(k in props.exclude.items.properties, `exclude.${k}`);
    if (k !== 'finetuneEpochs') assert.ok(k in props.fixed.properties, `fixed.${k}`);
  }
  for (const t of TASKS) {
    const over = (props.tasks.properties as Record<string, { properties: Record<string, unknown> }>)[t];
    assert.ok(over, `tasks.${t}`);
    for (const k of PARAM_NAMES) if (k !== 'task') assert.equal(k in over.properties, paramApplies(t, k), `tasks.${t}.${k}`);
  }
  assert.deepEqual(schema.definitions.condition.enum, [...CELLTYPE_CONDITIONS]);
  assert.deepEqual(schema.definitions.pruning.enum, [...PRUNE_METHODS]);
  assert.deepEqual(schema.definitions.task.enum, [...TASKS]);
});

test('lrSchedule: cosine fills the authors T_max 10 and eta_min 1e-4; lrTMax / lrMin need a cosine run', () => {
  const base = 'name: x\naxes: { task: [flipflop], rule: [dale] }\n';
  const runs = (text: string) => [...expandAssignments(parseSpec(text, 'x.yaml'))].map((a) => resolveRun(parseSpec(text, 'x.yaml'), a.values).params);
  const [constant] = runs(base);
  assert.deepEqual([constant.lrSchedule, constant.lrTMax, constant.lrMin], ['constant', null, null]);
  const [cos] = runs(`${base}fixed: { lrSchedule: cosine }\n`);
  assert.deepEqual([cos.lrSchedule, cos.lrTMax, cos.lrMin], ['cosine', 10, 1e-4]);
  const [own] = runs(`${base}fixed: { lrSchedule: cosine, lrTMax: 5, lrMin: 0 }\n`);
  assert.deepEqual([own.lrTMax, own.lrMin], [5, 0]);
  // An axis over the schedule: the constant runs ignore lrTMax.
  const both = runs('name: x\nfixed: { lrTMax: 4 }\naxes: { task: [flipflop], rule: [dale], lrSchedule: [constant, cosine] }\n');
  assert.deepEqual(both.map((p) => [p.lrSchedule, p.lrTMax, p.lrMin]), [['constant', null, null], ['cosine', 4, 1e-4]]);
  const bad: [string, RegExp][] = [
    [`${base}fixed: { lrTMax: 5 }\n`, /fixed\.lrTMax: lrTMax applies only to lrSchedule cosine; no run of this sweep uses it/],
    ['name: x\naxes: { task: [flipflop], rule: [dale], lrMin: [0, 1e-5] }\n', /axes\.lrMin: lrMin applies only to lrSchedule cosine/],
    [`${base}tasks: { flipflop: { lrTMax: 3 } }\n`, /tasks\.flipflop\.lrTMax: lrTMax applies only to lrSchedule cosine \(this run's lrSchedule is constant\)/],
    [`${base}fixed: { lrSchedule: cosine, lrTMax: 0 }\n`, /fixed\.lrTMax: expected an integer >= 1/],
    [`${base}fixed: { lrSchedule: cosine, lrMin: -1 }\n`, /fixed\.lrMin: expected a number >= 0/],
    [`${base}fixed: { lrSchedule: step }\n`, /fixed\.lrSchedule: expected one of constant, cosine/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseSpec(text, 'x.yaml'), re);
});

test('a data directory override (dalesweep run --data) replaces dataDir in the runs that read one, as an absolute path', () => {
  const celltype = 'name: x\nfixed: { task: celltype }\naxes: { condition: [familiar_change_full], celltypeData: [files, synthetic] }\n';
  const spec = parseSpec(celltype, 'x.yaml', { dataDir: 'rel/data' });
  assert.equal(spec.dataDirOverride, join(process.cwd(), 'rel/data'));
  const ps = [...expandAssignments(spec)].map((a) => resolveRun(spec, a.values).params);
  assert.deepEqual(ps.map((p) => [p.celltypeData, p.dataDir]), [['files', join(process.cwd(), 'rel/data')], ['synthetic', null]]);
  // A sweep without dataDir at all can take it from --data (files is celltype's default source).
  const spec2 = parseSpec('name: x\nfixed: { task: celltype }\naxes: { condition: [novel_change_half] }\n', 'x.yaml', { dataDir: '/data' });
  assert.equal(resolveRun(spec2, [...expandAssignments(spec2)][0].values).params.dataDir, '/data');
  assert.throws(() => parseSpec('name: x\nfixed: { task: celltype }\naxes: { condition: [novel_change_half] }\n', 'x.yaml'), /celltypeData files \(the default\) needs dataDir/);
  // smnist with dataSource mnist reads it; fashion-mnist runs do not.
  const sm = parseSpec('name: x\nfixed: { task: smnist, rule: dale }\naxes: { dataSource: [mnist, fashion-mnist] }\n', 'x.yaml', { dataDir: '/idx' });
  assert.deepEqual([...expandAssignments(sm)].map((a) => resolveRun(sm, a.values).params.dataDir), ['/idx', null]);
  // Nothing reads a data directory: an error (exit 2).
  assert.throws(() => parseSpec('name: x\naxes: { task: [flipflop], rule: [dale] }\n', 'x.yaml', { dataDir: '/d' }), (e: unknown) => e instanceof SpecError && /--data \/d: no run of this sweep reads a data directory/.test(e.message));
});
