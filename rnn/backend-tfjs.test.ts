import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { createTfjsBackend, type TfjsBackend } from './backend-tfjs.js';
import { ShapeError } from './model-js.js';
import { referenceLossAndGrad, toParams64, type Params64 } from './reference-testing.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { assertClose, fdGrad } from './grad-testing.js';
import { Rng } from './rng.js';
import { PARAM_NAMES, type Batch, type Fidelity, type Head, type ModelConfig, type Params, type Rule } from './types.js';

const COMBOS: { rule: Rule; fidelity: Fidelity }[] = [
  { rule: 'conventional', fidelity: 'corrected' },
  { rule: 'dale', fidelity: 'corrected' },
  { rule: 'rectified', fidelity: 'paper-code' },
  { rule: 'rectified', fidelity: 'corrected' },
];
const HEADS: Head[] = ['linear', 'tanh', 'softmax-last', 'wave-ei'];

let backendP: Promise<TfjsBackend> | undefined;
/** The wasm tfjs backend, created once for the file. */
function wasm(): Promise<TfjsBackend> {
  backendP ??= createTfjsBackend({ engine: 'wasm' });
  return backendP;
}

interface Case {
  cfg: ModelConfig;
  params: Params;
  batch: Batch;
}

/** A tiny deterministic case (N=8, B=3, T=4, nIn=3) with weights large enough to matter. */
function tinyCase(rule: Rule, fidelity: Fidelity, head: Head, seed: number, threshold = 0): Case {
  const N = 8;
  const B = 3;
  const T = 4;
  const nIn = 3;
  const nOut = head === 'softmax-last' ? 4 : 2;
  const cfg = defaultModelConfig({ nHidden: N, nInput: nIn, nOutput: nOut, rule, fidelity, head, threshold });
  const params = initParams(cfg, seed);
  for (const k of PARAM_NAMES) for (let i = 0; i < params[k].length; i++) params[k][i] *= 3;
  if (head === 'wave-ei') for (let i = 0; i < N; i++) params.wOut[i < cfg.nExc ? N + i : i] = 0;
  const rng = new Rng(seed, 'test:tfjs');
  const batch: Batch = { B, T, x: rng.fillUniform(new Float32Array(B * T * nIn), -1, 1), target: new Float32Array(0) };
  if (head === 'softmax-last') batch.labels = Int32Array.from({ length: B }, () => rng.int(nOut));
  else batch.target = rng.fillUniform(new Float32Array(B * T * nOut), -1, 1);
  return { cfg, params, batch };
}

/** First seed whose activations stay 2e-3 away from the rectification kink (and W~ from 0). */
function smoothCase(rule: Rule, fidelity: Fidelity, head: Head, threshold = 0): Case {
  for (let seed = 1; seed < 500; seed++) {
    const c = tinyCase(rule, fidelity, head, seed, threshold);
    const ref = referenceLossAndGrad(c.cfg, toParams64(c.params), c.batch, false);
    const minAbsW = Math.min(...Array.from(c.params.wHh, Math.abs));
    if (ref.kinkDistance > 2e-3 && minAbsW > 2e-3) return c;
  }
  throw new Error('no smooth case found');
}

for (const { rule, fidelity } of COMBOS) {
  for (const head of HEADS) {
    test(`tfjs gradients: ${rule}/${fidelity}, head ${head}: match central differences of the model`, async () => {
      const be = await wasm();
      const { cfg, params, batch } = smoothCase(rule, fidelity, head);
      const p64 = toParams64(params);
      const fd = fdGrad(cfg, p64, batch);
      const ref = referenceLossAndGrad(cfg, p64, batch, false);
      const grads = zerosLike(params);
      const res = be.lossAndGrad(cfg, params, batch, grads);
      assert.ok(Math.abs(res.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss) + 1e-7, `loss ${res.loss} vs ${ref.loss}`);
      if (head === 'softmax-last') assert.equal(res.correct, ref.correct);
      for (const k of PARAM_NAMES) assertClose(grads[k], fd[k], `d${k}`, 1e-4, 1e-4);
    });
  }
}

test('tfjs gradients: dale with threshold 0.1 (rectification r = a·[a > 0.1]) match central differences', async () => {
  const be = await wasm();
  const { cfg, params, batch } = smoothCase('dale', 'corrected', 'linear', 0.1);
  const p64 = toParams64(params);
  const fd = fdGrad(cfg, p64, batch);
  const grads = zerosLike(params);
  be.lossAndGrad(cfg, params, batch, grads);
  for (const k of PARAM_NAMES) assertClose(grads[k], fd[k], `d${k}`, 1e-4, 1e-4);
  // The threshold matters: the same net at threshold 0 has another gradient.
  const g0 = zerosLike(params);
  be.lossAndGrad({ ...cfg, threshold: 0 }, params, batch, g0);
  assert.notDeepEqual(Array.from(g0.wHh), Array.from(grads.wHh));
});

for (const { rule, fidelity } of COMBOS) {
  test(`tfjs ${rule}/${fidelity}: float32 directional difference of evaluate() matches the analytic gradient`, async () => {
    const be = await wasm();
    const { cfg, params, batch } = smoothCase(rule, fidelity, 'tanh');
    const grads = zerosLike(params);
    be.lossAndGrad(cfg, params, batch, grads);
    const rng = new Rng(7, 'test:direction');
    const v = zerosLike(params);
    let gv = 0;
    for (const k of PARAM_NAMES) {
      rng.fillUniform(v[k], -1, 1);
      for (let i = 0; i < v[k].length; i++) gv += grads[k][i] * v[k][i];
    }
    const h = 1e-3;
    const shifted = (sign: number): Params => {
      const p = zerosLike(params);
      for (const k of PARAM_NAMES) for (let i = 0; i < p[k].length; i++) p[k][i] = params[k][i] + sign * h * v[k][i];
      return p;
    };
    const fd = (be.evaluate(cfg, shifted(1), batch).loss - be.evaluate(cfg, shifted(-1), batch).loss) / (2 * h);
    assert.ok(Math.abs(fd - gv) <= 2e-2 * Math.abs(gv), `directional derivative ${fd} vs g·v ${gv}`);
  });
}

test('tfjs evaluate() equals the loss and correct count of lossAndGrad(); grads are overwritten, not accumulated', async () => {
  const be = await wasm();
  const { cfg, params, batch } = tinyCase('dale', 'corrected', 'softmax-last', 3);
  const g1 = zerosLike(params);
  const r1 = be.lossAndGrad(cfg, params, batch, g1);
  const ev = be.evaluate(cfg, params, batch);
  assert.equal(ev.loss, r1.loss);
  assert.equal(ev.correct, r1.correct);
  const g2 = zerosLike(params);
  for (const k of PARAM_NAMES) g2[k].fill(123);
  be.lossAndGrad(cfg, params, batch, g2);
  for (const k of PARAM_NAMES) assert.deepEqual(g2[k], g1[k], k);
});

test('tfjs backend frees every tensor it makes (lossAndGrad and evaluate)', async () => {
  const be = await wasm();
  for (const head of HEADS) {
    const { cfg, params, batch } = tinyCase('rectified', 'corrected', head, 2);
    const before = tf.memory().numTensors;
    be.lossAndGrad(cfg, params, batch, zerosLike(params));
    be.evaluate(cfg, params, batch);
    assert.equal(tf.memory().numTensors, before, `head ${head}`);
  }
});

test('tfjs backend rejects mismatched shapes and out-of-range labels with ShapeError', async () => {
  const be = await wasm();
  const { cfg, params, batch } = tinyCase('dale', 'corrected', 'softmax-last', 4);
  assert.throws(() => be.evaluate(cfg, { ...params, wHh: new Float32Array(3) }, batch), (e: unknown) => e instanceof ShapeError && /params\.wHh/.test(e.message));
  const bad = { ...batch, labels: Int32Array.from(batch.labels!, (l, i) => (i === 1 ? cfg.nOutput : l)) };
  assert.throws(() => be.lossAndGrad(cfg, params, bad, zerosLike(params)), (e: unknown) => e instanceof ShapeError && /labels\[1\]/.test(e.message));
});

test('tfjs cpu and wasm engines coexist in one process and agree', async () => {
  const w = await wasm();
  const cpu = await createTfjsBackend({ engine: 'cpu' });
  assert.equal(cpu.engine, 'cpu');
  assert.equal(w.engine, 'wasm');
  const { cfg, params, batch } = tinyCase('dale', 'corrected', 'tanh', 5);
  const gw = zerosLike(params);
  const gc = zerosLike(params);
  const lw = w.lossAndGrad(cfg, params, batch, gw).loss;
  const lc = cpu.lossAndGrad(cfg, params, batch, gc).loss;
  assert.equal(tf.getBackend(), 'cpu');
  assert.ok(Math.abs(lw - lc) <= 1e-6 * Math.abs(lw), `${lw} vs ${lc}`);
  for (const k of PARAM_NAMES) assertClose(gc[k], gw[k], `d${k}`, 1e-5, 1e-5);
  w.evaluate(cfg, params, batch);
  assert.equal(tf.getBackend(), 'wasm');
});

test('tfjs wasm engine initialises in a worker thread (finds its .wasm files from node_modules)', async () => {
  const url = new URL('./backend-tfjs.js', import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(url)}).then(async (m) => {
      const be = await m.createTfjsBackend({ engine: 'wasm' });
      const cfg = { nInput: 1, nHidden: 4, nOutput: 1, nExc: 3, rule: 'dale', head: 'linear', threshold: 0, fidelity: 'corrected' };
      const f = (n, v) => new Float32Array(n).fill(v);
      const params = { wIn: f(4, 0.5), bIn: f(4, 0.1), wHh: f(16, 0.2), bHh: f(4, 0), wOut: f(4, 0.3), bOut: f(1, 0) };
      const batch = { B: 1, T: 2, x: new Float32Array([1, -1]), target: new Float32Array([0.5, 0.5]) };
      parentPort.postMessage({ engine: be.engine, loss: be.evaluate(cfg, params, batch).loss, threads: m.tfjsWasmThreads() });
    }, (err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
  `;
  const worker = new Worker(code, { eval: true });
  const msg = await new Promise<{ engine?: string; loss?: number; threads?: number; error?: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.equal(msg.error, undefined);
  assert.equal(msg.engine, 'wasm');
  assert.ok(Number.isFinite(msg.loss) && (msg.loss as number) > 0);
  assert.ok((msg.threads as number) >= 1);
});
