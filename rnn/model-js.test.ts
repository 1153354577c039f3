import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ShapeError,
  fastTanh,
  gemmNT,
  gemmTN,
  jsBackend,
  packInputs,
  setGradFlush,
  setSimdEnabled,
} from './model-js.js';
import { GRAD_FLUSH, SimdGemm, TN_CHUNK, fmaSupported, kernelArithmetic, setKernelArithmetic, simdSupported, type Arithmetic } from './model-js-simd.js';
import { referenceLossAndGrad, toParams64, type Params64 } from './reference-testing.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { Rng } from './rng.js';
import { PARAM_NAMES, type Batch, type Head, type ModelConfig, type Params, type Rule, type Fidelity } from './types.js';
import { fdGrad } from './grad-testing.js';

const COMBOS: { rule: Rule; fidelity: Fidelity }[] = [
  { rule: 'conventional', fidelity: 'corrected' },
  { rule: 'dale', fidelity: 'corrected' },
  { rule: 'rectified', fidelity: 'paper-code' },
  { rule: 'rectified', fidelity: 'corrected' },
];
const HEADS: Head[] = ['linear', 'tanh', 'softmax-last', 'wave-ei'];

function makeCase(rule: Rule, fidelity: Fidelity, head: Head, seed: number, N = 8, B = 4, T = 5, nIn = 4, threshold = 0) {
  const nOut = head === 'softmax-last' ? 3 : head === 'wave-ei' ? 2 : 2;
  const cfg = defaultModelConfig({ nHidden: N, nInput: nIn, nOutput: nOut, rule, fidelity, head, threshold });
  const params = initParams(cfg, seed);
  const rng = new Rng(seed, 'test:case');
  // Larger weights than the default init so the dynamics are non-trivial.
  for (const k of PARAM_NAMES) for (let i = 0; i < params[k].length; i++) params[k][i] *= 3;
  if (head === 'wave-ei') for (let i = 0; i < N; i++) { if (i >= cfg.nExc) params.wOut[i] = 0; else params.wOut[N + i] = 0; }
  const x = rng.fillUniform(new Float32Array(B * T * nIn), -1, 1);
  const batch: Batch = { B, T, x, target: new Float32Array(0) };
  if (head === 'softmax-last') batch.labels = Int32Array.from({ length: B }, () => rng.int(nOut));
  else batch.target = rng.fillUniform(new Float32Array(B * T * nOut), -1, 1);
  return { cfg, params, batch };
}

/** The arithmetics this runtime runs the SIMD kernels with. */
const ARITHMETICS: Arithmetic[] = fmaSupported() ? ['mul-add', 'fma'] : ['mul-add'];

/** The float32 after (`dir` 1) or before (-1) the finite float32 `x`. */
function nextFloat32(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 2 ** -149;
  const b = new Float32Array([x]);
  const u = new Int32Array(b.buffer);
  u[0] += (x > 0) === (dir > 0) ? 1 : -1;
  return b[0];
}

/**
 * Correctly rounded float32 fused multiply-add a·b + c of float32 values: the product is exact in
 * float64, the sum's float64 rounding error e is recovered exactly (TwoSum), and a float64 sum
 * that lands exactly on a float32 midpoint is rounded towards the side e points to.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const e = (p - (s - bb)) + (c - bb);
  const r = Math.fround(s);
  if (e === 0 || r === s || !Number.isFinite(r)) return r;
  const other = nextFloat32(r, r > s ? -1 : 1);
  if ((r + other) / 2 !== s) return r; // not a midpoint: the float64 rounding did not matter
  return e > 0 ? Math.max(r, other) : Math.min(r, other);
}

/** One multiply-add of a kernel lane in `arith`: fused, or float32 product then float32 sum. */
const madd = (arith: Arithmetic, a: number, b: number, c: number): number => (arith === 'fma' ? fma32(a, b, c) : Math.fround(c + Math.fround(a * b)));

/**
 * Deterministically pick a seed whose activations are at least `margin` away from the
 * rectification threshold and, for rectified/corrected, whose W~ entries are at least `margin`
 * away from 0 (|.| kink): finite differences are only valid away from kinks.
 */
function smoothCase(rule: Rule, fidelity: Fidelity, head: Head, threshold = 0) {
  const margin = 2e-3;
  for (let seed = 1; seed < 500; seed++) {
    const c = makeCase(rule, fidelity, head, seed, 8, 4, 5, 4, threshold);
    const ref = referenceLossAndGrad(c.cfg, toParams64(c.params), c.batch, false);
    const minAbsW = Math.min(...Array.from(c.params.wHh, Math.abs));
    if (ref.kinkDistance > margin && (!(rule === 'rectified' && fidelity === 'corrected') || minAbsW > margin)) return c;
  }
  throw new Error('no smooth case found');
}

for (const { rule, fidelity } of COMBOS) {
  for (const head of HEADS) {
    test(`gradients: ${rule}/${fidelity}, head ${head}: float64 reference and fast kernel match central differences`, () => {
      const { cfg, params, batch } = smoothCase(rule, fidelity, head);
      const p64 = toParams64(params);
      const fd = fdGrad(cfg, p64, batch, 1e-6);
      const ref = referenceLossAndGrad(cfg, p64, batch, true);
      const grads = zerosLike(params);
      const fast = jsBackend.lossAndGrad(cfg, params, batch, grads);
      assert.ok(Math.abs(fast.loss - ref.loss) <= 1e-5 * Math.max(1, ref.loss), `loss ${fast.loss} vs ${ref.loss}`);
      if (head === 'softmax-last') assert.equal(fast.correct, ref.correct);
      let anyNonZero = false;
      for (const k of PARAM_NAMES) {
        const scale = Math.max(1e-3, ...Array.from(fd[k], Math.abs));
        for (let i = 0; i < fd[k].length; i++) {
          const want = fd[k][i];
          const r = ref.grads![k][i];
          assert.ok(Math.abs(r - want) <= 1e-7 + 1e-6 * Math.abs(want), `reference ${k}[${i}]: ${r} vs fd ${want}`);
          const f = grads[k][i];
          assert.ok(Math.abs(f - want) <= 5e-4 * scale, `fast ${k}[${i}]: ${f} vs fd ${want} (scale ${scale})`);
          if (want !== 0) anyNonZero = true;
        }
      }
      assert.ok(anyNonZero);
    });
  }
}

test('gradients: dale with threshold 0.1 match central differences', () => {
  const { cfg, params, batch } = smoothCase('dale', 'corrected', 'linear', 0.1);
  const p64 = toParams64(params);
  const fd = fdGrad(cfg, p64, batch, 1e-6);
  const grads = zerosLike(params);
  jsBackend.lossAndGrad(cfg, params, batch, grads);
  for (const k of PARAM_NAMES) {
    const scale = Math.max(1e-3, ...Array.from(fd[k], Math.abs));
    for (let i = 0; i < fd[k].length; i++) assert.ok(Math.abs(grads[k][i] - fd[k][i]) <= 5e-4 * scale, `${k}[${i}]`);
  }
});

test('SIMD (each arithmetic) and scalar kernels agree with the reference on odd shapes', () => {
  for (const [N, B, T, nIn] of [[7, 3, 4, 3], [9, 5, 3, 1], [12, 6, 2, 8], [5, 1, 1, 2]]) {
    const c = makeCase('dale', 'corrected', 'tanh', 3, N, B, T, nIn);
    const ref = referenceLossAndGrad(c.cfg, toParams64(c.params), c.batch, true);
    const out: [string, Params][] = [];
    const arithBefore = kernelArithmetic();
    for (const kind of [...ARITHMETICS, 'scalar'] as const) {
      setSimdEnabled(kind !== 'scalar');
      if (kind !== 'scalar') setKernelArithmetic(kind);
      const g = zerosLike(c.params);
      const r = jsBackend.lossAndGrad(c.cfg, c.params, c.batch, g);
      assert.ok(Math.abs(r.loss - ref.loss) < 1e-5);
      out.push([kind, g]);
    }
    setSimdEnabled(true);
    setKernelArithmetic(arithBefore);
    for (const [kind, g] of out) for (const k of PARAM_NAMES) {
      for (let i = 0; i < g[k].length; i++) {
        const want = ref.grads![k][i];
        assert.ok(Math.abs(g[k][i] - want) < 1e-4 * Math.max(1, Math.abs(want)), `${kind} ${k}[${i}] N=${N} B=${B}`);
      }
    }
  }
});

test('evaluate equals the lossAndGrad loss, and repeated calls reuse buffers without changing results', () => {
  const c = makeCase('rectified', 'corrected', 'softmax-last', 5);
  const g1 = zerosLike(c.params);
  const g2 = zerosLike(c.params);
  const r1 = jsBackend.lossAndGrad(c.cfg, c.params, c.batch, g1);
  const ev = jsBackend.evaluate(c.cfg, c.params, c.batch);
  const r2 = jsBackend.lossAndGrad(c.cfg, c.params, c.batch, g2);
  assert.equal(ev.loss, r1.loss);
  assert.equal(ev.correct, r1.correct);
  assert.equal(r2.loss, r1.loss);
  for (const k of PARAM_NAMES) assert.deepEqual(g2[k], g1[k]);
});

test('shape errors name the offending field', () => {
  const c = makeCase('dale', 'corrected', 'linear', 1);
  const bad = { ...c.params, wHh: new Float32Array(3) };
  assert.throws(() => jsBackend.lossAndGrad(c.cfg, bad, c.batch, zerosLike(c.params)), (e: unknown) => e instanceof ShapeError && /params\.wHh/.test(e.message));
  const cls = makeCase('dale', 'corrected', 'softmax-last', 1);
  const noLabels: Batch = { ...cls.batch, labels: undefined };
  assert.throws(() => jsBackend.evaluate(cls.cfg, cls.params, noLabels), ShapeError);
});

test('fastTanh is within 3e-7 of Math.tanh, odd, and exactly ±1 from the clamp on', () => {
  for (let x = -20; x <= 20; x += 0.001) {
    assert.ok(Math.abs(fastTanh(x) - Math.tanh(x)) < 3e-7, `x=${x}`);
    assert.equal(fastTanh(-x), -fastTanh(x));
    if (Math.abs(x) >= 7.90531110763549805) assert.equal(fastTanh(x), Math.sign(x));
  }
  assert.ok(Number.isNaN(fastTanh(Number.NaN)));
});

test('gemmNT computes C = A B^T with offsets and strides, overwrite and accumulate', () => {
  const rng = new Rng(9, 'test:gemm');
  const M = 5, Nc = 7, K = 6;
  const A = rng.fillUniform(new Float32Array(2 + M * 8), -1, 1);
  const Bm = rng.fillUniform(new Float32Array(1 + Nc * 9), -1, 1);
  const C = new Float32Array(3 + M * 10).fill(1);
  gemmNT(M, Nc, K, A, 2, 8, Bm, 1, 9, C, 3, 10, true);
  for (let m = 0; m < M; m++) for (let n = 0; n < Nc; n++) {
    let s = 1;
    for (let k = 0; k < K; k++) s += A[2 + m * 8 + k] * Bm[1 + n * 9 + k];
    assert.ok(Math.abs(C[3 + m * 10 + n] - s) < 1e-5);
  }
  assert.equal(C[0], 1);
});

test('gemmTN computes C = Aᵀ B with offsets and strides; the SIMD kernel (chunked over s) agrees', () => {
  const rng = new Rng(11, 'test:gemmTN');
  // K spans several chunks of the SIMD kernel; M and Nc leave edges for the scalar code.
  const M = 13, Nc = 19, K = 3 * TN_CHUNK + 7, lda = 15, ldb = 21, ldc = 20;
  const kern = new SimdGemm(4 * (2 + K * lda + 1 + K * ldb + 3 + M * ldc + 64), gemmNT, true);
  const A = kern.alloc(2 + K * lda);
  const Bm = kern.alloc(1 + K * ldb);
  const C = kern.alloc(3 + M * ldc);
  rng.fillUniform(A, -1, 1);
  rng.fillUniform(Bm, -1, 1);
  const want = (i: number, j: number, base: number): number => {
    let s = base;
    for (let k = 0; k < K; k++) s += A[2 + k * lda + i] * Bm[1 + k * ldb + j];
    return s;
  };
  for (const acc of [false, true]) {
    const Cs = new Float32Array(3 + M * ldc).fill(1);
    C.fill(1);
    gemmTN(M, Nc, K, A, 2, lda, Bm, 1, ldb, Cs, 3, ldc, acc);
    kern.gemmTN(M, Nc, K, A, 2, lda, Bm, 1, ldb, C, 3, ldc, acc);
    for (let i = 0; i < M; i++) for (let j = 0; j < Nc; j++) {
      const w = want(i, j, acc ? 1 : 0);
      assert.ok(Math.abs(Cs[3 + i * ldc + j] - w) < 1e-5, `scalar [${i}, ${j}]`);
      assert.ok(Math.abs(C[3 + i * ldc + j] - w) < 2e-5, `kernel [${i}, ${j}] acc=${acc}: ${C[3 + i * ldc + j]} vs ${w}`);
    }
    assert.equal(C[0], 1);
    assert.equal(Cs[0], 1);
  }
});

test('the SIMD gemmNT block kernel sums in its documented order: per output, lane l multiply-adds k = l (mod 4) in float32 (fused or not), then (l0 + l1) + (l2 + l3), then C', { skip: !simdSupported() }, () => {
  const rng = new Rng(13, 'test:gemmNT-order');
  const f = Math.fround;
  // [4, 100, 1440, …]: B's rows exceed a column block (NT_BLOCK_BYTES): blocks of 32, 32, 32 and 4 columns.
  for (const arith of ARITHMETICS) for (const [M, Nc, K, lda, ldb, ldc] of [[6, 8, 12, 13, 16, 9], [4, 12, 128, 128, 128, 12], [2, 4, 4, 4, 4, 4], [4, 100, 1440, 1440, 1440, 103]]) {
    const kern = new SimdGemm(4 * (M * lda + Nc * ldb + M * ldc + 64), gemmNT, true, { arithmetic: arith });
    const A = kern.alloc(1 + M * lda);
    const Bm = kern.alloc(3 + Nc * ldb);
    const C = kern.alloc(2 + M * ldc);
    rng.fillUniform(A, -1, 1);
    rng.fillUniform(Bm, -1, 1);
    for (const acc of [false, true]) {
      rng.fillUniform(C, -1, 1);
      const C0 = Float32Array.from(C);
      kern.gemm(M, Nc, K, A, 1, lda, Bm, 3, ldb, C, 2, ldc, acc);
      for (let m = 0; m < M; m++) for (let n = 0; n < Nc; n++) {
        const lanes = [0, 0, 0, 0];
        for (let k = 0; k < K; k++) lanes[k & 3] = madd(arith, A[1 + m * lda + k], Bm[3 + n * ldb + k], lanes[k & 3]);
        let s = f(f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3])));
        if (acc) s = f(C0[2 + m * ldc + n] + s);
        assert.ok(Object.is(C[2 + m * ldc + n], s), `${arith} M=${M} K=${K} acc=${acc} [${m}, ${n}]: ${C[2 + m * ldc + n]} vs ${s}`);
      }
    }
  }
});

test('the SIMD gemmTN block kernel sums in its documented order (A packed or read in place): per output, float32 multiply-adds (fused or not) over s within each chunk of TN_CHUNK samples, chunk sums added to C in order', { skip: !simdSupported() }, () => {
  const rng = new Rng(14, 'test:gemmTN-order');
  const f = Math.fround;
  for (const arith of ARITHMETICS) for (const [M, Nc, K, lda, ldb, ldc] of [[8, 16, 2 * TN_CHUNK + 9, 12, 20, 17], [4, 8, 5, 128, 128, 8], [128, 128, TN_CHUNK, 128, 128, 128], [12, 8, TN_CHUNK + 5, 14, 16, 15]]) {
    // (Nc = 8: one panel of B, A read in place; otherwise A packed.)
    const kern = new SimdGemm(K * lda + K * ldb + M * ldc + 64 + 4 * TN_CHUNK * (Nc + 4), gemmNT, true, { arithmetic: arith });
    const A = kern.alloc(K * lda);
    const Bm = kern.alloc(2 + K * ldb);
    const C = kern.alloc(1 + M * ldc);
    rng.fillUniform(A, -1, 1);
    rng.fillUniform(Bm, -1, 1);
    for (const acc of [false, true]) {
      rng.fillUniform(C, -1, 1);
      const C0 = Float32Array.from(C);
      kern.gemmTN(M, Nc, K, A, 0, lda, Bm, 2, ldb, C, 1, ldc, acc);
      for (let i = 0; i < M; i++) for (let j = 0; j < Nc; j++) {
        let c = acc ? C0[1 + i * ldc + j] : 0;
        for (let s0 = 0; s0 < K; s0 += TN_CHUNK) {
          let part = 0;
          for (let s = s0; s < Math.min(K, s0 + TN_CHUNK); s++) part = madd(arith, A[s * lda + i], Bm[2 + s * ldb + j], part);
          c = s0 === 0 && !acc ? part : f(c + part);
        }
        assert.ok(Object.is(C[1 + i * ldc + j], c), `${arith} M=${M} K=${K} acc=${acc} [${i}, ${j}]: ${C[1 + i * ldc + j]} vs ${c}`);
      }
    }
  }
});

test('SIMD tanh/rectification and BPTT elementwise kernels match their definitions', { skip: !simdSupported() }, () => {
  const rng = new Rng(12, 'test:elementwise');
  const rows = 5, N = 12, nOut = 3, dzStride = 8, n = 203, th = 0.1;
  // tanh within 4e-7 in either arithmetic (its Horner steps are fused in `fma`).
  for (const arithmetic of ARITHMETICS) {
    const k2 = new SimdGemm(4096, gemmNT, true, { arithmetic });
    const a = k2.alloc(n + 2);
    const r = k2.alloc(n + 2);
    for (let k = 0; k < a.length; k++) a[k] = (k - 100) / 12;
    const a0 = Float32Array.from(a);
    const done = k2.act(a, r, 2, n, th, true);
    assert.equal(done, n & ~3);
    for (let k = 2; k < 2 + done; k++) {
      assert.ok(Math.abs(a[k] - Math.tanh(a0[k])) < 4e-7, `${arithmetic} tanh(${a0[k]})`);
      // Saturated: exactly ±1 from the clamp on (so 1 − a² passes no spurious derivative).
      if (Math.abs(a0[k]) >= 7.90531110763549805) assert.equal(a[k], Math.sign(a0[k]), `${arithmetic} tanh(${a0[k]}) is not ±1`);
      assert.equal(r[k], a[k] > th ? a[k] : 0);
    }
    assert.equal(a[2 + done], a0[2 + done]); // the tail is left to the caller
  }
  const kern = new SimdGemm(4096, gemmNT, true);
  const dPre = kern.alloc(4 + rows * N);
  const act = kern.alloc(4 + rows * N);
  const dr = kern.alloc(rows * N);
  const dz = kern.alloc(2 + rows * dzStride);
  const w = kern.alloc(nOut * N);
  for (const x of [act, dr, dz, w]) rng.fillUniform(x, -1, 1);
  dr[3] = NaN;
  // flush 0 keeps every value; flush 0.25 stores |dPre| < 0.25 as 0 and keeps NaN.
  for (const flush of [0, 0.25]) {
    let flushed = 0;
    for (let flags = 1; flags < 8; flags++) {
      const head = (flags & 1) !== 0, rec = (flags & 2) !== 0, rect = (flags & 4) !== 0;
      assert.ok(kern.bwd(dPre, act, 4, dr, dz, 2, dzStride, w, rows, N, nOut, th, head, rec, rect, flush));
      for (let b = 0; b < rows; b++) for (let i = 0; i < N; i++) {
        const av = act[4 + b * N + i];
        let v = 0;
        if (head) for (let o = 0; o < nOut; o++) v += dz[2 + b * dzStride + o] * w[o * N + i];
        if (rec && (!rect || av > th)) v += dr[b * N + i];
        v *= 1 - av * av;
        const got = dPre[4 + b * N + i];
        if (Number.isNaN(v)) assert.ok(Number.isNaN(got), `flags ${flags} [${b}, ${i}]: NaN kept`);
        else if (Math.abs(Math.abs(v) - flush) < 1e-6) continue; // at the threshold: rounding decides
        else if (Math.abs(v) < flush) { assert.equal(got, 0, `flags ${flags} [${b}, ${i}] flushed`); flushed++; }
        else assert.ok(Math.abs(got - v) < 1e-6, `flags ${flags} [${b}, ${i}]`);
      }
    }
    assert.equal(flushed > 0, flush > 0);
  }
  assert.equal(kern.bwd(dPre, act, 0, dr, dz, 0, dzStride, w, rows, 10, nOut, th, true, true, true, 0), false); // N % 4 ≠ 0
});

test('the SIMD input-packing kernel writes exactly what packInputs writes (odd shapes, padding untouched)', { skip: !simdSupported() }, () => {
  const rng = new Rng(13, 'test:pack');
  for (const [B, T, nIn] of [[1, 1, 1], [3, 5, 1], [7, 2, 3], [5, 4, 28], [2, 3, 9]]) {
    const nInP = (nIn + 1 + 7) & ~7;
    const TB = T * B;
    const kern = new SimdGemm(16384, gemmNT, true);
    const x = rng.fillUniform(kern.alloc(TB * nIn), -2, 2);
    x[0] = -0; // signed zero and a NaN pattern survive the copy
    if (x.length > 1) x[1] = NaN;
    const xa = kern.alloc(TB * nInP).fill(7);
    const xaT = kern.alloc((nIn + 1) * TB).fill(7);
    assert.ok(kern.packInput(x, xa, xaT, B, T, nIn, nInP));
    const xaRef = new Float32Array(TB * nInP).fill(7);
    const xaTRef = new Float32Array((nIn + 1) * TB).fill(7);
    packInputs(Float32Array.from(x), B, T, nIn, nInP, xaRef, xaTRef);
    assert.deepEqual(new Uint32Array(xa.slice().buffer), new Uint32Array(xaRef.buffer), `xa B=${B} T=${T} nIn=${nIn}`);
    assert.deepEqual(new Uint32Array(xaT.slice().buffer), new Uint32Array(xaTRef.buffer), `xaT B=${B} T=${T} nIn=${nIn}`);
    // The layout itself: row t·B + b of xa is x[b, t, :] then 1; padding keeps its old value.
    const b = B - 1, t = T - 1, s = t * B + b;
    assert.equal(xa[s * nInP + nIn - 1], x[(b * T + t) * nIn + nIn - 1]);
    assert.equal(xa[s * nInP + nIn], 1);
    assert.equal(xaT[nIn * TB + s], 1);
    if (nInP > nIn + 1) assert.equal(xa[s * nInP + nIn + 1], 7);
  }
  // Arrays outside the kernel's memory: nothing done, the caller copies.
  const kern = new SimdGemm(1024, gemmNT, true);
  assert.equal(kern.packInput(new Float32Array(4), kern.alloc(32), kern.alloc(8), 2, 2, 1, 8), false);
});

test('lossAndGrad is bit-identical across fresh work buffers', () => {
  const c = makeCase('dale', 'corrected', 'tanh', 7, 16, 6, 9, 3);
  const runOnce = (): Params => {
    setSimdEnabled(true); // clears the buffer cache
    const g = zerosLike(c.params);
    jsBackend.lossAndGrad(c.cfg, c.params, c.batch, g);
    return g;
  };
  const g1 = runOnce();
  const g2 = runOnce();
  for (const k of PARAM_NAMES) assert.deepEqual(g2[k], g1[k]);
});

test('flushing vanishing pre-activation gradients below GRAD_FLUSH leaves gradients and training bit-identical', () => {
  // Gradients that vanish through time: softmax-last head, T = 40, recurrent weights scaled so
  // that the backward map contracts at least 100-fold per step: dPre passes 2^-100 (flushed)
  // and, unflushed, decays through the float32 subnormal range to 0 before reaching t = 0.
  const N = 16, B = 8, T = 40;
  for (const simd of [true, false]) {
    setSimdEnabled(simd);
    for (const rule of ['conventional', 'dale'] as Rule[]) {
      const c = makeCase(rule, 'corrected', 'softmax-last', 5, N, B, T, 3);
      // max_j Σ_i |W_hh[i, j]| bounds the backward map (|W_eff| ≤ |W_hh| for every rule, |1 − a²| ≤ 1):
      // scaled to 1/100, dPre shrinks 100-fold per step back from its value at T − 1 (below 10).
      const colSum = (): number => {
        let m = 0;
        for (let j = 0; j < N; j++) { let s = 0; for (let i = 0; i < N; i++) s += Math.abs(c.params.wHh[i * N + j]); m = Math.max(m, s); }
        return m;
      };
      const scale = 0.01 / colSum();
      for (let i = 0; i < N * N; i++) c.params.wHh[i] *= scale;
      assert.ok(colSum() <= 0.0100001 && 10 * 0.0100001 ** 25 < GRAD_FLUSH); // flushed for t < T − 26
      const grads = (flush: boolean): Params => {
        setGradFlush(flush);
        const g = zerosLike(c.params);
        jsBackend.lossAndGrad(c.cfg, c.params, c.batch, g);
        return g;
      };
      const off = grads(false);
      const on = grads(true);
      for (const k of PARAM_NAMES) assert.deepEqual(on[k], off[k], `${rule} simd=${simd} ${k}`);
      // and still the float64 reference's gradient
      const ref = referenceLossAndGrad(c.cfg, toParams64(c.params), c.batch, true).grads!;
      let maxRel = 0;
      for (const k of PARAM_NAMES) for (let i = 0; i < on[k].length; i++) maxRel = Math.max(maxRel, Math.abs(on[k][i] - ref[k][i]) / (1e-6 + Math.abs(ref[k][i])));
      assert.ok(maxRel < 1e-3, `${rule} simd=${simd}: max relative deviation from the reference ${maxRel}`);
    }
  }
  setGradFlush(true);
  setSimdEnabled(true);
});

