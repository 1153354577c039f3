import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOSS_CURVE_RTOL, checkCurve } from './gpu-check.js';
import { TFJS_NODE_PACKAGES, isPackageInstalled } from '../rnn/backend-tfjs.js';
import { defaultModelConfig, initParams } from '../rnn/init.js';
import { jsBackend } from '../rnn/model-js.js';
import { PARAM_NAMES, type Backend } from '../rnn/types.js';
import { flipFlopDataset } from '../tasks/flipflop.js';

const SCRIPT = fileURLToPath(new URL('./gpu-check.js', import.meta.url));

test('gpu-check without a GPU engine: one line "no GPU engine" naming why, exit 2', { skip: existsSync('/dev/nvidia0') ? 'this machine has an NVIDIA GPU' : false }, () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 2, r.stderr + r.stdout);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^gpu-check: no GPU engine: (backend tfjs-node-gpu needs .*bash infra\/tensorflow\.sh install gpu|.*sees no GPU device)/);
});

test('gpu-check --engine tfjs-node: both loss curves agree within the tolerance, steps/s printed, exit 0', { skip: isPackageInstalled(TFJS_NODE_PACKAGES.node) ? false : '@tensorflow/tfjs-node is not installed (bash infra/tensorflow.sh install cpu)' }, () => {
  const r = spawnSync(process.execPath, [SCRIPT, '--engine', 'tfjs-node', '--steps', '20', '--celltype-steps', '1', '--celltype-batch', '8'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { label: string; steps: number; ok: boolean; maxRelDiff: number; jsStepsPerSec: number; engineStepsPerSec: number; device: string });
  assert.deepEqual(rows.map((x) => [x.label, x.steps]), [['flip-flop N=128 T=50 B=200', 20], ['CelltypeRNN N=1440 T=15 B=8', 1]]);
  for (const x of rows) {
    assert.equal(x.ok, true);
    assert.equal(x.device, 'cpu');
    assert.ok(x.maxRelDiff <= LOSS_CURVE_RTOL);
    assert.ok(x.jsStepsPerSec > 0 && x.engineStepsPerSec > 0);
  }
});

test('checkCurve flags an engine with a wrong gradient (a tenth of the entries of every gradient negated; Adam ignores mere rescaling)', () => {
  const cfg = defaultModelConfig({ nHidden: 16, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const problem = { label: 'tiny', cfg, params: initParams(cfg, 0), data: flipFlopDataset(0, 'train', { n: 20, T: 20 }), batchSize: 20 };
  const skewed: Backend = {
    ...jsBackend,
    lossAndGrad: (c, p, b, g, m) => {
      const r = jsBackend.lossAndGrad(c, p, b, g, m);
      for (const k of PARAM_NAMES) for (let i = 0; i < g[k].length; i += 10) g[k][i] = -g[k][i];
      return r;
    },
  };
  assert.equal(checkCurve(problem, jsBackend, 30).ok, true);
  assert.equal(checkCurve(problem, jsBackend, 30).maxRelDiff, 0);
  const bad = checkCurve(problem, skewed, 30);
  assert.equal(bad.ok, false, `max rel diff ${bad.maxRelDiff}`);
});
