/**
 * The library API as a user gets it: a project in a separate temporary folder whose
 * `node_modules/dalesweep` is this package as `npm pack` makes it (built first), with a
 * TypeScript file that imports `dalesweep` by name. The file type-checks under `tsc --strict`
 * (module nodenext) against the package's `types`, a deliberate type error is caught, the
 * compiled file runs and gets the same numbers as the code imported here directly, deep imports
 * outside `exports` are refused, and `runSweep` runs a small sweep into a store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maximumSpanningTree, mstOverlap } from './rnn/mst.js';
import { topProbMask } from './rnn/prune.js';
import { Rng } from './rnn/rng.js';

/** The package root (dist/index.test.js lives in dist/). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const CONSUMER = `import { codeVersion, FsStore, maximumSpanningTree, mstOverlap, parseSpec, planSweep, Rng, runSweep, topProbMask } from 'dalesweep';
import type { MaskResult, Plan, RunSweepResult } from 'dalesweep';

const n = 12;
const rng = new Rng(7, 'consumer:w');
const w = new Float32Array(n * n).map(() => rng.uniform() * 2 - 1);
const mask: MaskResult = topProbMask(w, n, n, 0.6, new Rng(7, 'consumer:prune'));
const overlap: number = mstOverlap(maximumSpanningTree(w, n, n), mask.mask);

const spec = parseSpec(process.argv[2], 'consumer.yaml');
const plan: Plan = planSweep(spec, { codeVersion: codeVersion() });
const store = new FsStore(process.argv[3]);
const run: RunSweepResult = await runSweep(plan, { store, specText: process.argv[2], concurrency: 1, report: false });
const summary = { kept: mask.kept, achieved: mask.achievedSparsity, overlap, stages: plan.stages.length, ran: run.ran, rows: run.rows.map((r) => r.status), csv: run.keys.resultsCsv };
console.log(JSON.stringify(summary));
`;

const SPEC = ['name: consumer', 'fixed: { backend: js, nHidden: 12, lr: 0.001, optimizer: adam }', 'tasks:', '  flipflop: { epochs: 1, batchSize: 20, nTrain: 40, nTest: 20 }', 'axes:', '  task: [flipflop]', '  rule: [dale]', '  pruning: [top-prob]', '  sparsity: [0.5]', '  seed: [0]'].join('\n');

function run(cmd: string, args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test("a separate project imports 'dalesweep' by name, with types", { timeout: 180_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-consumer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  // The package as npm would publish it (`npm pack`), unpacked where an install puts it; its
  // dependencies are this checkout's (no registry needed).
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(pack.status, 0, `npm pack: ${pack.stderr}`);
  const tgz = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0].filename);
  const tar = spawnSync('tar', ['-xzf', tgz, '-C', dir], { encoding: 'utf8' });
  assert.equal(tar.status, 0, tar.stderr);
  renameSync(join(dir, 'package'), join(dir, 'node_modules', 'dalesweep'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules', 'dalesweep', 'node_modules'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const tsconfig = { compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, types: ['node'], outDir: 'out', skipLibCheck: true }, files: ['consumer.ts'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));

  // A type error in the consumer is reported against the package's declarations.
  writeFileSync(join(dir, 'consumer.ts'), `import { topProbMask } from 'dalesweep';\nconst bad: string = topProbMask;\nexport {};\n`);
  const wrong = run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
  assert.notEqual(wrong.status, 0, 'tsc catches a wrong type');
  assert.match(wrong.out, /consumer\.ts.*TS2322/s);

  writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
  const tsc = run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
  assert.equal(tsc.status, 0, `tsc --strict on the consumer:\n${tsc.out}`);
  // Without skipLibCheck, dalesweep's own declarations check too (third-party ones, such as the
  // WebGPU and tfjs typings, have conflicts of their own that are not ours to fix).
  const strict = run(process.execPath, [TSC, '-p', 'tsconfig.json', '--skipLibCheck', 'false', '--noEmit'], dir);
  const ours = strict.out.split('\n').filter((l) => /error TS\d+/.test(l) && !/[\\/]node_modules[\\/](?!dalesweep[\\/])/.test(l));
  assert.deepEqual(ours, [], 'no type errors in dalesweep\'s declarations or the consumer');

  const store = join(dir, 'store');
  const r = spawnSync(process.execPath, [join(dir, 'out', 'consumer.js'), SPEC, store], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { kept: number; achieved: number; overlap: number; stages: number; ran: number; rows: string[]; csv: string };

  // The same numbers as the code imported directly.
  const n = 12;
  const rng = new Rng(7, 'consumer:w');
  const w = new Float32Array(n * n).map(() => rng.uniform() * 2 - 1);
  const mask = topProbMask(w, n, n, 0.6, new Rng(7, 'consumer:prune'));
  assert.deepEqual([got.kept, got.achieved, got.overlap], [mask.kept, mask.achievedSparsity, mstOverlap(maximumSpanningTree(w, n, n), mask.mask)]);
  assert.ok(got.stages > 0 && got.ran === got.stages, `every stage ran (${got.ran}/${got.stages})`);
  assert.ok(got.rows.length > 0 && got.rows.every((s) => s === 'succeeded'), got.rows.join());
  assert.ok(existsSync(join(store, got.csv)), 'results.csv written to the store');

  // Only the public entry point and package.json are exported.
  const deep = run(process.execPath, ['--input-type=module', '-e', "await import('dalesweep/dist/rnn/prune.js')"], dir);
  assert.notEqual(deep.status, 0);
  assert.match(deep.out, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  const pkg = run(process.execPath, ['--input-type=module', '-e', "import p from 'dalesweep/package.json' with { type: 'json' }; console.log(p.name, p.bin.dalesweep)"], dir);
  assert.equal(pkg.status, 0, pkg.out);
  assert.equal(pkg.out.trim(), 'dalesweep dist/cli/main.js');
  // The command still works from the package's bin entry.
  const bin = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { dalesweep: string } }).bin.dalesweep;
  const version = run(process.execPath, [join(dir, 'node_modules', 'dalesweep', bin), '--version'], dir);
  assert.equal(version.status, 0, version.out);
  assert.match(version.out, /^\d+\.\d+\.\d+/);
});
