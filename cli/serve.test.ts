/**
 * `dalesweep serve` as a command: a port in use and bad flags are one line with their exit
 * status; a non-loopback --host prints a warning and drops the loopback Host guard; an
 * unreachable --temporal-address leaves progress to the store; a sweep running on Temporal shows
 * the workflow's progress beside the store's; and it serves a sweep from an S3 store (MinIO) as
 * from a folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSweepRecord } from '../activities/finalize.js';
import { FsStore } from '../store/fs.js';
import { writeStageArtifacts } from '../store/stage-io.js';
import { noopSweep } from '../sweeps/plan.js';
import { SKIP_TEMPORAL, temporalAddress, uniqueTag } from '../engines/temporal-testing.js';
import { MAIN, cli, writeTinySweep, s3TestStore } from './test-support.js';

const SKIP_S3 = process.env.DALESWEEP_SKIP_S3 === '1' ? 'DALESWEEP_SKIP_S3=1: needs MinIO (bash infra/minio.sh start)' : undefined;

/** Starts `dalesweep serve ARGS` and waits for its URL line. */
async function serve(args: string[], t: { after(fn: () => unknown): void }, env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; err: () => string; child: ChildProcess }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const end = Date.now() + 30_000;
  for (;;) {
    const m = /(http:\/\/\S+?)\/ \(/.exec(out);
    if (m) return { url: m[1], err: () => err, child };
    if (child.exitCode !== null || Date.now() > end) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a port in use is one line and exit status 1; bad flags exit 2', async (t) => {
  const dir = tempDir(t);
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const r = cli(['serve', '--store', dir, '--port', String(port)]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `dalesweep: port ${port} on 127.0.0.1 is already in use: stop the other server or choose another --port\n`);
  for (const [args, pattern] of [
    [['--port', '70000'], /--port must be an integer from 0 to 65535, got '70000'/],
    [['--port', 'http'], /--port must be an integer/],
    [['--host', ''], /--host needs an address/],
    [['--interval', '0'], /--interval must be a positive number/],
    [['--temporal-address', 'nohost'], /--temporal-address must be HOST:PORT/],
  ] as const) {
    const b = cli(['serve', '--store', dir, ...args]);
    assert.equal(b.status, 2, `${args.join(' ')}: ${b.stderr}`);
    assert.match(b.stderr, pattern);
    assert.equal(b.stderr.trim().split('\n').length, 1, b.stderr);
  }
});

test('a non-loopback --host prints a warning; progress stays with the store when Temporal is unreachable', async (t) => {
  const dir = tempDir(t);
  const store = new FsStore(dir);
  const plan = noopSweep(3, { codeVersion: 'test', name: 'probe' });
  const keys = await writeSweepRecord(store, plan, 'name: probe\n');
  await writeStageArtifacts(store, plan.stages[0], { files: {}, metrics: {}, timings: {}, backend: 'none', codeVersion: 'test', status: 'succeeded' });
  // A port nothing listens on, as the unreachable Temporal frontend.
  const closed: Server = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));

  const s = await serve(['--store', dir, '--host', '0.0.0.0', '--temporal-address', `127.0.0.1:${deadPort}`], t);
  assert.match(s.err(), /^warning: serving on 0\.0\.0\.0, not loopback: anyone who can reach it can read every sweep in file:\/\//);
  const port = new URL(s.url).port;
  // Any Host header is answered when bound to all interfaces (no loopback guard).
  const res = await fetch(`http://127.0.0.1:${port}/api/sweeps/${keys.dir.slice(7, -1)}`, { headers: { Host: `dashboard.example:${port}` } });
  assert.equal(res.status, 200);
  const v = (await res.json()) as { counts: { complete: number; total: number }; temporal?: { reachable: boolean; error?: string } };
  assert.deepEqual([v.counts.complete, v.counts.total], [1, 3]);
  assert.equal(v.temporal?.reachable, false, JSON.stringify(v.temporal));
  assert.ok(v.temporal?.error, 'the reason is shown');

  s.child.kill('SIGINT');
  const code = await new Promise((r) => s.child.on('close', r));
  assert.equal(code, 0, 'Ctrl-C stops the server cleanly');
});

test('serve reads a sweep from an S3 store (MinIO)', { skip: SKIP_S3, timeout: 120_000 }, async (t) => {
  const { url, env } = s3TestStore('serve');
  const dir = tempDir(t);
  const spec = writeTinySweep(join(dir, 's3.yaml'), { name: 'served', seeds: [0] });
  const r = cli(['run', spec, '--store', url, '--concurrency', '2'], env);
  assert.equal(r.status, 0, r.stderr);
  const s = await serve(['--store', url], t, env);
  const list = (await (await fetch(`${s.url}/api/sweeps`)).json()) as { dir: string; name: string; created: string | null; status: string; counts: { complete: number; total: number } }[];
  assert.equal(list.length, 1);
  assert.deepEqual([list[0].name, list[0].status, list[0].counts.complete], ['served', 'complete', list[0].counts.total]);
  assert.ok(list[0].created && Math.abs(Date.parse(list[0].created) - Date.now()) < 300_000, `created from S3 LastModified: ${list[0].created}`);
  const report = await fetch(`${s.url}/sweeps/${list[0].dir}/report.html`);
  assert.equal(report.status, 200);
  assert.match(await report.text(), /<canvas/);
  const traversal = await fetch(`${s.url}/sweeps/${list[0].dir}/%2e%2e%2f%2e%2e%2fplan.json`);
  assert.equal(traversal.status, 400);
});

test("a sweep on Temporal: the page shows the workflow's progress beside the store's", { skip: SKIP_TEMPORAL ? 'DALESWEEP_SKIP_TEMPORAL=1' : undefined, timeout: 180_000 }, async (t) => {
  const address = temporalAddress();
  const tag = uniqueTag();
  const dir = tempDir(t);
  const store = join(dir, 'store');
  const env = { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: address };
  const worker = spawn(process.execPath, [MAIN, 'worker', '--task-queue', `cpu-${tag}`, '--control-queue', `ctl-${tag}`, '--concurrency', '2', '--store', store, '--shutdown-grace', '2'], { stdio: 'ignore', env });
  t.after(() => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
  });
  const spec = writeTinySweep(join(dir, 'tmp.yaml'), { name: `served-${tag}`, fixedExtra: `queue: cpu-${tag}`, seeds: [0, 1, 2] });
  const run = spawn(process.execPath, [MAIN, 'run', spec, '--engine', 'temporal', '--control-queue', `ctl-${tag}`, '--store', store, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let runErr = '';
  run.stderr!.setEncoding('utf8').on('data', (d: string) => (runErr += d));
  const runExit = new Promise<number | null>((r) => run.on('close', r));
  t.after(() => {
    if (run.exitCode === null) run.kill('SIGKILL');
  });
  const s = await serve(['--store', store, '--temporal-address', address, '--interval', '0.3'], t, env);

  interface View {
    counts: { complete: number; total: number };
    temporal?: { reachable: boolean; running?: boolean; progress?: { total: number; done: number }; error?: string };
  }
  const read = async (): Promise<View | null> => {
    const list = (await (await fetch(`${s.url}/api/sweeps`)).json()) as { dir: string }[];
    if (list.length === 0) return null;
    return (await (await fetch(`${s.url}/api/sweeps/${list[0].dir}`)).json()) as View;
  };
  let seen: View | null = null;
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const v = await read();
    if (v?.temporal?.running && v.temporal.progress) {
      seen = v;
      break;
    }
    if (run.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(seen, 'the workflow was seen running through the page\'s Temporal probe');
  assert.equal(seen.temporal!.reachable, true);
  assert.equal(seen.temporal!.progress!.total, seen.counts.total, 'the workflow and the store count the same stages');
  assert.equal(await runExit, 0, runErr);
  let after: View | null = null;
  for (let i = 0; i < 50; i++) {
    after = await read();
    if (after?.temporal && after.temporal.running === false) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(after?.temporal?.running, false, JSON.stringify(after?.temporal));
  assert.equal(after?.counts.complete, after?.counts.total);
  assert.equal(after?.temporal?.progress?.done, after?.counts.total);
  worker.kill('SIGTERM');
});
