import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MaskShapeError, applyMasks, applyRuleProjection, daleProject, daleViolations, rectifiedPaperCodeProject, ruleContext } from './rules.js';
import { defaultModelConfig, initParams } from './init.js';
import { Rng } from './rng.js';

function frob2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

test("Dale's projection is the per-entry Frobenius-closest feasible matrix", () => {
  const rng = new Rng(3, 'test:dale');
  const N = 9;
  const nExc = 7;
  for (let trial = 0; trial < 20; trial++) {
    const w = rng.fillUniform(new Float32Array(N * N), -1, 1);
    const proj = daleProject(w.slice(), N, nExc);
    // Brute force: per entry, the argmin over a fine grid of feasible values of |v - w|.
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const v = w[i * N + j];
        let best = Infinity;
        let arg = 0;
        for (let q = 0; q <= 400; q++) {
          const c = j < nExc ? q / 200 : -q / 200; // feasible grid plus the value itself if feasible
          const d = Math.abs(c - v);
          if (d < best) { best = d; arg = c; }
        }
        const feasibleSelf = j < nExc ? v >= 0 : v <= 0;
        if (feasibleSelf) arg = v;
        assert.ok(Math.abs(proj[i * N + j] - arg) <= 1 / 400 + 1e-7, `(${i},${j}) ${proj[i * N + j]} vs ${arg}`);
        assert.ok(j < nExc ? proj[i * N + j] >= 0 : proj[i * N + j] <= 0);
      }
    }
    // No random feasible matrix is closer.
    const d0 = frob2(w, proj);
    for (let k = 0; k < 50; k++) {
      const other = new Float32Array(N * N);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
        const u = rng.uniform() * (rng.bernoulli(0.5) ? 0.05 : 1);
        other[i * N + j] = j < nExc ? u : -u;
      }
      // Also perturbations of the projection itself.
      const near = proj.slice();
      const e = rng.int(N * N);
      near[e] += (e % N < nExc ? 1 : -1) * rng.uniform() * 0.1;
      assert.ok(frob2(w, other) >= d0);
      assert.ok(frob2(w, near) >= d0);
    }
  }
});

test('rectified/paper-code projection: w[w<0]=0 then w *= sign(W_init)', () => {
  const w = Float32Array.from([0.5, -0.5, 0.3, -0.2]);
  const s = Float32Array.from([1, 1, -1, -1]);
  rectifiedPaperCodeProject(w, s);
  assert.deepEqual(Array.from(w), [0.5, 0, Math.fround(-0.3), 0]);
  assert.throws(() => rectifiedPaperCodeProject(w, new Float32Array(3)), MaskShapeError);
});

test('applyRuleProjection dispatches by rule and fidelity', () => {
  const base = (rule: 'conventional' | 'dale' | 'rectified', fidelity: 'paper-code' | 'corrected') => {
    const cfg = defaultModelConfig({ nHidden: 5, nExc: 3, rule, fidelity });
    const p = initParams(cfg, 1);
    p.wHh.set(Float32Array.from({ length: 25 }, (_, k) => (k % 2 === 0 ? 0.4 : -0.4)));
    applyRuleProjection(cfg, p, ruleContext(cfg));
    return p.wHh;
  };
  const raw = Float32Array.from({ length: 25 }, (_, k) => (k % 2 === 0 ? 0.4 : -0.4));
  assert.deepEqual(base('conventional', 'corrected'), raw);
  assert.deepEqual(base('rectified', 'corrected'), raw);
  assert.deepEqual(base('dale', 'corrected'), daleProject(raw.slice(), 5, 3));
  const sign = Float32Array.from({ length: 25 }, (_, k) => (k % 5 < 3 ? 1 : -1));
  assert.deepEqual(base('rectified', 'paper-code'), rectifiedPaperCodeProject(raw.slice(), sign));
});

test('applyMasks zeroes masked entries exactly and checks shapes', () => {
  const cfg = defaultModelConfig({ nHidden: 4, nInput: 2, nOutput: 2 });
  const p = initParams(cfg, 2);
  const rec = Float32Array.from({ length: 16 }, (_, k) => (k % 3 === 0 ? 0 : 1));
  const inp = Float32Array.from([1, 0, 1, 0, 1, 0, 1, 0]);
  const before = p.wHh.slice();
  applyMasks(p, { recurrent: rec, input: inp });
  for (let k = 0; k < 16; k++) assert.ok(Object.is(p.wHh[k], rec[k] === 0 ? 0 : before[k]));
  for (let k = 0; k < 8; k++) if (inp[k] === 0) assert.ok(Object.is(p.wIn[k], 0));
  assert.throws(() => applyMasks(p, { readout: new Float32Array(3) }), /masks\.readout/);
});

test("daleViolations counts E-column negatives and I-column positives and names the first in row-major order", () => {
  // N = 3, nExc = 2: columns 0, 1 excitatory, column 2 inhibitory.
  const w = Float32Array.from([0.5, -0.1, -0.2, 0, 0.3, 0.4, NaN, 0, -1]);
  assert.deepEqual(daleViolations(w, 3, 2), { count: 2, first: { row: 0, col: 1, value: w[1] } });
  assert.deepEqual(daleViolations(daleProject(w.slice(), 3, 2), 3, 2), { count: 0, first: undefined });
  assert.throws(() => daleViolations(w, 4, 2), MaskShapeError);
});
