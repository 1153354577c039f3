import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DivergenceError, TrainOptionsError, train } from './train.js';
import { jsBackend } from './model-js.js';
import { defaultModelConfig, initParams } from './init.js';
import { optimizerStateFromJSON, optimizerStateToJSON, type OptimizerState } from './optim.js';
import { learningRateAt } from './lr-schedule.js';
import { Rng } from './rng.js';
import { flipFlopDataset } from '../tasks/flipflop.js';
import { PARAM_NAMES, type Backend, type ModelConfig, type Params } from './types.js';

function checkDale(cfg: ModelConfig, w: Float32Array, mask?: Float32Array): void {
  const N = cfg.nHidden;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const v = w[i * N + j];
      if (j < cfg.nExc) assert.ok(v >= 0, `E weight (${i},${j}) = ${v}`);
      else assert.ok(v <= 0, `I weight (${i},${j}) = ${v}`);
      if (mask !== undefined && mask[i * N + j] === 0) assert.ok(Object.is(v, 0), `pruned (${i},${j}) = ${v}`);
    }
  }
}

/** A backend that checks the parameters it is handed before every step. */
function spy(check: (p: Params) => void, counter: { steps: number }): Backend {
  return {
    name: 'js',
    lossAndGrad(cfg, params, batch, grads) {
      check(params);
      counter.steps++;
      return jsBackend.lossAndGrad(cfg, params, batch, grads);
    },
    evaluate: (cfg, params, batch) => jsBackend.evaluate(cfg, params, batch),
  };
}

for (const masked of [false, true]) {
  test(`Dale's backprop keeps every E column >= 0 and I column <= 0 over 1000 steps (${masked ? 'fixed recurrent mask' : 'dense'})`, () => {
    const cfg = defaultModelConfig({ nHidden: 16, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
    const ds = flipFlopDataset(1, 'train', { n: 100, T: 10 });
    let mask: Float32Array | undefined;
    if (masked) {
      const rng = new Rng(1, 'test:mask');
      mask = Float32Array.from({ length: 256 }, () => (rng.bernoulli(0.5) ? 1 : 0));
    }
    const counter = { steps: 0 };
    const res = train({
      cfg, params: initParams(cfg, 1), backend: spy((p) => checkDale(cfg, p.wHh, mask), counter),
      train: ds, epochs: 100, batchSize: 10, seed: 1, lr: 0.01, masks: mask ? { recurrent: mask } : undefined,
    });
    assert.equal(counter.steps, 1000);
    checkDale(cfg, res.params.wHh, mask);
    // The constraint binds: some weights were clipped to exactly 0 by the projection.
    const zeros = res.params.wHh.filter((v, k) => v === 0 && (mask === undefined || mask[k] === 1)).length;
    assert.ok(zeros > 0, 'projection never active');
  });
}

test('resuming from a checkpoint at epoch k is bit-identical to an uninterrupted run', () => {
  const cfg = defaultModelConfig({ nHidden: 12, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const trainSet = flipFlopDataset(3, 'train', { n: 60, T: 12 });
  const testSet = flipFlopDataset(3, 'test', { n: 30, T: 12 });
  const p0 = initParams(cfg, 3);
  const base = { cfg, backend: jsBackend, train: trainSet, test: testSet, epochs: 5, batchSize: 16, seed: 9, lr: 0.01 };
  const full = train({ ...base, params: p0 });
  let ckpt: { params: Params; opt: string } | undefined;
  train({
    ...base, params: p0, epochs: 5,
    onEpoch: (rec, params, prog) => {
      if (rec.epoch === 2) {
        const copy = {} as Params;
        // Through JSON, as a checkpoint file would store them (float32 values round-trip exactly).
        for (const k of PARAM_NAMES) copy[k] = Float32Array.from(JSON.parse(JSON.stringify(Array.from(params[k]))) as number[]);
        ckpt = { params: copy, opt: JSON.stringify(optimizerStateToJSON(prog.optimizerState())) };
      }
    },
  });
  assert.ok(ckpt !== undefined);
  const resumed = train({ ...base, params: ckpt.params, startEpoch: 2, optimizerState: optimizerStateFromJSON(JSON.parse(ckpt.opt)) });
  for (const k of PARAM_NAMES) assert.deepEqual(resumed.params[k], full.params[k]);
  assert.deepEqual(resumed.records, full.records.slice(2));
  // The initial params are not mutated.
  assert.deepEqual(p0.wHh, initParams(cfg, 3).wHh);
});

test("a short Dale's-backprop flip-flop run reduces test loss more than 3x", () => {
  const cfg = defaultModelConfig({ nHidden: 32, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const trainSet = flipFlopDataset(11, 'train', { n: 400 });
  const testSet = flipFlopDataset(11, 'test', { n: 200 });
  const p0 = initParams(cfg, 11);
  const before = train({ cfg, params: p0, backend: jsBackend, train: trainSet, test: testSet, epochs: 1, batchSize: 400, seed: 1, lr: 1e-12 });
  const res = train({ cfg, params: p0, backend: jsBackend, train: trainSet, test: testSet, epochs: 30, batchSize: 20, seed: 1, lr: 0.01 });
  const l0 = before.records[0].testLoss;
  const l1 = res.records[res.records.length - 1].testLoss;
  assert.ok(l1 * 3 < l0, `test loss ${l0} -> ${l1}`);
  checkDale(cfg, res.params.wHh);
});

test('classification records test accuracy; frozen tensors stay fixed', () => {
  const cfg = defaultModelConfig({ nHidden: 8, nInput: 2, nOutput: 3, head: 'softmax-last', rule: 'conventional' });
  const rng = new Rng(2, 'test:cls');
  const n = 40;
  const x = rng.fillUniform(new Float32Array(n * 3 * 2), -1, 1);
  const labels = Int32Array.from({ length: n }, () => rng.int(3));
  const ds = { n, T: 3, nIn: 2, nOut: 3, classification: true, batch: (idx: ArrayLike<number>) => {
    const B = idx.length;
    const bx = new Float32Array(B * 6);
    const bl = new Int32Array(B);
    for (let k = 0; k < B; k++) { bx.set(x.subarray(idx[k] * 6, idx[k] * 6 + 6), k * 6); bl[k] = labels[idx[k]]; }
    return { B, T: 3, x: bx, target: new Float32Array(0), labels: bl };
  } };
  const p0 = initParams(cfg, 2);
  const res = train({ cfg, params: p0, backend: jsBackend, train: ds, test: ds, epochs: 3, batchSize: 8, seed: 2, frozen: ['wOut', 'bOut'] });
  assert.deepEqual(res.params.wOut, p0.wOut);
  assert.deepEqual(res.params.bOut, p0.bOut);
  assert.notDeepEqual(res.params.wHh, p0.wHh);
  for (const r of res.records) assert.ok(r.testAccuracy !== undefined && r.testAccuracy >= 0 && r.testAccuracy <= 1);
});

test('an absurd learning rate raises DivergenceError naming the epoch', () => {
  const cfg = defaultModelConfig({ nHidden: 8, nInput: 1, nOutput: 1, head: 'linear', rule: 'conventional' });
  const ds = flipFlopDataset(1, 'train', { n: 40, T: 10 });
  assert.throws(
    () => train({ cfg, params: initParams(cfg, 1), backend: jsBackend, train: ds, epochs: 5, batchSize: 10, seed: 1, optimizer: 'sgd', lr: 1e300 }),
    (e: unknown) => e instanceof DivergenceError && e.epoch === 1 && /epoch 1/.test(e.message),
  );
  assert.throws(() => train({ cfg, params: initParams(cfg, 1), backend: jsBackend, train: ds, epochs: 2, batchSize: 10, seed: 1, startEpoch: 1 }), TrainOptionsError);
});

test('cosine lr schedule: each epoch trains with the closed-form rate, and resuming at epoch k (past T_max) is bit-identical', () => {
  const cfg = defaultModelConfig({ nHidden: 12, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const trainSet = flipFlopDataset(4, 'train', { n: 60, T: 12 });
  const testSet = flipFlopDataset(4, 'test', { n: 30, T: 12 });
  const p0 = initParams(cfg, 4);
  const lrSchedule = { kind: 'cosine', tMax: 2, etaMin: 1e-3 } as const;
  const base = { cfg, backend: jsBackend, train: trainSet, test: testSet, epochs: 6, batchSize: 16, seed: 5, lr: 0.02, lrSchedule };
  const full = train({ ...base, params: p0 });
  assert.deepEqual(full.records.map((r) => r.lr), [0, 1, 2, 3, 4, 5].map((t) => learningRateAt(0.02, lrSchedule, t)));
  // eta_max at t = 0, eta_min at T_max = 2, eta_max again at 2 T_max = 4 (PyTorch keeps cycling).
  [0.02, 0.0105, 0.001, 0.0105, 0.02, 0.0105].forEach((v, t) => assert.ok(Math.abs(full.records[t].lr! - v) < 1e-15, `epoch ${t + 1}: lr ${full.records[t].lr}`));
  // The schedule changes the run (vs constant lr) ...
  const constant = train({ ...base, params: p0, lrSchedule: { kind: 'constant' } });
  assert.notDeepEqual(constant.params.wHh, full.params.wHh);
  assert.ok(constant.records.every((r) => r.lr === undefined), 'constant runs do not record lr');
  // ... and resuming from epoch 3 (> T_max) reproduces it bit for bit.
  let ckpt: { params: Params; opt: string } | undefined;
  train({
    ...base, params: p0,
    onEpoch: (rec, params, prog) => {
      if (rec.epoch === 3) {
        const copy = {} as Params;
        for (const k of PARAM_NAMES) copy[k] = params[k].slice();
        ckpt = { params: copy, opt: JSON.stringify(optimizerStateToJSON(prog.optimizerState())) };
      }
    },
  });
  assert.ok(ckpt !== undefined);
  const resumed = train({ ...base, params: ckpt.params, startEpoch: 3, optimizerState: optimizerStateFromJSON(JSON.parse(ckpt.opt)) });
  for (const k of PARAM_NAMES) assert.deepEqual(resumed.params[k], full.params[k]);
  assert.deepEqual(resumed.records, full.records.slice(3));
  // One epoch at a time, as the stage runner trains (epochs: k + 1, startEpoch: k), is the same run too.
  let params = p0;
  let optimizerState: OptimizerState | undefined;
  for (let k = 0; k < 6; k++) {
    const r = train({ ...base, params, epochs: k + 1, startEpoch: k, optimizerState: k > 0 ? optimizerState : undefined });
    params = r.params;
    optimizerState = r.optimizerState;
  }
  for (const k of PARAM_NAMES) assert.deepEqual(params[k], full.params[k]);
  assert.throws(() => train({ ...base, params: p0, lrSchedule: { kind: 'cosine', tMax: 0, etaMin: 0 } }), TrainOptionsError);
});

test('resuming at epoch k draws the same number of random words for every k (no replay of the done epochs\' shuffles) and trains the same run', () => {
  const cfg = defaultModelConfig({ nHidden: 8, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const trainSet = flipFlopDataset(2, 'train', { n: 40, T: 6 });
  const p0 = initParams(cfg, 2);
  const base = { cfg, backend: jsBackend, train: trainSet, batchSize: 16, seed: 9 };
  const full = train({ ...base, params: p0, epochs: 8 });
  const orig = Rng.prototype.nextU32;
  let count = 0;
  Rng.prototype.nextU32 = function (this: Rng): number {
    count++;
    return orig.call(this);
  };
  const perCall: number[] = [];
  let params = p0;
  let optimizerState: OptimizerState | undefined;
  try {
    for (let k = 0; k < 8; k++) {
      count = 0;
      const r = train({ ...base, params, epochs: k + 1, startEpoch: k, optimizerState: k > 0 ? optimizerState : undefined });
      perCall.push(count);
      params = r.params;
      optimizerState = r.optimizerState;
    }
  } finally {
    Rng.prototype.nextU32 = orig;
  }
  // One permutation of 40 per call: 2 * 39 draws, whatever k.
  assert.deepEqual(perCall, new Array(8).fill(2 * 39));
  for (const k of PARAM_NAMES) assert.deepEqual(params[k], full.params[k]);
  // The batch order is the old stream's: epoch e uses the e-th permutation of new Rng(seed, 'batches').
  const seen: number[][] = [];
  const rec: Backend = {
    name: 'js',
    lossAndGrad(c, p, b, g) {
      seen.push(Array.from(b.x.subarray(0, 6)));
      return jsBackend.lossAndGrad(c, p, b, g);
    },
    evaluate: (c, p, b) => jsBackend.evaluate(c, p, b),
  };
  train({ ...base, backend: rec, params, epochs: 5, startEpoch: 4, optimizerState });
  const old = new Rng(9, 'batches');
  for (let e = 0; e < 4; e++) old.permutation(40);
  const first = old.permutation(40)[0];
  assert.deepEqual(seen[0], Array.from(trainSet.batch(Int32Array.of(first)).x.subarray(0, 6)));
});
