import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UsageError } from '../errors/errors.js';
import { decodeSpecText, expandAssignments, loadSpec, MAX_NESTING, RUN_PARAM_NAMES, paramApplies, parseSpec, resolveRun, SpecError } from './spec.js';
import { badSpecFixtures } from './testdata/bad-fixtures.js';
import { PRUNE_METHODS } from './stage-config.js';
import { TASK_NAMES as TASKS, TASKS as TASK_REGISTRY } from '../tasks/registry.js';
import { CELLTYPE_CONDITIONS } from '../celltype/conditions.js';
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
    ['name: x\naxes: {task: [flipflop], rule: [dale], seed: [0, 2.5]}\n', /axes\.seed\[1\]: expected an integer in 0\.\.4294967295 \(2\^32 - 1\) \(got 2\.5\)/],
    ['name: x\nname: y\naxes: {task: [flipflop], rule: [dale]}\n', /x\.yaml:2:1: name: duplicate key/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseSpec(text, 'x.yaml'), re);
});

test('a missing file is a SpecError', () => {
  assert.throws(() => loadSpec('/nonexistent/sweep.yaml'), (e: unknown) => e instanceof SpecError && /no such file/.test(e.message));
});

test('the repository sweep files load, each named as its file', () => {
  const paper = readdirSync(new URL('sweeps/paper/', REPO)).filter((f) => f.endsWith('.yaml')).map((f) => `sweeps/paper/${f}`);
  assert.ok(paper.length >= 8, paper.join(', '));
  for (const f of ['sweeps/quick.yaml', ...paper]) {
    const spec = loadSpec(new URL(f, REPO).pathname);
    assert.equal(spec.name, basename(f, '.yaml'), f);
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
  for (const k of RUN_PARAM_NAMES) {
    assert.ok(k in props.axes.properties, `axes.${k}`);
    assert.ok(k in props.include.items.properties, `include.${k}`);
    assert.ok(k in props.exclude.items.properties, `exclude.${k}`);
    if (k !== 'finetuneEpochs') assert.ok(k in props.fixed.properties, `fixed.${k}`);
  }
  for (const t of TASKS) {
    const over = (props.tasks.properties as Record<string, { properties: Record<string, unknown> }>)[t];
    assert.ok(over, `tasks.${t}`);
    for (const k of RUN_PARAM_NAMES) if (k !== 'task') assert.equal(k in over.properties, paramApplies(t, k), `tasks.${t}.${k}`);
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

/** The SpecError that parsing `text` throws. */
function specError(text: string): SpecError {
  try {
    parseSpec(text, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    return err;
  }
  assert.fail(`no error for ${text.slice(0, 200)}`);
}

const TINY = 'name: x\naxes: { task: [flipflop], rule: [dale] }\n';

test('integers must be safe and in range (seeds 0..2^32 - 1), numbers finite; .nan and .inf are named', () => {
  const cases: [string, RegExp][] = [
    ['name: x\naxes: { task: [flipflop], rule: [dale], seed: [0, 1e20] }\n', /^x\.yaml:2:51: axes\.seed\[1\]: expected an integer in 0\.\.4294967295 \(2\^32 - 1\) \(got 100000000000000000000\)$/],
    ['name: x\naxes: { task: [flipflop], rule: [dale], seed: [4294967296] }\n', /axes\.seed\[0\]: expected an integer in 0\.\.4294967295/],
    ['name: x\naxes: { task: [flipflop], rule: [dale], seed: [.nan] }\n', /axes\.seed\[0\]: expected an integer in 0\.\.4294967295 \(2\^32 - 1\) \(got NaN\)/],
    [`${TINY}fixed: { pruneSeed: 4294967296, pruning: random, sparsity: 0.5 }\n`, /fixed\.pruneSeed: expected an integer in 0\.\.4294967295/],
    [`${TINY}fixed: { lr: .nan }\n`, /fixed\.lr: expected a number > 0 \(got NaN\)/],
    [`${TINY}fixed: { lr: .inf }\n`, /fixed\.lr: expected a number > 0 \(got Infinity\)/],
    [`${TINY}fixed: { lrSchedule: cosine, lrMin: -.Inf }\n`, /fixed\.lrMin: expected a number >= 0 \(got -Infinity\)/],
    [`${TINY}fixed: { excFraction: .NaN }\n`, /fixed\.excFraction: expected a number in \[0, 1\] \(got NaN\)/],
    ['name: x\nfixed: { pruning: random }\naxes: { task: [flipflop], rule: [dale], sparsity: [0.5, .inf] }\n', /axes\.sparsity\[1\]: expected a number in \[0, 1\).*\(got Infinity\)/],
    [`${TINY}fixed: { epochs: 9007199254740992 }\n`, /fixed\.epochs: expected an integer >= 0 \(at most 2\^53 - 1\)/],
    [`${TINY}fixed: { nTrain: 1e300 }\n`, /fixed\.nTrain: expected an integer >= 1 \(at most 2\^53 - 1\)/],
    [`${TINY}fixed: { nHidden: 32769 }\n`, /fixed\.nHidden: expected an integer in 2\.\.32768/],
    ['name: x\nfixed: { task: celltype, celltypeData: synthetic, latentScaling: 365 }\naxes: { condition: [novel_change_full] }\n', /fixed\.latentScaling: expected an integer in 1\.\.364/],
    [`${TINY}fixed: { pruning: random, sparsity: 0.5 }\nstages: { prune: { mode: iterative, rounds: 1001 } }\n`, /stages\.prune\.rounds: must be <= 1000/],
    [`${TINY}fixed: { pruning: random, sparsity: 0.5 }\nstages: { finetune: { epochs: .inf } }\n`, /stages\.finetune\.epochs: expected an integer >= 0 \(at most 2\^53 - 1\) or "half" \(got Infinity\)/],
  ];
  for (const [text, re] of cases) assert.match(specError(text).message, re, text);
  // The bounds themselves are accepted.
  const edge = parseSpec(`name: x\nfixed: { seed: 4294967295, pruneSeed: 0, nHidden: 32768, epochs: 9007199254740991, pruning: random, sparsity: 0.5 }\naxes: { task: [flipflop], rule: [dale] }\n`, 'x.yaml');
  assert.equal(edge.fixed.seed, 4294967295);
});

test('invalid UTF-8 is refused naming the line and column of the first bad byte', () => {
  const bytes = (...parts: (string | number[])[]): Uint8Array => {
    const out: number[] = [];
    for (const p of parts) out.push(...(typeof p === 'string' ? new TextEncoder().encode(p) : p));
    return Uint8Array.from(out);
  };
  const at = (b: Uint8Array): string => {
    try {
      decodeSpecText(b, 's.yaml');
    } catch (err) {
      assert.ok(err instanceof SpecError && err.exitCode === 2, String(err));
      return `${err.line}:${err.column} ${err.message}`;
    }
    return 'decoded';
  };
  // "café " is 5 characters (6 bytes): the bad byte is the 19th character of line 2.
  assert.match(at(bytes('name: x\ndescription: café ', [0xff], '\n')), /^2:19 s\.yaml:2:19: \(document\): invalid UTF-8 \(byte 0xff at byte offset 27\); a sweep file must be UTF-8 text/);
  assert.match(at(bytes('name: caf', [0xe9], '\n')), /^1:10 .*byte 0xe9/, 'Latin-1 é');
  assert.match(at(bytes('a: 1\nb: 2\nc: ', [0xc0, 0x80])), /^3:4 .*byte 0xc0/, 'overlong NUL');
  assert.match(at(bytes('a: ', [0xed, 0xa0, 0x80])), /^1:4 .*byte 0xed/, 'UTF-16 surrogate');
  assert.match(at(bytes('a: ', [0xe2, 0x82])), /^1:4 .*byte 0xe2/, 'sequence cut at the end');
  assert.match(at(bytes('a: ', [0xf4, 0x90, 0x80, 0x80])), /^1:4 .*byte 0xf4/, 'above U+10FFFF');
  // Valid text decodes, 4-byte characters and a byte-order mark included.
  assert.equal(decodeSpecText(bytes([0xef, 0xbb, 0xbf], 'name: x # 😀 é\n'), 's.yaml'), 'name: x # 😀 é\n');
  // loadSpec reads bytes too.
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-utf8-'));
  try {
    writeFileSync(join(dir, 's.yaml'), bytes('name: x\naxes: { task: [flipflop], rule: [', [0xff], '] }\n'));
    assert.throws(() => loadSpec(join(dir, 's.yaml')), /s\.yaml:2:34: \(document\): invalid UTF-8/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('names, descriptions and paths have size caps, and messages repeat at most ~100 characters of a value', () => {
  const name = specError(`name: ${'a'.repeat(1_000_000)}\naxes: { task: [flipflop], rule: [dale] }\n`);
  assert.match(name.message, /^x\.yaml:1:7: name: expected a name matching \[A-Za-z0-9._-\]\+ of at most 100 characters \(got "a{100}…" \(1000000 characters\)\)$/);
  assert.ok(name.message.length < 300);
  parseSpec(`name: ${'a'.repeat(100)}\ndescription: ${'d'.repeat(10_000)}\naxes: { task: [flipflop], rule: [dale] }\n`, 'x.yaml');
  const desc = specError(`name: x\ndescription: ${'d '.repeat(5001)}\naxes: { task: [flipflop], rule: [dale] }\n`);
  assert.match(desc.message, /^x\.yaml:2:14: description: expected a description of at most 10000 characters \(got ".{100}…" \(10001 characters\)\)$/);
  // Long values elsewhere: an unknown key, a value of an enum, a path, a long exclude value list.
  const key = specError(`${TINY}fixed: { ${'k'.repeat(50_000)}: 1 }\n`);
  assert.ok(key.message.length < 900, key.message.slice(0, 300));
  assert.match(key.message, /fixed\.k{100}…: unknown key "k{100}…"; expected one of: task, rule/);
  const task = specError(`name: x\naxes: { task: [${'t'.repeat(50_000)}], rule: [dale] }\n`);
  assert.ok(task.message.length < 400 && task.message.includes('(50000 characters)'), task.message.slice(0, 300));
  const dir = specError(`${TINY}fixed: { task: smnist, dataSource: mnist, dataDir: /${'d'.repeat(5000)} }\n`.replace('task: [flipflop], ', ''));
  assert.match(dir.message, /fixed\.dataDir: expected a directory path \(a string of at most 4096 characters\) or null/);
  assert.ok(dir.message.length < 400);
  const queue = specError(`${TINY}fixed: { queue: ${'q'.repeat(101)} }\n`);
  assert.match(queue.message, /fixed\.queue: expected a queue name matching \[A-Za-z0-9._-\]\+, at most 100 characters/);
});

test('nesting deeper than MAX_NESTING is refused with a message before any recursive processing', () => {
  assert.equal(MAX_NESTING, 64);
  const deep = [
    ['100,000 [', `name: x\naxes: ${'['.repeat(100_000)}`],
    ['100,000 {', `name: x\naxes: {a: ${'{a: '.repeat(100_000)}`],
    ['closed flow lists', `${TINY}fixed: { lr: ${'['.repeat(70)}1${']'.repeat(70)} }\n`],
    ['block mappings', `${TINY}fixed:\n${Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')}\n`],
    ['compact block lists', `${TINY}fixed:\n  lr:\n    ${'- '.repeat(5000)}1\n`],
  ];
  for (const [what, text] of deep) {
    const e = specError(text);
    assert.match(e.message, /: \(document\): lists and mappings are nested more than 64 deep here; a sweep file needs at most 4 levels/, what);
    assert.ok(typeof e.line === 'number' && e.line >= 2, `${what}: line ${e.line}`);
  }
  // 64 levels (the document's mapping, fixed's, 62 lists) are still read: the schema names the problem.
  const ok = specError(`${TINY}fixed: { lr: ${'['.repeat(62)}1${']'.repeat(62)} }\n`);
  assert.match(ok.message, /fixed\.lr: expected a number > 0 \(got a list\)/);
  assert.match(specError(`${TINY}fixed: { lr: ${'['.repeat(63)}1${']'.repeat(63)} }\n`).message, /nested more than 64 deep/);
});

test('a duplicate key and a second YAML document are each named as such, with their line', () => {
  assert.match(specError(`${TINY}fixed:\n  lr: 0.01\n  epochs: 2\n  lr: 0.1\n`).message, /^x\.yaml:6:3: fixed\.lr: duplicate key "lr" \(each key may appear once in a mapping\)$/);
  assert.match(specError(`${TINY}name: y\n`).message, /^x\.yaml:3:1: name: duplicate key "name"/);
  assert.match(specError(`${TINY}---\nname: y\n`).message, /^x\.yaml:3:1: \(document\): a second YAML document starts here \('---'\); a sweep file holds exactly one document/);
  assert.match(specError(`---\n${TINY}...\n---\n`).message, /^x\.yaml:5:1: \(document\): a second YAML document/);
  // One document with explicit markers is fine.
  assert.equal(parseSpec(`# c\n---\n${TINY}...\n`, 'x.yaml').name, 'x');
});

test('the task registry names only spec parameters, and its defaults are the resolved defaults of each task', () => {
  for (const t of TASKS) {
    for (const k of [...TASK_REGISTRY[t].ownParams, ...TASK_REGISTRY[t].ignoredParams]) assert.ok((RUN_PARAM_NAMES as readonly string[]).includes(k), `tasks/registry.ts: ${t} names '${k}'`);
  }
  const spec = parseSpec('name: d\nfixed: { seed: 1, rule: dale }\naxes: { task: [flipflop, wave, smnist] }\n', 'd.yaml');
  for (const a of expandAssignments(spec)) {
    const p = resolveRun(spec, a.values).params;
    const d = TASK_REGISTRY[p.task].defaults;
    assert.deepEqual([p.epochs, p.batchSize, p.nTrain, p.nTest], [d.epochs, d.batchSize, d.nTrain, d.nTest], p.task);
  }
});

