/**
 * Faults handled as a user expects, through the built CLI: a closed stdout (`run --json | head
 * -1`) ends the output quietly while the sweep completes; an S3 store without credentials, on a
 * refused port or with a missing bucket is one line naming the store, exit 1, fast and without
 * secrets; `--concurrency` is capped by cores and free memory with a one-line notice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { capConcurrency, STAGE_THREAD_MEMORY_BYTES, THREADS_PER_CORE } from './run.js';
import { cli, MAIN, writeTinySweep, type CliResult } from './test-support.js';

const SKIP_S3 = process.env.DALESWEEP_SKIP_S3 === '1' ? 'DALESWEEP_SKIP_S3=1: needs MinIO (bash infra/minio.sh start)' : undefined;
/** A secret access key no message may contain. */
const SECRET = 'do-not-print-this-secret-0123456789';

function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The rows of a sweep's results.csv in a filesystem store, as header → value records. */
function resultRows(store: string): Record<string, string>[] {
  const sweeps = readdirSync(join(store, 'sweeps'));
  assert.equal(sweeps.length, 1, `one sweep in ${store}`);
  const [header, ...lines] = readFileSync(join(store, 'sweeps', sweeps[0], 'results.csv'), 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

/** Asserts that a command failed with exit 1 and exactly one `dalesweep:` line, no stack. */
function assertOneLineFailure(r: CliResult, what: string): string {
  assert.equal(r.status, 1, `${what}: exit 1\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^dalesweep: /, what);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at |Error: /, `${what}: no stack or internal error`);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${what}: the secret is never printed`);
  return lines[0];
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const addr = srv.address();
  assert.ok(addr !== null && typeof addr === 'object');
  await new Promise<void>((res) => srv.close(() => res()));
  return addr.port;
}

/** The test process's environment without any AWS_* variable, HOME an empty folder (no profile). */
function envWithoutAws(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  // No instance-metadata lookup either, so that an EC2 host's role cannot supply credentials.
  return { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

test('run --json into a reader that closes after one line: the sweep completes, exit 0, no stack', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'cli-epipe-');
  const spec = writeTinySweep(join(dir, 'epipe.yaml'), { name: 'epipe' });
  const store = join(dir, 'runs');
  const r = await new Promise<{ status: number | null; first: string; stderr: string }>((res) => {
    const c = spawn(process.execPath, [MAIN, 'run', spec, '--store', store, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 170_000 });
    let out = '';
    let first = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0 && !first) {
        first = out.slice(0, nl);
        c.stdout.destroy(); // like `head -1`: the read end of the pipe closes
      }
    });
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (status) => res({ status, first, stderr }));
  });
  assert.equal((JSON.parse(r.first) as { event: string }).event, 'start', 'the first line was read');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Error|EPIPE|\n\s+at /, 'nothing about the closed pipe on stderr');
  const rows = resultRows(store);
  assert.equal(rows.length, 10, 'every result row written (2 rules: 2 dense + 8 pruned/fine-tuned)');
  assert.deepEqual([...new Set(rows.map((row) => row.status))], ['succeeded']);
});

test('S3 on a refused port: run, status and report print one line naming the endpoint, exit 1, within seconds', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'cli-s3-refused-');
  const spec = writeTinySweep(join(dir, 'refused.yaml'), { name: 'refused' });
  const port = await closedPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const url = `s3://dalesweep-test/p?endpoint=${endpoint}`;
  const env = envWithoutAws(dir, { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: SECRET });
  for (const args of [['run', spec], ['status', 'refused'], ['report', 'refused']]) {
    const t0 = Date.now();
    const r = cli([...args, '--store', url], env);
    const seconds = (Date.now() - t0) / 1000;
    const line = assertOneLineFailure(r, args[0]);
    assert.equal(line, `dalesweep: open s3://dalesweep-test/p/: cannot reach the S3 endpoint ${endpoint} (connection refused)`);
    assert.ok(seconds < 15, `${args[0]} gave up after ${seconds} s`);
  }
  assert.ok(!readdirSync(dir).includes('runs'), 'nothing written to a local store');
});

test('S3 without credentials (no AWS_* variables, no profile): one line naming the store, exit 1', { timeout: 120_000 }, async (t) => {
  const home = tempDir(t, 'cli-s3-nocreds-');
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const r = cli(['status', 'anything', '--store', `s3://dalesweep-test/p?endpoint=${endpoint}`], envWithoutAws(home));
  const line = assertOneLineFailure(r, 'status');
  assert.equal(line, `dalesweep: open s3://dalesweep-test/p/ at ${endpoint}: no AWS credentials found (set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE)`);
});

test('S3 (MinIO): a missing bucket and missing credentials against a live server are one line each', { skip: SKIP_S3, timeout: 120_000 }, async (t) => {
  const endpoint = process.env.DALESWEEP_TEST_S3_ENDPOINT;
  assert.ok(endpoint, 'DALESWEEP_TEST_S3_ENDPOINT is not set: start MinIO with `bash infra/minio.sh start && eval "$(bash infra/minio.sh env)"` (or DALESWEEP_SKIP_S3=1)');
  const dir = tempDir(t, 'cli-s3-bucket-');
  const spec = writeTinySweep(join(dir, 'nobucket.yaml'), { name: 'nobucket' });
  const secret = process.env.DALESWEEP_TEST_S3_SECRET_KEY ?? process.env.AWS_SECRET_ACCESS_KEY;
  const env = envWithoutAws(dir, { AWS_ACCESS_KEY_ID: process.env.DALESWEEP_TEST_S3_ACCESS_KEY ?? process.env.AWS_ACCESS_KEY_ID ?? '', AWS_SECRET_ACCESS_KEY: secret ?? '' });
  const bucket = `no-such-bucket-${process.pid}`;
  for (const args of [['run', spec], ['status', 'nobucket'], ['report', 'nobucket']]) {
    const r = cli([...args, '--store', `s3://${bucket}/p?endpoint=${endpoint}`], env);
    const line = assertOneLineFailure(r, args[0]);
    assert.ok(line.includes(`bucket ${bucket} does not exist`) && line.includes(endpoint), line);
    if (secret) assert.ok(!r.stderr.includes(secret), 'the secret key is never printed');
  }
  const bucketOk = process.env.DALESWEEP_TEST_S3_BUCKET ?? 'dalesweep-test';
  const r = cli(['status', 'nobucket', '--store', `s3://${bucketOk}/p?endpoint=${endpoint}`], envWithoutAws(dir));
  assert.match(assertOneLineFailure(r, 'status without credentials'), new RegExp(`^dalesweep: open s3://${bucketOk}/p/ at ${endpoint}: no AWS credentials found`));
});

test('capConcurrency: min(4 × cores, free memory / 256 MiB), at least 1, with a notice only when lowered', () => {
  const GiB = 2 ** 30;
  assert.deepEqual(capConcurrency('--concurrency', 8, { cores: 2, freeBytes: 64 * GiB }), { value: 8 });
  assert.deepEqual(capConcurrency('--concurrency', 10000, { cores: 2, freeBytes: 64 * GiB }), {
    value: 8,
    notice: `--concurrency 10000 capped to 8 (${THREADS_PER_CORE} × 2 cores; 65536 MiB free memory allows 256 at 256 MiB each)`,
  });
  const mem = capConcurrency('--concurrency', 100, { cores: 64, freeBytes: 3 * STAGE_THREAD_MEMORY_BYTES + 1 });
  assert.equal(mem.value, 3);
  assert.match(mem.notice ?? '', /^--concurrency 100 capped to 3 \(768 MiB free memory allows 3 at 256 MiB each; 4 × 64 cores = 256\)$/);
  assert.equal(capConcurrency('--concurrency', 5, { cores: 1, freeBytes: 0 }).value, 1, 'at least one thread');
});

test('run --concurrency 10000 is capped with a one-line notice and the sweep completes', { timeout: 180_000 }, (t) => {
  const dir = tempDir(t, 'cli-cap-');
  const spec = writeTinySweep(join(dir, 'cap.yaml'), { name: 'cap' });
  const store = join(dir, 'runs');
  const r = cli(['run', spec, '--store', store, '--quiet', '--concurrency', '10000']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  const m = /^dalesweep: --concurrency 10000 capped to (\d+) \(.*\)$/.exec(lines[0]);
  assert.ok(m, lines[0]);
  const capped = Number(m[1]);
  assert.ok(capped >= 1 && capped <= THREADS_PER_CORE * availableParallelism(), lines[0]);
  assert.equal(resultRows(store).length, 10);
});

test('worker --concurrency 10000 is capped the same way before it connects', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'cli-cap-worker-');
  const r = cli(['worker', '--concurrency', '10000', '--temporal-address', `127.0.0.1:${await closedPort()}`, '--store', join(dir, 'runs')]);
  assert.match(r.stderr.split('\n')[0], /^worker: --concurrency 10000 capped to \d+ \(.+\)$/);
  // The frontend on that port is unreachable: one line naming it, exit 1, no stack.
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^dalesweep: cannot reach the Temporal frontend at 127\.0\.0\.1:\d+ .*infra\/temporal\.sh start/m);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
});

test('--store file:relative/dir is exit 2 naming the expected form; nothing is written at /relative/dir', { timeout: 60_000 }, (t) => {
  const dir = tempDir(t, 'cli-file-url-');
  const spec = writeTinySweep(join(dir, 'rel.yaml'), { name: 'rel' });
  const rel = `dalesweep-rel-${process.pid}/runs`;
  for (const [url, args] of [
    [`file:${rel}`, ['run', spec]],
    [`file://somehost/${rel}`, ['status', 'rel']],
  ] as const) {
    const r = cli([...args, '--store', url]);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].startsWith(`dalesweep: store URL ${url}: `) && lines[0].includes('expected file:///absolute/path'), lines[0]);
  }
  assert.ok(!existsSync(`/dalesweep-rel-${process.pid}`), 'nothing written under /');
});
