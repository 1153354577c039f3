/**
 * Helpers shared by the CLI tests: run the built `dalesweep` in a child process, temporary
 * folders, and Dale-signed weight files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../io/npy.js';
import { Rng } from '../rnn/rng.js';
import { excitatoryCount } from '../rnn/init.js';

/** The built CLI entry point (`dist/cli/main.js`). */
export const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), 'main.js');

/** What a CLI run printed and how it ended. */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `dalesweep ARGS` to the end (synchronously). */
export function cli(args: string[], env: NodeJS.ProcessEnv = process.env): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs `dalesweep ARGS` without blocking the test's event loop.
 * @param timeoutMs the child is killed (SIGTERM) after this long, so a hung command cannot keep
 *   the test process alive @default 300000
 * @param node the Node binary that runs it @default process.execPath
 */
export function cliAsync(args: string[], timeoutMs = 300_000, node = process.execPath): Promise<CliResult> {
  return new Promise((res) => {
    const c = spawn(node, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (status) => res({ status, stdout, stderr }));
  });
}

/** Calls `fn` with a fresh temporary folder, removed afterwards. */
export function withDir(prefix: string, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh temporary folder, removed after the test `t`. */
export function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The fields of a stage manifest the CLI tests compare. */
export interface TestManifest {
  stageId: string;
  finishedAt: string;
  /** Stage facts; training stages record `resumedFromEpoch`. */
  extra?: Record<string, unknown>;
  files: Record<string, { sha256: string }>;
  metrics: Record<string, number | null>;
}

/** Every stage manifest of a filesystem store, by stage id (empty when there is none). */
export function stageManifests(store: string): Map<string, TestManifest> {
  const out = new Map<string, TestManifest>();
  const stages = join(store, 'stages');
  if (!existsSync(stages)) return out;
  for (const id of readdirSync(stages)) {
    const f = join(stages, id, 'manifest.json');
    if (existsSync(f)) out.set(id, JSON.parse(readFileSync(f, 'utf8')) as TestManifest);
  }
  return out;
}

/** The one sweep folder of a filesystem store (asserts there is exactly one). */
export function sweepFolder(store: string): string {
  const dirs = readdirSync(join(store, 'sweeps'));
  assert.equal(dirs.length, 1, `one sweep folder expected in ${store}, found ${dirs.join(', ')}`);
  return join(store, 'sweeps', dirs[0]);
}

/** Writes an N×N Dale matrix (E columns >= 0, I columns <= 0), float32 or float64, as `.npy`. */
export function daleMatrix(dir: string, name: string, N: number, f64 = false): string {
  const rng = new Rng(N, 'test:cli');
  const nExc = excitatoryCount(N);
  const data = f64 ? new Float64Array(N * N) : new Float32Array(N * N);
  for (let k = 0; k < data.length; k++) data[k] = (k % N < nExc ? 1 : -1) * rng.uniform();
  const p = join(dir, name);
  writeFileSync(p, encodeNpy({ data, shape: [N, N] }));
  return p;
}

/** Options of {@link writeTinySweep}. */
export interface TinySweepOptions {
  name: string;
  /** Extra `fixed:` entries, e.g. `queue: cpu-1`. */
  fixedExtra?: string;
  seeds?: number[];
}

/**
 * Writes a small flip-flop sweep (N = 16, 2 epochs; dale and conventional × top-prob and random
 * at sparsity 0.5) to `file`, a few seconds of work, and returns the path.
 */
export function writeTinySweep(file: string, o: TinySweepOptions): string {
  writeFileSync(
    file,
    [
      `name: ${o.name}`,
      `fixed: { backend: js, nHidden: 16, lr: 0.001, optimizer: adam${o.fixedExtra ? `, ${o.fixedExtra}` : ''} }`,
      'tasks:',
      '  flipflop: { epochs: 2, batchSize: 50, nTrain: 200, nTest: 50 }',
      'axes:',
      '  task: [flipflop]',
      '  rule: [dale, conventional]',
      '  pruning: [top-prob, random]',
      '  sparsity: [0.5]',
      `  seed: [${(o.seeds ?? [0]).join(', ')}]`,
    ].join('\n'),
  );
  return file;
}

/**
 * A fresh store on the tests' MinIO (`bash infra/minio.sh start && eval "$(bash infra/minio.sh env)"`):
 * its URL under a new random prefix `<prefix>-<8 hex>` of the test bucket, and the environment
 * with the MinIO credentials for a CLI child process.
 * @throws Error when DALESWEEP_TEST_S3_ENDPOINT is not set
 */
export function s3TestStore(prefix: string): { url: string; env: NodeJS.ProcessEnv } {
  const endpoint = process.env.DALESWEEP_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('DALESWEEP_TEST_S3_ENDPOINT is not set: start MinIO with `bash infra/minio.sh start && eval "$(bash infra/minio.sh env)"` (or DALESWEEP_SKIP_S3=1)');
  const bucket = process.env.DALESWEEP_TEST_S3_BUCKET ?? 'dalesweep-test';
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: process.env.DALESWEEP_TEST_S3_ACCESS_KEY ?? process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.DALESWEEP_TEST_S3_SECRET_KEY ?? process.env.AWS_SECRET_ACCESS_KEY,
  };
  const url = `s3://${bucket}/${prefix}-${randomBytes(4).toString('hex')}?endpoint=${encodeURIComponent(endpoint)}&pathStyle=true&createBucket=true`;
  return { url, env };
}
