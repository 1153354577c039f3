import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../cli/errors.js';
import { expandAssignments, loadSpec, parseSpec, resolveRun, SpecError } from './spec.js';
import { badSpecFixtures } from './testdata/bad-fixtures.js';

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
