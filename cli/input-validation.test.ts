/**
 * Every input is validated before any stage runs: `dalesweep run FILE --store DIR` on a sweep
 * whose data files are missing or malformed, or whose file is malformed in ways the YAML reader
 * and the schema used to let through (a seed of 1e20, .nan, invalid UTF-8, a 1 MB name, 100,000
 * nested lists), exits 2 with a short message and writes nothing: the store folder is never
 * created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticDataset } from '../celltype/synthetic.js';
import { encodeIdx } from '../data/idx.js';
import { encodeNpy } from '../io/npy.js';
import { cli, cliAsync, withDir } from './test-support.js';

/** Runs `dalesweep run FILE --store DIR/store`, asserting exit 2 and that no store was created. */
function refused(dir: string, file: string): string {
  const store = join(dir, 'store');
  const r = cli(['run', file, '--store', store, '--quiet']);
  assert.equal(r.status, 2, `${file}: status ${r.status}\n${r.stderr.slice(0, 2000)}`);
  assert.ok(!existsSync(store), `${file}: the store was created`);
  assert.equal(r.stdout, '');
  return r.stderr;
}

test('missing and malformed data files are all listed before anything runs: exit 2, nothing written', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-data-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The authors' cell-type format for familiar_change (its full and half conditions), 40 samples.
  const cells = join(dir, 'cells');
  await generateSyntheticDataset(cells, { seed: 2, conditions: ['familiar_change_full'], nSamples: 40, nDraws: 5 });
  // MNIST IDX files.
  const idx = join(dir, 'idx');
  mkdirSync(idx);
  const images = (n: number) => encodeIdx({ dims: [n, 28, 28], data: new Uint8Array(n * 784) });
  const labels = (n: number) => encodeIdx({ dims: [n], data: new Uint8Array(n) });
  writeFileSync(join(idx, 'train-images-idx3-ubyte'), images(30));
  writeFileSync(join(idx, 'train-labels-idx1-ubyte'), labels(30));
  writeFileSync(join(idx, 't10k-images-idx3-ubyte'), images(10));
  writeFileSync(join(idx, 't10k-labels-idx1-ubyte'), labels(10));
  const spec = join(dir, 'mixed.yaml');
  writeFileSync(
    spec,
    `name: mixed
fixed: { rule: dale, nHidden: 8, epochs: 1 }
tasks:
  smnist: { dataSource: mnist, dataDir: idx, nTrain: 30, nTest: 10 }
  celltype: { dataDir: cells, latentScaling: 1, nTrain: 40, epochs: 1 }
axes:
  task: [flipflop, smnist, celltype]
  condition: [familiar_change_full, familiar_change_half]
  seed: [0, 1]
`,
  );
  // Everything in place: the sweep plans.
  const ok = await cliAsync(['plan', spec, '--json', '--no-calibrate']);
  assert.equal(ok.status, 0, ok.stderr);

  // One cell-type file missing, one of the wrong dtype, one cut short; the MNIST test labels
  // missing; the training images not IDX at all.
  const cell = (pop: string, split: string) => join(cells, `dff_${pop}_familiar_change_${split}.npy`);
  unlinkSync(cell('V1_L5_sst', 'test'));
  writeFileSync(cell('LM_L23_vip', 'train'), encodeNpy({ data: new Int32Array(40 * 15), shape: [40, 15] }));
  const full = encodeNpy({ data: new Float64Array(40 * 15), shape: [40, 15] });
  writeFileSync(cell('LM_L4_pyr', 'test'), full.subarray(0, 1000));
  unlinkSync(join(idx, 't10k-labels-idx1-ubyte'));
  writeFileSync(join(idx, 'train-images-idx3-ubyte'), '<!doctype html>');
  const err = refused(dir, spec);
  const lines = err.trimEnd().split('\n');
  assert.match(lines[0], /mixed\.yaml: 5 data files or folders are missing or malformed \(nothing was run\):$/);
  assert.equal(lines.length, 6, err);
  const named = (path: string, re: RegExp): void => {
    const line = lines.find((l) => l.startsWith(`  ${path}: `));
    assert.ok(line, `${path} is named:\n${err}`);
    assert.match(line, re);
  };
  named(join(idx, 'train-images-idx3-ubyte'), /not an unsigned-byte IDX file: magic 0x3c21646f.*; expected the mnist training images \(IDX, magic 0x00000803\)$/);
  named(`${join(idx, 't10k-labels-idx1-ubyte')}[.gz]`, /: missing; expected the mnist test labels \(IDX, magic 0x00000801\)$/);
  named(cell('V1_L5_sst', 'test'), /: missing; expected one of the authors' cell-type files, a float32 or float64 \.npy array \(samples, 15\)/);
  named(cell('LM_L23_vip', 'train'), /: dtype int32, expected float32 or float64/);
  named(cell('LM_L4_pyr', 'test'), /: truncated data: shape \(40, 15\) of <f8 needs 4800 bytes, file has \d+; expected/);
  // plan, status and report check the same (the sweep file path of each).
  assert.equal(cli(['plan', spec]).status, 2);
  assert.equal(cli(['status', spec, '--store', join(dir, 'store')]).status, 2);
  assert.ok(!existsSync(join(dir, 'store')));
});

test('a malformed sweep file is refused in one short line naming file, line, field and the expected form: exit 2, nothing written', () => {
  withDir('cli-spec-check-', (dir) => {
    const file = (name: string, content: string | Uint8Array): string => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    const base = 'name: x\naxes: { task: [flipflop], rule: [dale] }\n';
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['seed.yaml', 'name: x\naxes: { task: [flipflop], rule: [dale], seed: [1e20] }\n', /seed\.yaml:2:48: axes\.seed\[0\]: expected an integer in 0\.\.4294967295 \(2\^32 - 1\) \(got 100000000000000000000\)$/],
      ['nan.yaml', `${base}fixed: { lr: .nan }\n`, /nan\.yaml:3:14: fixed\.lr: expected a number > 0 \(got NaN\)$/],
      ['utf8.yaml', Uint8Array.from([...new TextEncoder().encode(`${base}description: na`), 0xef, 0x76, 0x65, 0x0a]), /utf8\.yaml:3:16: \(document\): invalid UTF-8 \(byte 0xef at byte offset \d+\); a sweep file must be UTF-8 text/],
      ['name.yaml', `name: ${'n'.repeat(1_000_000)}\naxes: { task: [flipflop], rule: [dale] }\n`, /name\.yaml:1:7: name: expected a name matching \[A-Za-z0-9._-\]\+ of at most 100 characters \(got "n{100}…" \(1000000 characters\)\)$/],
      ['deep.yaml', `name: x\naxes: ${'['.repeat(100_000)}\n`, /deep\.yaml:2:71: \(document\): lists and mappings are nested more than 64 deep here/],
      ['docs.yaml', `${base}---\n${base}`, /docs\.yaml:3:1: \(document\): a second YAML document starts here/],
      ['dup.yaml', `${base}fixed: { lr: 0.1, lr: 0.2 }\n`, /dup\.yaml:3:19: fixed\.lr: duplicate key "lr"/],
    ];
    for (const [name, content, re] of cases) {
      const err = refused(dir, file(name, content));
      assert.match(err.trimEnd(), re, name);
      assert.equal(err.trimEnd().split('\n').length, 1, `${name}: one line: ${err.slice(0, 500)}`);
      assert.ok(err.length < 400, `${name}: ${err.length} characters`);
      assert.ok(!/Maximum call stack|RangeError|at .*\.js:\d+/.test(err), `${name}: ${err.slice(0, 500)}`);
    }
  });
});

test('a thread cap that is not a positive integer (--threads, DALESWEEP_THREADS) is refused in one line: exit 2, nothing written', () => {
  withDir('cli-threads-check-', (dir) => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'name: x\naxes: { task: [flipflop], rule: [dale] }\n');
    const store = join(dir, 'store');
    const flag = cli(['run', file, '--store', store, '--quiet', '--threads', '0']);
    assert.equal(flag.status, 2, flag.stderr);
    assert.match(flag.stderr, /--threads/);
    const env = cli(['run', file, '--store', store, '--quiet'], { ...process.env, DALESWEEP_THREADS: 'all' });
    assert.equal(env.status, 2, env.stderr);
    assert.match(env.stderr.trimEnd(), /DALESWEEP_THREADS must be a positive integer \(threads per training stage\), got "all"$/);
    assert.equal(env.stderr.trimEnd().split('\n').length, 1, env.stderr);
    assert.ok(!existsSync(store), 'the store was created');
  });
});

test('a DALESWEEP_ARITH other than fma or mul-add is refused in one line: exit 2, nothing written', () => {
  withDir('cli-arith-check-', (dir) => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'name: x\naxes: { task: [flipflop], rule: [dale] }\n');
    const store = join(dir, 'store');
    const r = cli(['run', file, '--store', store, '--quiet'], { ...process.env, DALESWEEP_ARITH: 'fast' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trimEnd(), "dalesweep: DALESWEEP_ARITH must be 'fma' or 'mul-add', got 'fast'");
    assert.ok(!existsSync(store), 'the store was created');
  });
});
