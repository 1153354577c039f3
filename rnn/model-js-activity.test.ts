/**
 * The `js` backend's activity-sparse products (rectifying rules: the state r_t is exactly 0 where
 * a_t ≤ threshold): forward r_{t-1}·W_effᵀ, backward dPre_t·W_eff at the active units only, and
 * the W_hh gradient over the active samples only. They must give the dense kernels' bits, in
 * both arithmetics, on shapes that exercise every kernel width, and change nothing where they
 * cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVITY_LARGE_N, activityProducts, jsBackend, lastActiveFraction, resetActivityCounts, setActivityMode, setSimdEnabled, type ActivityMode,
} from './model-js.js';
import { SimdGemm, TN_CHUNK, fmaSupported, kernelArithmetic, setKernelArithmetic, simdSupported, type Arithmetic } from './model-js-simd.js';
import { buildRowLists, countAbove } from './activity-lists.js';
import { gemmNT } from './model-js.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { Rng } from './rng.js';
import { train } from './train.js';
import { PARAM_NAMES, type Batch, type Head, type ModelConfig, type Params, type Rule } from './types.js';
import { celltypeTask } from '../tasks/celltype.js';

const ARITHMETICS: Arithmetic[] = fmaSupported() ? ['mul-add', 'fma'] : ['mul-add'];

interface Case { N: number; B: number; T: number; th: number; rule: Rule; head: Head }

function makeCase(c: Case, seed = 3): { cfg: ModelConfig; params: Params; batch: Batch } {
  const nIn = 3;
  const nOut = c.head === 'softmax-last' ? 4 : 2;
  const cfg = defaultModelConfig({ nHidden: c.N, nInput: nIn, nOutput: nOut, rule: c.rule, fidelity: 'corrected', head: c.head, threshold: c.th });
  const params = initParams(cfg, seed);
  // Strong recurrence and biases of both signs: a mix of active and silent units at every step.
  for (let i = 0; i < params.wHh.length; i++) params.wHh[i] *= 3;
  for (let i = 0; i < c.N; i++) params.bIn[i] = ((i % 5) - 2) * 0.3;
  const rng = new Rng(seed, 'test:activity');
  const batch: Batch = {
    B: c.B,
    T: c.T,
    x: rng.fillUniform(new Float32Array(c.B * c.T * nIn), -1, 1),
    target: rng.fillUniform(new Float32Array(c.B * c.T * nOut), -1, 1),
    labels: Int32Array.from({ length: c.B }, (_, b) => b % nOut),
  };
  return { cfg, params, batch };
}

function grads(mode: ActivityMode, cfg: ModelConfig, params: Params, batch: Batch): { loss: number; g: Params } {
  setActivityMode(mode);
  const g = zerosLike(params);
  const r = jsBackend.lossAndGrad(cfg, params, batch, g);
  setActivityMode('auto');
  return { loss: r.loss, g };
}

/** Same float32 bits in every gradient word (−0 and +0 differ, NaN payloads compared). */
function assertSameBits(a: Params, b: Params, what: string): void {
  for (const k of PARAM_NAMES) {
    const x = new Uint32Array(a[k].buffer, a[k].byteOffset, a[k].length);
    const y = new Uint32Array(b[k].buffer, b[k].byteOffset, b[k].length);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: ${k}[${i}] differs: ${a[k][i]} vs ${b[k][i]}`);
  }
}

// Widths: N = 136 leaves a 16-column slab and a 40-row gradient panel (96 + 40); 40 and 128 other
// tails; T·B − B not a multiple of TN_CHUNK (a short last chunk), and over one chunk.
const CASES: Case[] = [
  { N: 136, B: 20, T: 9, th: 0.1, rule: 'dale', head: 'linear' },
  { N: 40, B: 6, T: 5, th: 0, rule: 'dale', head: 'tanh' },
  { N: 128, B: 40, T: 6, th: 0.2, rule: 'rectified', head: 'linear' },
  { N: 24, B: 2, T: 3, th: -0.1, rule: 'dale', head: 'softmax-last' },
];

test('activity-sparse products give the dense products\' bits (each arithmetic, every kernel width)', { skip: !simdSupported() }, () => {
  const before = kernelArithmetic();
  for (const arith of ARITHMETICS) {
    setKernelArithmetic(arith);
    for (const c of CASES) {
      const { cfg, params, batch } = makeCase(c);
      const dense = grads('never', cfg, params, batch);
      resetActivityCounts();
      const always = grads('always', cfg, params, batch);
      assert.deepEqual(activityProducts(), { forward: c.T - 1, backward: c.T - 1, weights: 1, pruned: 0 }, `${arith} ${JSON.stringify(c)}: every product sparse`);
      resetActivityCounts();
      const auto = grads('auto', cfg, params, batch);
      const what = `${arith} N=${c.N} B=${c.B} T=${c.T} th=${c.th} ${c.rule}/${c.head}`;
      assert.equal(always.loss, dense.loss, what);
      assert.equal(auto.loss, dense.loss, what);
      assertSameBits(always.g, dense.g, `${what} always`);
      assertSameBits(auto.g, dense.g, `${what} auto`);
    }
  }
  setKernelArithmetic(before);
});

test('activity-sparse products: silent and fully active states (empty and full lists) give the dense bits', { skip: !simdSupported() }, () => {
  for (const th of [10, -10]) {
    const { cfg, params, batch } = makeCase({ N: 40, B: 4, T: 4, th, rule: 'dale', head: 'linear' });
    const dense = grads('never', cfg, params, batch);
    resetActivityCounts();
    const always = grads('always', cfg, params, batch);
    assert.equal(activityProducts().forward, 3);
    assert.equal(always.loss, dense.loss);
    assertSameBits(always.g, dense.g, `threshold ${th}`);
  }
});

test('auto mode lists a step and takes each sparse product exactly when few enough units are active, at every N', { skip: !simdSupported() }, () => {
  // Threshold 10: no unit is ever active, every product qualifies; threshold -10: all are, none does.
  const none = { forward: 0, backward: 0, weights: 0, pruned: 0 };
  for (const N of [ACTIVITY_LARGE_N, 40]) {
    for (const [th, expect] of [[10, { ...none, forward: 3, backward: 3, weights: 1 }], [-10, none]] as const) {
      const { cfg, params, batch } = makeCase({ N, B: 4, T: 4, th, rule: 'dale', head: 'linear' });
      resetActivityCounts();
      grads('auto', cfg, params, batch);
      assert.deepEqual(activityProducts(), expect, `N ${N}, threshold ${th}`);
      assert.equal(lastActiveFraction(), th > 0 ? 0 : 1, `N ${N}, threshold ${th}: active fraction`);
    }
  }
});

test('auto mode with dense and sparse steps mixed: each step\'s products by its own density, the gradient by all steps\' (the dense ones listed for it), same bits', { skip: !simdSupported() }, () => {
  // Input weights all positive and a weak recurrence: an input of +2 makes every unit active,
  // one of -2 silences every unit.
  const T = 5;
  const B = 4;
  for (const N of [ACTIVITY_LARGE_N, 40]) {
    const { cfg, params } = makeCase({ N, B, T, th: 0, rule: 'dale', head: 'linear' });
    for (let i = 0; i < params.wIn.length; i++) params.wIn[i] = 1 + (i % 3) * 0.1;
    for (let i = 0; i < params.wHh.length; i++) params.wHh[i] *= 0.01;
    params.bIn.fill(0);
    params.bHh.fill(0);
    // Step 1 active (25 % over steps 0-3: the gradient's kernel pays), or steps 0, 1 and 3 (75 %: it does not).
    for (const active of [[1], [0, 1, 3]]) {
      const x = new Float32Array(B * T * cfg.nInput);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let q = 0; q < cfg.nInput; q++) x[(b * T + t) * cfg.nInput + q] = active.includes(t) ? 2 : -2;
      const target = new Rng(1, 'test:mixed').fillUniform(new Float32Array(B * T * cfg.nOutput), -1, 1);
      const batch: Batch = { B, T, x, target };
      const dense = grads('never', cfg, params, batch);
      resetActivityCounts();
      const auto = grads('auto', cfg, params, batch);
      // The forward and backward products of step t read step t − 1's lists when it was silent.
      const silentBefore = [1, 2, 3, 4].filter((t) => !active.includes(t - 1)).length;
      const weights = active.length === 1 ? 1 : 0;
      assert.deepEqual(activityProducts(), { forward: silentBefore, backward: silentBefore, weights, pruned: 0 }, `N ${N}, active steps ${active}`);
      assert.equal(lastActiveFraction(), active.length / (T - 1), `N ${N}: active fraction`);
      assert.equal(auto.loss, dense.loss);
      assertSameBits(auto.g, dense.g, `N ${N} mixed steps ${active}`);
      // Evaluation lists no step for the gradient: the same loss.
      assert.equal(jsBackend.evaluate(cfg, params, batch).loss, dense.loss);
    }
  }
});

test('where the activity-sparse kernels cannot run (non-rectifying rule, odd B, N not a multiple of 8, scalar kernels) nothing changes', () => {
  const cases: [Case, boolean][] = [
    [{ N: 40, B: 4, T: 4, th: 0, rule: 'conventional', head: 'linear' }, true],
    [{ N: 40, B: 5, T: 4, th: 0, rule: 'dale', head: 'linear' }, true],
    [{ N: 36, B: 4, T: 4, th: 0, rule: 'dale', head: 'linear' }, true],
    [{ N: 40, B: 4, T: 4, th: 0, rule: 'dale', head: 'linear' }, false],
  ];
  for (const [c, simd] of cases) {
    setSimdEnabled(simd);
    const { cfg, params, batch } = makeCase(c);
    const dense = grads('never', cfg, params, batch);
    resetActivityCounts();
    const always = grads('always', cfg, params, batch);
    assert.deepEqual(activityProducts(), { forward: 0, backward: 0, weights: 0, pruned: 0 }, JSON.stringify(c));
    assertSameBits(always.g, dense.g, JSON.stringify(c));
  }
  setSimdEnabled(true);
});

test('training the cell-type model (N = 360) is bit-identical with and without the activity-sparse kernels', { skip: !simdSupported() }, async () => {
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 1, dataSource: 'synthetic', syntheticSamples: 64, latentScaling: 4 });
  assert.equal(t.cfg.nHidden % 8, 0);
  const run = (mode: ActivityMode): Params => {
    setActivityMode(mode);
    const r = train({ cfg: t.cfg, backend: jsBackend, train: t.train, batchSize: 16, frozen: t.frozen, seed: 0, params: t.initParams(), masks: t.masks(), epochs: 3 });
    setActivityMode('auto');
    return r.params;
  };
  const dense = run('never');
  resetActivityCounts();
  const always = run('always');
  assert.ok(activityProducts().weights > 0);
  assertSameBits(always, dense, 'trained parameters');
});

test('buildRowLists lists the active units of each row as documented', () => {
  const B = 6, N = 16, T = 5, th = 0.25, steps = T - 1;
  const rng = new Rng(9, 'test:lists');
  const a = rng.fillUniform(new Float32Array(T * B * N), -1, 1);
  const r = a.map((v) => (v > th ? v : 0));
  const idx = new Int32Array(T * B * N);
  const vals = new Float32Array(T * B * N);
  const S = 4 * B + 1;
  const starts = new Int32Array(T * S);
  for (let t = 0; t < steps; t++) {
    const nnz = buildRowLists(a, r, t * B * N, B, N, th, idx, vals, t * B * N, starts, t * S);
    let want = 0;
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < 4; l++) {
        const got: number[] = [];
        for (let e = starts[t * S + 4 * b + l]; e < starts[t * S + 4 * b + l + 1]; e++) {
          got.push(idx[t * B * N + e] / 4);
          assert.equal(vals[t * B * N + e], r[t * B * N + b * N + idx[t * B * N + e] / 4]);
        }
        const exp: number[] = [];
        for (let k = l; k < N; k += 4) if (a[t * B * N + b * N + k] > th) exp.push(k);
        assert.deepEqual(got, exp, `t=${t} b=${b} l=${l}`);
        want += exp.length;
      }
    }
    assert.equal(nnz, want);
  }
});

test('the column-list kernels list each chunk\'s rows per unit in increasing order, from the row lists (offsets, both threshold signs, NaN silent)', { skip: !simdSupported() }, () => {
  const N = 20, B = 6;
  const k = new SimdGemm(300000, gemmNT);
  const rng = new Rng(10, 'test:columnlists');
  // One step in one chunk (a step's column lists, row bytes 4N), and 50 steps of 6 rows in chunks
  // of TN_CHUNK (the sample lists: two whole chunks and a short one) with their states.
  for (const [steps, chunk, rowBytes, withVals] of [[1, B, 4 * N, false], [50, TN_CHUNK, 44, true]] as const) {
    for (const th of [0.25, 0, -0.3]) {
      const Q = steps * B, S = 4 * B + 1, stOff = 3, idxOff = 8;
      const a = rng.fillUniform(k.alloc(Q * N), -1, 1);
      a[2 * N + 3] = NaN;
      const r = k.alloc(Q * N);
      for (let i = 0; i < a.length; i++) r[i] = a[i] > th ? a[i] : 0;
      const idx = k.allocI32(idxOff + Q * N), vals = k.alloc(idxOff + Q * N), starts = k.allocI32(stOff + steps * S), count = k.allocI32(4);
      for (let t = 0; t < steps; t++) k.rowLists(a, r, t * B * N, B, N, th, idx, vals, idxOff + t * B * N, starts, stOff + t * S, count);
      const nC = Math.ceil(Q / chunk);
      const out = k.allocI32(Q * N).fill(-7);
      const outVals = withVals ? k.alloc(Q * N) : null;
      const cs = k.allocI32(nC * N + 1);
      assert.equal(k.columnLists(idx, idxOff, withVals ? vals : null, starts, stOff, steps, B, N, chunk, rowBytes, out, outVals, cs, k.allocI32(nC * N + 1)), nC);
      let total = 0;
      for (let c = 0; c < nC; c++) {
        for (let j = 0; j < N; j++) {
          const exp: number[] = [];
          const expV: number[] = [];
          for (let q = c * chunk; q < Math.min(Q, (c + 1) * chunk); q++) {
            if (a[q * N + j] > th) { exp.push(q * rowBytes); expV.push(r[q * N + j]); }
          }
          const what = `${steps} steps, threshold ${th}, chunk ${c}, unit ${j}`;
          assert.deepEqual(Array.from(out.subarray(cs[c * N + j], cs[c * N + j + 1])), exp, what);
          if (outVals !== null) assert.deepEqual(Array.from(outVals.subarray(cs[c * N + j], cs[c * N + j + 1])), expV, what);
          total += exp.length;
        }
      }
      assert.equal(cs[nC * N], total, `${steps} steps, threshold ${th}: entries`);
      assert.equal(total, countAbove(a, 0, Q * N, th));
    }
  }
});

test('spBwd writes only the listed outputs of dr, each with gemmNT\'s bits', { skip: !simdSupported() }, () => {
  const N = 40, B = 10;
  const k = new SimdGemm(4 * N * N + 8 * B * N, gemmNT);
  const rng = new Rng(2, 'test:spbwd');
  const wT = rng.fillUniform(k.alloc(N * N), -1, 1);
  const dPre = rng.fillUniform(k.alloc(B * N), -1, 1);
  const dense = k.alloc(B * N);
  k.gemm(B, N, N, dPre, 0, N, wT, 0, N, dense, 0, N, false);
  const active = Array.from({ length: B * N }, (_, i) => (i * 7) % 3 !== 0);
  const a = Float32Array.from(active, (x) => (x ? 1 : -1));
  const aK = k.alloc(B * N);
  aK.set(a);
  const idx = k.allocI32(B * N);
  const starts = k.allocI32(4 * B + 1);
  k.rowLists(aK, aK, 0, B, N, 0, idx, k.alloc(B * N), 0, starts, 0, k.allocI32(4));
  const cIdx = k.allocI32(B * N);
  const cs = k.allocI32(N + 1);
  k.columnLists(idx, 0, null, starts, 0, 1, B, N, B, 4 * N, cIdx, null, cs, k.allocI32(N + 1));
  const dr = k.alloc(B * N).fill(42);
  k.runAt(k.spBwdJob(wT, cIdx, cs, dPre, 0, dr, N), 0, N);
  for (let i = 0; i < B * N; i++) {
    if (active[i]) assert.ok(Object.is(dr[i], dense[i]), `output ${i}: ${dr[i]} vs ${dense[i]}`);
    else assert.equal(dr[i], 42, `output ${i} is not listed and stays`);
  }
});

test('spFwd with the nonlinearity fused gives spFwd then act, bit for bit (each arithmetic, full and partial slabs)', { skip: !simdSupported() }, () => {
  for (const arithmetic of ARITHMETICS) {
    for (const N of [48, 40, 28]) {
      const B = 6, th = 0.1;
      const k = new SimdGemm(40 * N * N + 40 * B * N, gemmNT, true, { arithmetic });
      const rng = new Rng(7, 'test:spfwd-act');
      const weff = rng.fillUniform(k.alloc(N * N), -1, 1);
      const pk = k.alloc(N * N);
      const pack = k.packJob(weff, N, pk);
      k.runAt(pack, 0, pack.units);
      // The previous state (rectified, a mix of silent and active units) and its row lists.
      const prev = rng.fillUniform(k.alloc(B * N), -1, 1);
      const rPrev = k.alloc(B * N);
      for (let i = 0; i < prev.length; i++) rPrev[i] = prev[i] > th ? prev[i] : 0;
      const idx = k.allocI32(B * N), vals = k.alloc(B * N), starts = k.allocI32(4 * B + 1);
      k.rowLists(prev, rPrev, 0, B, N, th, idx, vals, 0, starts, 0, k.allocI32(4));
      const input = rng.fillUniform(k.alloc(B * N), -3, 3);
      const a1 = k.alloc(B * N), r1 = k.alloc(B * N), a2 = k.alloc(B * N), r2 = k.alloc(B * N);
      a1.set(input); a2.set(input);
      const plain = k.spFwdJob(pk, idx, vals, 0, starts, 0, B, a1, 0, N);
      k.runAt(plain, 0, plain.units);
      assert.equal(k.act(a1, r1, 0, B * N, th, true), B * N);
      const fused = k.spFwdJob(pk, idx, vals, 0, starts, 0, B, a2, 0, N, { r: r2, th });
      k.runAt(fused, 0, fused.units);
      const bits = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      assert.ok(bits(a1).equals(bits(a2)), `${arithmetic}, N = ${N}: a`);
      assert.ok(bits(r1).equals(bits(r2)), `${arithmetic}, N = ${N}: r`);
      assert.ok(r2.some((x) => x > 0) && r2.some((x) => x === 0), 'both active and silent units');
    }
  }
});

test('spDw stores each column range of the weight gradient transposed with gemmTN\'s bits, at aligned and unaligned cuts', { skip: !simdSupported() }, () => {
  // 50 steps of 6 rows (3 chunks of TN_CHUNK samples), a panel of w = 28 rows i (a 24-row block and a 4-row tail).
  const N = 40, B = 6, steps = 50, Q = steps * B, w = 28, ldp = 32, gOff = 4;
  const k = new SimdGemm(40 * Q * N, gemmNT);
  const rng = new Rng(6, 'test:spdw');
  const a = rng.fillUniform(k.alloc(Q * N), -1, 1);
  const r = k.alloc(Q * N);
  for (let i = 0; i < a.length; i++) r[i] = a[i] > 0.2 ? a[i] : 0;
  const S = 4 * B + 1;
  const idx = k.allocI32(Q * N), vals = k.alloc(Q * N), starts = k.allocI32(steps * S);
  for (let t = 0; t < steps; t++) k.rowLists(a, r, t * B * N, B, N, 0.2, idx, vals, t * B * N, starts, t * S, k.allocI32(4));
  const nC = Math.ceil(Q / TN_CHUNK);
  const sIdx = k.allocI32(Q * N), sVals = k.alloc(Q * N), cs = k.allocI32(nC * N + 1);
  k.columnLists(idx, 0, vals, starts, 0, steps, B, N, TN_CHUNK, 4 * ldp, sIdx, sVals, cs, k.allocI32(nC * N + 1));
  const panel = rng.fillUniform(k.alloc(Q * ldp), -1, 1);
  const want = k.alloc(w * N);
  k.gemmTN(w, N, Q, panel, 0, ldp, r, 0, N, want, 0, N, false);
  const out = k.alloc(N * ldp);
  const g = k.alloc(gOff + w * N + 8).fill(42);
  const job = k.spDwJob(sIdx, sVals, cs, nC, N, w, panel, out, ldp, g, gOff, N);
  // [0, 5) and [5, 16): the scalar store; [16, 40): the transpose kernel.
  for (const [lo, hi] of [[0, 5], [5, 16], [16, N]]) k.runAt(job, lo, hi);
  for (let i = 0; i < w; i++) {
    for (let j = 0; j < N; j++) assert.ok(Object.is(g[gOff + i * N + j], want[i * N + j]), `g[${i}, ${j}]: ${g[gOff + i * N + j]} vs ${want[i * N + j]}`);
  }
  for (const e of [0, 1, 2, 3, gOff + w * N, gOff + w * N + 7]) assert.equal(g[e], 42, `entry ${e} outside the gradient stays`);
});

test('the transpose and copy2d kernels copy exactly, at offsets and strides; transpose refuses what it cannot do', { skip: !simdSupported() }, () => {
  const k = new SimdGemm(20000, gemmNT);
  const rng = new Rng(4, 'test:transpose');
  const rows = 12, cols = 136, ls = 140, ld = 20;
  const src = rng.fillUniform(k.alloc(4 + rows * ls), -1, 1);
  const dst = k.alloc(8 + cols * ld).fill(7);
  assert.equal(k.transpose(src, 4, ls, dst, 8, ld, rows, cols), true);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < ld; r++) {
      const want = r < rows ? src[4 + r * ls + c] : 7;
      assert.ok(Object.is(dst[8 + c * ld + r], want), `dst[${c}, ${r}]`);
    }
  }
  assert.equal(k.transpose(src, 1, ls, dst, 8, ld, rows, cols), false, 'unaligned offset');
  assert.equal(k.transpose(src, 4, ls, dst, 8, ld, rows, 6), false, 'columns not a multiple of 4');
  assert.equal(k.transpose(new Float32Array(64), 0, 4, dst, 0, 4, 4, 4), false, 'array outside the memory');
  const out = k.alloc(rows * 16).fill(3);
  k.copy2d(src, 4, ls, out, 0, 16, rows, 12);
  for (let r = 0; r < rows; r++) for (let c = 0; c < 16; c++) assert.ok(Object.is(out[r * 16 + c], c < 12 ? src[4 + r * ls + c] : 3));
});

test('the filterColumns kernel keeps exactly the entries of marked columns, in order, with their values and original indices', { skip: !simdSupported() }, () => {
  const N = 37, Bp = 12;
  const rng = new Rng(21, 'test:filter-columns');
  const k = new SimdGemm(16 * N * N + 2 * N * Bp + 256, gemmNT, true);
  const rp = k.allocI32(N + 1), cols = k.allocI32(N * N), vals = k.alloc(N * N), markBp = k.allocI32(N * Bp);
  let e = 0;
  for (let i = 0; i < N; i++) {
    rp[i] = e;
    if (i % 7 === 3) continue; // empty rows
    for (let j = 0; j < N; j++) if (rng.uniform() < 0.3) { cols[e] = j * Bp; vals[e] = rng.normal(); e++; }
  }
  rp[N] = e;
  for (let j = 0; j < N; j++) markBp[j * Bp] = rng.uniform() < 0.5 ? (j % 2 === 0 ? -1 : 1) : 0;
  const rpF = k.allocI32(N + 1), colsF = k.allocI32(N * N), valsF = k.alloc(N * N), map = k.allocI32(N * N);
  assert.equal(k.filterColumns(rp, cols, vals, N, markBp, rpF, colsF, valsF, map), true);
  let f = 0;
  for (let i = 0; i < N; i++) {
    assert.equal(rpF[i], f, `row ${i} starts at ${f}`);
    for (let q = rp[i]; q < rp[i + 1]; q++) {
      if (markBp[cols[q]] === 0) continue;
      assert.ok(colsF[f] === cols[q] && Object.is(valsF[f], vals[q]) && map[f] === q, `entry ${f} is ${q}`);
      f++;
    }
  }
  assert.equal(rpF[N], f);
  assert.ok(f > 0 && f < e, 'some entries kept, some dropped');
  // Without values or map: the same pattern.
  const rp2 = k.allocI32(N + 1), cols2 = k.allocI32(N * N);
  assert.equal(k.filterColumns(rp, cols, null, N, markBp, rp2, cols2, null, null), true);
  assert.deepEqual([...rp2], [...rpF]);
  assert.deepEqual([...cols2.subarray(0, f)], [...colsF.subarray(0, f)]);
  assert.equal(k.filterColumns(rp, cols, vals, N, new Int32Array(N * Bp), rpF, colsF, valsF, map), false, 'an array outside the memory');
});

test('the sparse (pruned) path restricted to the active units gives the unrestricted bits (CSR products and masked gradient)', () => {
  for (const simd of simdSupported() ? [true, false] : [false]) {
    setSimdEnabled(simd);
    for (const [N, B, T, th] of [[64, 6, 5, 0.1], [45, 3, 4, 0]] as const) {
      const { cfg, params, batch } = makeCase({ N, B, T, th, rule: 'dale', head: 'linear' });
      // A pruned model: ~10 % of W_hh kept, the mask passed as the training loop does.
      const rng = new Rng(8, 'test:pruned-activity');
      const mask = new Float32Array(N * N).map(() => (rng.uniform() < 0.1 ? 1 : 0));
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) params.wHh[i] = 0;
      const run = (mode: ActivityMode): { loss: number; g: Params; ev: number } => {
        setActivityMode(mode);
        const g = zerosLike(params);
        const loss = jsBackend.lossAndGrad(cfg, params, batch, g, { recurrent: mask }).loss;
        const ev = jsBackend.evaluate(cfg, params, batch).loss;
        setActivityMode('auto');
        return { loss, g, ev };
      };
      const full = run('never');
      resetActivityCounts();
      const restricted = run('auto');
      const what = `simd=${simd} N=${N} B=${B} T=${T} th=${th}`;
      // Forward and backward CSR products of steps 1 … T − 1 (forward twice: gradient and evaluation),
      // and the masked gradient's per-step products with the SIMD kernels.
      assert.equal(activityProducts().pruned, (simd ? 4 : 3) * (T - 1), `${what}: restricted products`);
      assert.equal(restricted.loss, full.loss, what);
      assert.equal(restricted.ev, full.ev, what);
      assertSameBits(restricted.g, full.g, what);
    }
  }
  setSimdEnabled(true);
});

test('the CSR and active-unit kernels write what their definitions say (−0 is zero, NaN is not; over the cap nothing)', { skip: !simdSupported() }, () => {
  const N = 12, Bp = 8;
  const k = new SimdGemm(4 * N * N + 64, gemmNT);
  const m = k.alloc(N * N);
  const rng = new Rng(6, 'test:csr');
  for (let i = 0; i < N * N; i++) m[i] = rng.uniform() < 0.3 ? rng.normal() : 0;
  m[5] = -0;
  m[7] = NaN;
  m[N * N - 1] = 2;
  const rp = k.allocI32(N + 1), cols = k.allocI32(N * N), vals = k.alloc(N * N), count = k.allocI32(4);
  assert.equal(k.csr(m, N, Bp, N * N, rp, cols, vals, count), true);
  let e = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const v = m[i * N + j];
      if (v !== 0) {
        assert.equal(cols[e], j * Bp, `entry ${e}`);
        assert.ok(Object.is(vals[e], v), `entry ${e}`);
        e++;
      }
    }
    assert.equal(rp[i + 1], e, `row ${i}`);
  }
  assert.equal(rp[0], 0);
  rp.fill(-7);
  assert.equal(k.csr(m, N, Bp, e - 1, rp, cols, vals, count), false, 'over the cap');
  assert.equal(rp[0], -7, 'nothing written');
  assert.equal(k.csr(m, N, Bp, e, rp, cols, null, count), true, 'at the cap, no values');
  assert.equal(rp[N], e);
  assert.equal(k.csr(m, 10, Bp, 100, rp, cols, null, count), null, 'N not a multiple of 4');
  // Counted in blocks of 65536 entries (N = 260: two blocks): the cap decides exactly, whichever block crosses it.
  {
    const N2 = 260;
    const big = new SimdGemm(8 * N2 * N2 + 64, gemmNT);
    const w = big.alloc(N2 * N2);
    for (let i = 0; i < w.length; i += 7) w[i] = 1;
    const nnz = Math.ceil(w.length / 7);
    const args = [big.allocI32(N2 + 1), big.allocI32(N2 * N2), null, big.allocI32(4)] as const;
    for (const cap of [nnz, nnz - 1, 9000, 9362, 9363]) {
      assert.equal(big.csr(w, N2, 8, cap, ...args), nnz <= cap, `cap ${cap} of ${nnz} entries`);
    }
  }
  // Active units: any row above the threshold.
  const B = 3;
  const a = k.alloc(B * N);
  for (let i = 0; i < B * N; i++) a[i] = rng.uniform() - 0.8;
  a[2 * N + 4] = NaN;
  const mark = k.allocI32(N + 4).fill(9);
  assert.equal(k.markActive(a, 0, B, N, 0, mark, 4), true);
  for (let j = 0; j < N; j++) {
    let any = false;
    for (let b = 0; b < B; b++) if (a[b * N + j] > 0) any = true;
    assert.equal(mark[4 + j], any ? -1 : 0, `unit ${j}`);
  }
  assert.equal(mark[0], 9, 'before the offset untouched');
});

test('the row-list and count kernels write what buildRowLists and countAbove write (at offsets, thresholds of both signs, NaN silent)', { skip: !simdSupported() }, () => {
  const B = 7, N = 44;
  const k = new SimdGemm(16 * B * N + 512, gemmNT);
  const rng = new Rng(12, 'test:rowlists');
  for (const th of [0.2, 0, -0.3]) {
    const a = k.alloc(8 + B * N);
    for (let i = 0; i < a.length; i++) a[i] = rng.uniform() * 2 - 1;
    a[8 + 3] = NaN;
    const r = k.alloc(8 + B * N);
    for (let i = 0; i < a.length; i++) r[i] = a[i] > th ? a[i] : 0;
    const S = 4 * B + 1;
    const idx1 = new Int32Array(4 + B * N), vals1 = new Float32Array(4 + B * N), st1 = new Int32Array(2 + S);
    const n1 = buildRowLists(a, r, 8, B, N, th, idx1, vals1, 4, st1, 2);
    const idx2 = k.allocI32(4 + B * N), vals2 = k.alloc(4 + B * N), st2 = k.allocI32(2 + S), count = k.allocI32(4);
    assert.equal(k.rowLists(a, r, 8, B, N, th, idx2, vals2, 4, st2, 2, count), n1, `threshold ${th}: entries`);
    assert.deepEqual(Array.from(st2), Array.from(st1), `threshold ${th}: starts`);
    assert.deepEqual(Array.from(idx2.subarray(0, 4 + n1)), Array.from(idx1.subarray(0, 4 + n1)), `threshold ${th}: columns`);
    assert.deepEqual(Array.from(vals2.subarray(0, 4 + n1)), Array.from(vals1.subarray(0, 4 + n1)), `threshold ${th}: states`);
    assert.equal(countAbove(a, 8, B * N, th), n1, `threshold ${th}: countAbove`);
    assert.equal(k.countAbove(a, 8, B * N, th, count), n1, `threshold ${th}: count kernel`);
    assert.equal(k.countAbove(a, 8, 12, th, count), countAbove(a, 8, 12, th), `threshold ${th}: count kernel, one row part`);
  }
  assert.equal(k.countAbove(k.alloc(12), 2, 8, 0, k.allocI32(4)), null, 'offset not a multiple of 4');
  assert.equal(k.rowLists(k.alloc(12), k.alloc(12), 0, 2, 6, 0, k.allocI32(12), k.alloc(12), 0, k.allocI32(9), 0, k.allocI32(4)), null, 'N not a multiple of 4');
});
