/**
 * infra/tensorflow.sh as `npm test` uses it (scripts/test.sh ran `install cpu` before the suite):
 * installing again is idempotent and fast, leaves package.json and package-lock.json as they
 * were, and links the package to the per-user cache; bad arguments are usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TFJS_NODE_PACKAGES, isPackageInstalled } from '../rnn/backend-tfjs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'infra', 'tensorflow.sh');

function sh(...args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

test('infra/tensorflow.sh: an unknown command or variant is a usage error (exit 2)', () => {
  const a = sh('install', 'tpu');
  assert.equal(a.status, 2);
  assert.match(a.stderr, /usage: .* install cpu\|gpu/);
  const b = sh('frobnicate');
  assert.equal(b.status, 2);
  assert.match(b.stderr, /usage: /);
});

test('infra/tensorflow.sh install cpu again: exit 0 within seconds, package.json and the lock file unchanged, the package linked to the cache', { skip: isPackageInstalled(TFJS_NODE_PACKAGES.node) ? false : '@tensorflow/tfjs-node is not installed (bash infra/tensorflow.sh install cpu)' }, () => {
  const before = [readFileSync(join(ROOT, 'package.json')), readFileSync(join(ROOT, 'package-lock.json'))];
  const r = sh('install', 'cpu');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  assert.deepEqual([readFileSync(join(ROOT, 'package.json')), readFileSync(join(ROOT, 'package-lock.json'))], before);
  const cacheDir = sh('path', 'cpu').stdout.trim();
  assert.match(cacheDir, /\/dalesweep\/tensorflow\/4\.22\.0-tf2\.10\.1-cpu$/);
  const pkg = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node');
  assert.equal(readlinkSync(join(pkg, 'deps')), join(cacheDir, 'deps'));
  assert.equal(readlinkSync(join(pkg, 'lib')), join(cacheDir, 'lib'));
  const s = sh('status');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /^cpu: linked into node_modules\/@tensorflow\/tfjs-node$/m);
  assert.match(s.stdout, /^cpu: loads: tensorflow 4\.22\.0 libtensorflow 2\.10\.1$/m);
});

const GPU_BUILT = existsSync(join(sh('path', 'gpu').stdout.trim(), 'env'));

test('infra/tensorflow.sh env gpu / exec gpu without the gpu build: one line naming the install command, exit 1', { skip: GPU_BUILT ? 'the gpu build is in this user\'s cache' : false }, () => {
  for (const args of [['env', 'gpu'], ['exec', 'gpu', '--', 'true']]) {
    const r = sh(...args);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, 'tensorflow: gpu is not installed: bash infra/tensorflow.sh install gpu\n');
  }
});
