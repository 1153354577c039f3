/**
 * Fault injection against the real CLI and stores (no mocks): every kind of stored artifact
 * corrupted at seeded random offsets, kill -9 at seeded random points, and several concurrent
 * runs of one sweep on one store (filesystem and MinIO). After each fault the same `run` must
 * exit 0 with results byte-identical to a clean run, and concurrent runs must execute every stage
 * exactly once (counted from their `--json` stage-end events).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open.js';
import type { ArtifactStore } from '../store/types.js';
import { cli, cliAsync, MAIN, s3TestStore, writeTinySweep, type CliResult } from './test-support.js';
import { Rng } from '../rnn/rng.js';

/** Deterministic numbers in [0, 1) for the fault positions (the project's seeded Rng). */
function rng(seed: number): () => number {
  const g = new Rng(seed, 'test');
  return () => g.uniform();
}

/** One rule, both pruning methods, fine-tuning: 10 stages; training long enough to checkpoint. */
function writeFaultSweep(file: string): string {
  writeFileSync(
    file,
    [
      'name: faults',
      'fixed: { backend: js, nHidden: 16, lr: 0.001, optimizer: adam }',
      'tasks:',
      '  flipflop: { epochs: 8, batchSize: 50, nTrain: 200, nTest: 50 }',
      'axes:',
      '  task: [flipflop]',
      '  rule: [dale]',
      '  pruning: [top-prob, random]',
      '  sparsity: [0.5]',
      '  seed: [0]',
    ].join('\n'),
  );
  return file;
}

function resultsCsv(store: string): string {
  const dir = readdirSync(join(store, 'sweeps'))[0];
  return readFileSync(join(store, 'sweeps', dir, 'results.csv'), 'utf8');
}

/** Every file under `dir` (relative paths), links not followed. */
function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/** Runs the CLI and kills it (SIGKILL) when `until` says so for a line of its stdout. */
function runUntil(args: string[], until: (line: string) => boolean): Promise<void> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      if (lines.some(until)) c.kill('SIGKILL');
    });
    c.on('close', () => res());
  });
}

/** Runs the CLI and kills it (SIGKILL) after `ms` milliseconds, if still running. */
function runKilledAfter(args: string[], ms: number): Promise<void> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: 'ignore' });
    const t = setTimeout(() => c.kill('SIGKILL'), ms);
    c.on('close', () => {
      clearTimeout(t);
      res();
    });
  });
}

/** How often each stage really ran, summed over the runs' `--json` output. */
function executions(outputs: CliResult[]): Map<string, number> {
  const ran = new Map<string, number>();
  for (const o of outputs) {
    for (const line of o.stdout.split('\n')) {
      if (!line.includes('"event":"stage-end"')) continue;
      const e = JSON.parse(line) as { stageId: string; cached: boolean; status: string };
      if (!e.cached) ran.set(e.stageId, (ran.get(e.stageId) ?? 0) + 1);
    }
  }
  return ran;
}

const dir = mkdtempSync(join(tmpdir(), 'dalesweep-faults-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const spec = writeFaultSweep(join(dir, 'faults.yaml'));
const runArgs = (store: string): string[] => ['run', spec, '--store', store, '--json', '--no-report', '--concurrency', '2'];

/** A clean run's store, and a store interrupted (kill -9) mid-training with checkpoints on disk. */
const fixtures = (async () => {
  const clean = join(dir, 'clean');
  const r = await cliAsync(runArgs(clean));
  assert.equal(r.status, 0, r.stderr);
  const interrupted = join(dir, 'interrupted');
  await runUntil(runArgs(interrupted), (l) => l.includes('"event":"stage-progress"') && /"epoch":[3-7],/.test(l));
  const ckpts = filesUnder(interrupted).filter((f) => f.endsWith('.ckpt'));
  return { clean, expected: resultsCsv(clean), interrupted, ckpts };
})();

type Kind = 'checkpoint' | 'weights' | 'wEff' | 'records' | 'manifest' | 'plan';
const KINDS: Kind[] = ['checkpoint', 'weights', 'wEff', 'records', 'manifest', 'plan'];

/** Damages a file: a flipped byte at a random offset, a random truncation, or emptied. */
function damage(file: string, how: 'flip' | 'truncate' | 'empty', r: () => number): string {
  const size = statSync(file).size;
  if (how === 'empty' || size < 2) {
    writeFileSync(file, '');
    return 'emptied';
  }
  if (how === 'truncate') {
    const at = Math.floor(r() * size);
    truncateSync(file, at);
    return `truncated to ${at} of ${size} bytes`;
  }
  const at = Math.floor(r() * size);
  const b = readFileSync(file);
  b[at] ^= 1 << Math.floor(r() * 8);
  writeFileSync(file, b);
  return `byte ${at} of ${size} flipped`;
}

test('corrupted artifacts of every kind (24 seeded cases): the run repairs them, exits 0, and gives results byte-identical to a clean run', { timeout: 600_000 }, async (t) => {
  const fx = await fixtures;
  assert.ok(fx.ckpts.length >= 1, `the interrupted run left checkpoints (${fx.ckpts.join(', ')})`);
  const hows = ['flip', 'truncate', 'empty'] as const;
  for (let seed = 0; seed < 24; seed++) {
    const r = rng(1000 + seed);
    const kind = KINDS[seed % KINDS.length];
    const how = hows[Math.floor(seed / KINDS.length) % hows.length];
    const store = join(dir, `case-${seed}`);
    cpSync(kind === 'checkpoint' ? fx.interrupted : fx.clean, store, { recursive: true });
    const files = filesUnder(store);
    const candidates = files.filter((f) => {
      switch (kind) {
        case 'checkpoint':
          return f.endsWith('.ckpt');
        case 'weights':
          return /^stages\/[0-9a-f]+\/weights\/.*\.npy$/.test(f) || /^stages\/[0-9a-f]+\/mask\.npy$/.test(f);
        case 'wEff':
          return f.endsWith('/wEff.npy');
        case 'records':
          return f.endsWith('/records.json');
        case 'manifest':
          return /^stages\/[0-9a-f]+\/manifest\.json$/.test(f);
        case 'plan':
          return f.endsWith('/plan.json');
      }
    });
    assert.ok(candidates.length > 0, `case ${seed}: no ${kind} file`);
    const target = candidates.sort()[Math.floor(r() * candidates.length)];
    const what = damage(join(store, target), how, r);
    await t.test(`case ${seed}: ${kind} ${target.split('/').slice(-2).join('/')} ${what}`, async () => {
      const res = await cliAsync(runArgs(store));
      assert.equal(res.status, 0, res.stderr);
      assert.equal(resultsCsv(store), fx.expected, 'results differ from a clean run');
      assert.doesNotMatch(res.stderr, /internal error|\n\s+at /, 'no stack trace');
      if (seed % 4 === 0) {
        const v = await cliAsync(['verify', '--store', store]);
        assert.equal(v.status, 0, `verify after the repair: ${v.stdout}${v.stderr}`);
      }
    });
    rmSync(store, { recursive: true, force: true });
  }
});

test('a corrupt checkpoint is set aside with a warning naming it; report and status survive corrupt stages', { timeout: 300_000 }, async () => {
  const fx = await fixtures;
  const store = join(dir, 'ckpt-warning');
  cpSync(fx.interrupted, store, { recursive: true });
  for (const c of fx.ckpts) damage(join(store, c), 'flip', rng(7));
  const res = await cliAsync(runArgs(store));
  assert.equal(res.status, 0, res.stderr);
  const warnings = res.stdout.split('\n').filter((l) => l.includes('"event":"stage-warning"'));
  assert.ok(warnings.some((w) => /checksum does not match/.test(w) && /quarantine\/checkpoints\//.test(w)), warnings.join('\n'));
  assert.equal(resultsCsv(store), fx.expected);
  assert.ok(filesUnder(store).some((f) => f.startsWith('quarantine/checkpoints/')), 'the corrupt checkpoint is kept aside, not deleted');

  // status and report on a store with a corrupt stage: counted, named, no stack; run repairs.
  const wEff = filesUnder(store).find((f) => f.endsWith('/wEff.npy'))!;
  damage(join(store, wEff), 'flip', rng(8));
  const st = await cliAsync(['status', 'faults', '--store', store]);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /1 corrupt/);
  const rep = await cliAsync(['report', 'faults', '--store', store]);
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(rep.stderr, /1 stage\(s\) failed verification/);
  assert.match(resultsCsv(store), /pending,.*is corrupt/);
  const v = await cliAsync(['verify', 'faults', '--store', store]);
  assert.equal(v.status, 1, 'verify reports the problem with exit 1');
  assert.match(v.stdout, /1 problem/);
  const fixed = await cliAsync(['verify', 'faults', '--store', store, '--repair']);
  assert.equal(fixed.status, 0, fixed.stdout + fixed.stderr);
  assert.equal((await cliAsync(runArgs(store))).status, 0);
  assert.equal(resultsCsv(store), fx.expected);
});

test('kill -9 at 10 seeded points, then the same run: exit 0, identical results, a sound store, no temporary files', { timeout: 300_000 }, async () => {
  const fx = await fixtures;
  const store = join(dir, 'kills');
  const r = rng(42);
  for (let i = 0; i < 10; i++) await runKilledAfter(runArgs(store), 150 + Math.floor(r() * 1500));
  const res = await cliAsync(runArgs(store));
  assert.equal(res.status, 0, res.stderr);
  assert.equal(resultsCsv(store), fx.expected);
  const v = await cliAsync(['verify', '--store', store]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.deepEqual(filesUnder(store).filter((f) => f.includes('.dalesweep-tmp-')), [], 'temporary files of killed writers are removed');
  assert.deepEqual(filesUnder(store).filter((f) => f.startsWith('leases/')), [], 'no lease is left behind');
});

/** Runs `n` copies of `run` at once on one store; checks exactly-once and identical results. */
async function concurrentRuns(n: number, store: string, env: NodeJS.ProcessEnv, readCsv: () => Promise<string>, expected: string, specFile: string): Promise<void> {
  const outs = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<CliResult>((res) => {
        const c = spawn(process.execPath, [MAIN, 'run', specFile, '--store', store, '--json', '--no-report', '--concurrency', '2'], { stdio: ['ignore', 'pipe', 'pipe'], env });
        let stdout = '';
        let stderr = '';
        c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        c.on('close', (status) => res({ status, stdout, stderr }));
      }),
    ),
  );
  for (const o of outs) assert.equal(o.status, 0, o.stderr);
  const done = outs.map((o) => JSON.parse(o.stdout.trim().split('\n').at(-1)!) as { stages: number; ran: number });
  const ran = executions(outs);
  assert.equal(ran.size, done[0].stages, 'every stage ran');
  assert.deepEqual([...ran.values()].filter((k) => k !== 1), [], 'no stage ran more than once');
  assert.equal(done.reduce((s, d) => s + d.ran, 0), done[0].stages, 'the runs split the work');
  assert.equal(await readCsv(), expected, 'results identical to a single clean run');
}

const concurrencyFixture = (async () => {
  const file = writeTinySweep(join(dir, 'concurrent.yaml'), { name: 'concurrent', seeds: [0, 1] });
  const clean = join(dir, 'concurrent-clean');
  const r = cli(['run', file, '--store', clean, '--json', '--no-report']);
  assert.equal(r.status, 0, r.stderr);
  return { file, expected: resultsCsv(clean) };
})();

for (const n of [2, 4]) {
  test(`${n} concurrent runs of one sweep on one filesystem store: every stage exactly once, all exit 0, identical results`, { timeout: 300_000 }, async () => {
    const fx = await concurrencyFixture;
    const store = join(dir, `concurrent-${n}`);
    await concurrentRuns(n, store, process.env, async () => resultsCsv(store), fx.expected, fx.file);
  });
}

const SKIP_S3 = process.env.DALESWEEP_SKIP_S3 === '1' ? 'DALESWEEP_SKIP_S3=1: needs MinIO (bash infra/minio.sh start)' : undefined;

for (const n of [2, 4]) {
  test(`${n} concurrent runs of one sweep on one MinIO store: every stage exactly once, all exit 0, identical results`, { skip: SKIP_S3, timeout: 300_000 }, async () => {
    const { url, env } = s3TestStore('concurrent');
    const fx = await concurrencyFixture;
    const s3: ArtifactStore = await openStore(url, { env, check: false });
    const readCsv = async (): Promise<string> => {
      const key = (await s3.list('sweeps/')).find((k) => k.endsWith('/results.csv'))!;
      return new TextDecoder().decode(await s3.get(key));
    };
    // Create the bucket once, so that the concurrent runs do not race to create it.
    assert.equal(cli(['status', fx.file, '--store', url], env).status, 0);
    await concurrentRuns(n, url, env, readCsv, fx.expected, fx.file);
  });
}

test('a full disk (small tmpfs) ends the run with exit 1 and lines naming the file, never a stack trace', { timeout: 120_000 }, async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'dalesweep-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.skip(`cannot mount a small tmpfs here (needs root): ${(m.stderr || m.error?.message || '').trim()}`);
    return;
  }
  try {
    const res = await cliAsync(runArgs(join(mnt, 'runs')));
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /no space left on the device/);
    assert.match(res.stderr, new RegExp(`cannot write ${join(mnt, 'runs')}/\\S+`));
    assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('on MinIO too: a corrupted weights file and a corrupted manifest are repaired by the next run with identical results', { skip: SKIP_S3, timeout: 300_000 }, async () => {
  const { url, env } = s3TestStore('faults');
  const fx = await fixtures;
  const first = cli(runArgs(url), env);
  assert.equal(first.status, 0, first.stderr);
  const s3 = await openStore(url, { env, check: false });
  const keys = await s3.list('stages/');
  const weights = keys.filter((k) => /\/weights\/wHh\.npy$/.test(k)).sort()[0];
  const bytes = await s3.get(weights);
  bytes[Math.floor(bytes.length / 2)] ^= 0x40;
  await s3.put(weights, bytes);
  const manifest = keys.filter((k) => k.endsWith('/manifest.json')).sort().at(-1)!;
  await s3.put(manifest, new TextEncoder().encode('{"not": "a manifest"'));
  const v = cli(['verify', '--store', url], env);
  assert.equal(v.status, 1, 'verify finds both');
  const again = cli(runArgs(url), env);
  assert.equal(again.status, 0, again.stderr);
  const csvKey = (await s3.list('sweeps/')).find((k) => k.endsWith('/results.csv'))!;
  assert.equal(new TextDecoder().decode(await s3.get(csvKey)), fx.expected);
  assert.ok((await s3.list('quarantine/stages/')).length > 0, 'the corrupt objects are kept aside');
  assert.equal(cli(['verify', '--store', url], env).status, 0);
});
