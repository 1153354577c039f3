/**
 * `dalesweep run` with the tfjs backend's native TensorFlow engines: the engine is part of every
 * stage's config (so of its id) and the manifests record the engine that computed it; a backend
 * whose engine is not installed is refused before anything is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TFJS_NODE_PACKAGES, isPackageInstalled } from '../rnn/backend-tfjs.js';
import { kernelArithmetic } from '../rnn/model-js-simd.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function sweep(dir: string, backends: string): string {
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `name: engines\nfixed: { task: flipflop, rule: dale, nHidden: 16, epochs: 1, batchSize: 50, nTrain: 100, nTest: 50, lr: 0.001, optimizer: adam, seed: 0 }\naxes:\n  backend: [${backends}]\n`,
  );
  return file;
}

function run(file: string, store: string): { status: number | null; stderr: string } {
  return spawnSync(process.execPath, [MAIN, 'run', file, '--store', store, '--no-report', '-q'], { encoding: 'utf8', timeout: 120_000 });
}

test('dalesweep run: backend tfjs-node-gpu without @tensorflow/tfjs-node-gpu is one line naming the install command, exit 2, nothing written', { skip: isPackageInstalled(TFJS_NODE_PACKAGES['node-gpu']) ? 'tfjs-node-gpu is installed here' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-engines-'));
  const store = join(dir, 'runs');
  const r = run(sweep(dir, 'js, tfjs-node-gpu'), store);
  assert.equal(r.status, 2, r.stderr);
  assert.deepEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /sweep\.yaml: backend tfjs-node-gpu needs @tensorflow\/tfjs-node-gpu, which is not installed: run `bash infra\/tensorflow\.sh install gpu`/);
  assert.equal(existsSync(store), false);
});

test('dalesweep run: js and tfjs-node stages have their own ids, and each manifest records the engine that computed it', { skip: isPackageInstalled(TFJS_NODE_PACKAGES.node) ? false : '@tensorflow/tfjs-node is not installed (bash infra/tensorflow.sh install cpu)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-engines-'));
  const store = join(dir, 'runs');
  const r = run(sweep(dir, 'js, tfjs-node'), store);
  assert.equal(r.status, 0, r.stderr);
  // No TensorFlow start-up notices among the CLI's output.
  assert.doesNotMatch(r.stderr, /cpu_feature_guard|oneDNN/);
  const manifests = readdirSync(join(store, 'stages')).map((id) => JSON.parse(readFileSync(join(store, 'stages', id, 'manifest.json'), 'utf8')) as { kind: string; config: { backend: string }; backend: string; extra?: Record<string, unknown>; metrics: Record<string, number> });
  const byBackend = (b: string): typeof manifests => manifests.filter((m) => m.config.backend === b);
  // train + evaluate for each backend: no stage shared between the two engines.
  assert.deepEqual(byBackend('js').map((m) => m.kind).sort(), ['evaluate', 'train']);
  assert.deepEqual(byBackend('tfjs-node').map((m) => m.kind).sort(), ['evaluate', 'train']);
  for (const m of byBackend('tfjs-node')) {
    assert.equal(m.backend, 'tfjs-node');
    assert.equal(m.extra?.engine, 'tensorflow');
    assert.equal(m.extra?.device, 'cpu');
    assert.equal(m.extra?.engineVersion, 'TensorFlow 2.10.1');
    assert.match(String(m.extra?.threads), /^intra-op \d+.*, inter-op \d+/);
  }
  for (const m of byBackend('js')) {
    assert.equal(m.backend, 'js');
    assert.equal(m.extra?.engine, 'js');
    // The kernels' arithmetic (part of the code version) is recorded with the result.
    assert.equal(m.extra?.arithmetic, kernelArithmetic());
    assert.match(String(m.extra?.engineVersion), /^dalesweep js kernels \(WebAssembly SIMD, (fused multiply-add|multiply then add)\)$/);
  }
  // Same model, same seed: the two engines' losses agree closely (not bit for bit).
  const jsTrain = byBackend('js').find((m) => m.kind === 'train')!;
  const tfTrain = byBackend('tfjs-node').find((m) => m.kind === 'train')!;
  assert.ok(Math.abs(jsTrain.metrics.trainLoss - tfTrain.metrics.trainLoss) <= 1e-4 * Math.abs(jsTrain.metrics.trainLoss), `${jsTrain.metrics.trainLoss} vs ${tfTrain.metrics.trainLoss}`);
});
