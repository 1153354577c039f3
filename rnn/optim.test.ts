import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, Sgd, OptimizerStateError, makeOptimizer, optimizerStateFromJSON, optimizerStateToJSON } from './optim.js';
import type { Params } from './types.js';

function tiny(values: number[]): Params {
  return {
    wIn: Float32Array.from(values),
    bIn: new Float32Array(0),
    wHh: new Float32Array(1),
    bHh: new Float32Array(0),
    wOut: new Float32Array(0),
    bOut: new Float32Array(0),
  };
}

test('Adam matches a hand-computed 2-step example (PyTorch semantics, bias correction)', () => {
  // p = [1, -1], lr 0.1, grads [0.5, 0] then [-1, 2].
  // Step 1: m = 0.05, v = 2.5e-4, m^ = 0.5, v^ = 0.25 -> p0 = 1 - 0.1*0.5/(0.5+1e-8) = 0.900000002;
  //         second entry g = 0: m = v = 0 -> unchanged.
  // Step 2: m = -0.055, v = 1.24975e-3, m^ = -0.055/0.19, v^ = 1.24975e-3/1.999e-3
  //         -> p0 = 0.93661035424; second: m = 0.2, v = 4e-3 -> p1 = -1.07441368183.
  const p = tiny([1, -1]);
  const g = tiny([0.5, 0]);
  const adam = new Adam(p, { lr: 0.1 });
  adam.step(p, g);
  assert.equal(p.wIn[0], Math.fround(0.900000002));
  assert.equal(p.wIn[1], -1);
  g.wIn.set([-1, 2]);
  adam.step(p, g);
  assert.ok(Math.abs(p.wIn[0] - 0.93661035424) < 1e-6, `${p.wIn[0]}`);
  assert.ok(Math.abs(p.wIn[1] - -1.07441368183) < 1e-6, `${p.wIn[1]}`);
  assert.equal(adam.getState().step, 2);
});

test('frozen tensors are not updated', () => {
  const p = tiny([1, 2]);
  const g = tiny([1, 1]);
  g.wHh[0] = 1;
  const adam = new Adam(p);
  adam.step(p, g, new Set(['wIn']));
  assert.deepEqual(Array.from(p.wIn), [1, 2]);
  assert.notEqual(p.wHh[0], 0);
});

test('SGD with and without momentum follows torch.optim.SGD', () => {
  const p = tiny([1]);
  const g = tiny([2]);
  const plain = new Sgd(p, { lr: 0.1 });
  plain.step(p, g);
  assert.equal(p.wIn[0], Math.fround(1 - 0.2));
  const q = tiny([1]);
  const mom = new Sgd(q, { lr: 0.1, momentum: 0.9 });
  mom.step(q, g); // buf = 2
  mom.step(q, g); // buf = 0.9*2 + 2 = 3.8
  assert.ok(Math.abs(q.wIn[0] - (1 - 0.2 - 0.38)) < 1e-6);
});

test('optimizer state round-trips through JSON bit-exactly and resumes identically', () => {
  const p1 = tiny([0.3, -0.7, 1.1]);
  const g = tiny([0.123, -4.5, 1e-3]);
  const a = makeOptimizer(p1, { kind: 'adam', lr: 0.01 });
  a.step(p1, g);
  const saved = optimizerStateFromJSON(JSON.parse(JSON.stringify(optimizerStateToJSON(a.getState()))));
  const p2 = { ...p1, wIn: p1.wIn.slice(), wHh: p1.wHh.slice() };
  const b = makeOptimizer(p2, { kind: 'adam', lr: 0.01 });
  b.setState(saved);
  a.step(p1, g);
  b.step(p2, g);
  assert.deepEqual(p2.wIn, p1.wIn);
  assert.throws(() => b.setState({ kind: 'sgd', step: 1 }), OptimizerStateError);
  assert.throws(() => optimizerStateFromJSON({ kind: 'adam', step: -1 }), OptimizerStateError);
});
