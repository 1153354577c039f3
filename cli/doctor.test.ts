import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TFJS_NODE_PACKAGES, isPackageInstalled } from '../rnn/backend-tfjs.js';
import type { EngineProbe } from '../rnn/engine-info.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function doctor(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MAIN, 'doctor', ...args], { encoding: 'utf8', timeout: 120_000, env });
}

test('dalesweep doctor --json: every backend with its engine, device, threads and version; missing engines name the install command', () => {
  const r = doctor(['--json'], { ...process.env, TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { system: { node: string; cores: number }; packages: Record<string, string | null>; engines: EngineProbe[] };
  assert.equal(out.system.node, process.version);
  assert.ok(out.system.cores >= 1);
  assert.match(out.packages['@tensorflow/tfjs-core'] ?? '', /^4\./);
  assert.deepEqual(out.engines.map((e) => e.backend), ['js', 'tfjs', 'tfjs-cpu', 'tfjs-node', 'tfjs-node-gpu']);
  const by = Object.fromEntries(out.engines.map((e) => [e.backend, e]));
  assert.deepEqual([by.js.status, by.js.engine, by.js.device], ['ok', 'js', 'cpu']);
  assert.deepEqual([by.tfjs.status, by.tfjs.engine], ['ok', 'wasm']);
  assert.match(by.tfjs.engineVersion ?? '', /^tfjs-backend-wasm 4\./);
  assert.deepEqual([by['tfjs-cpu'].status, by['tfjs-cpu'].engine], ['ok', 'cpu']);
  for (const [choice, pkg, variant] of [['tfjs-node', TFJS_NODE_PACKAGES.node, 'cpu'], ['tfjs-node-gpu', TFJS_NODE_PACKAGES['node-gpu'], 'gpu']] as const) {
    const e = by[choice];
    if (isPackageInstalled(pkg)) {
      assert.equal(out.packages[pkg], '4.22.0');
      if (choice === 'tfjs-node') {
        assert.deepEqual([e.status, e.engine, e.device, e.engineVersion], ['ok', 'tensorflow', 'cpu', 'TensorFlow 2.10.1']);
        // The thread counts the environment sets are the ones reported.
        assert.equal(e.threads, 'intra-op 1, inter-op 1');
      }
    } else {
      assert.equal(out.packages[pkg], null);
      assert.equal(e.status, 'missing');
      assert.match(e.detail ?? '', new RegExp(`bash infra/tensorflow\\.sh install ${variant}`));
    }
  }
});

test('dalesweep doctor (text): one line per backend after the package versions', () => {
  const r = doctor([]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^node v\d+\.\d+\.\d+ on \S+, \d+ cores\n/);
  for (const b of ['js', 'tfjs', 'tfjs-cpu', 'tfjs-node', 'tfjs-node-gpu']) assert.match(r.stdout, new RegExp(`\\n  ${b}: (ok|missing|failed)`));
});
