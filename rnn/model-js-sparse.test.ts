/**
 * The `js` backend's sparse path: CSR recurrent products (chosen from the zeros of W_eff) and the
 * weight gradient at the entries of a recurrent mask hint only (sampled product), against the
 * dense path and the float64 reference, with SIMD and scalar kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend, setSimdEnabled, setSparseMode } from './model-js.js';
import { referenceLossAndGrad, toParams64 } from './reference-testing.js';
import { SimdGemm, sddmmScalar, simdSupported, spmmScalar } from './model-js-simd.js';
import { gemmNT } from './model-js.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { Rng } from './rng.js';
import { PARAM_NAMES, type Batch, type ModelConfig, type Params, type Rule, type Fidelity } from './types.js';
import { celltypeLayout } from '../celltype/populations.js';
import { pruneCelltype } from '../celltype/connectivity.js';

/** A block mask on [N, N]: blocks of `bs` × `bs`, every third block empty, the others kept with probability p. */
function blockMask(N: number, bs: number, seed: number, p = 0.3): Float32Array {
  const rng = new Rng(seed, 'test:blockmask');
  const m = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const blk = Math.floor(i / bs) * 7 + Math.floor(j / bs);
      if (blk % 3 !== 0 && rng.uniform() < p) m[i * N + j] = 1;
    }
  }
  return m;
}

function maskedCase(rule: Rule, fidelity: Fidelity, N: number, B: number, T: number, mask: Float32Array, seed = 4) {
  const nIn = 3;
  const nOut = 2;
  const cfg = defaultModelConfig({ nHidden: N, nInput: nIn, nOutput: nOut, rule, fidelity, head: 'linear' });
  const params = initParams(cfg, seed);
  for (const k of PARAM_NAMES) for (let i = 0; i < params[k].length; i++) params[k][i] *= 3;
  for (let k = 0; k < mask.length; k++) if (mask[k] === 0) params.wHh[k] = 0;
  const rng = new Rng(seed, 'test:sparse');
  const batch: Batch = {
    B,
    T,
    x: rng.fillUniform(new Float32Array(B * T * nIn), -1, 1),
    target: rng.fillUniform(new Float32Array(B * T * nOut), -1, 1),
  };
  return { cfg, params, batch };
}

function run(cfg: ModelConfig, params: Params, batch: Batch, mask?: Float32Array): { loss: number; g: Params } {
  const g = zerosLike(params);
  const r = jsBackend.lossAndGrad(cfg, params, batch, g, mask === undefined ? undefined : { recurrent: mask });
  return { loss: r.loss, g };
}

const close = (a: number, b: number, tol = 1e-4): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

for (const { rule, fidelity } of [
  { rule: 'dale' as Rule, fidelity: 'corrected' as Fidelity },
  { rule: 'rectified' as Rule, fidelity: 'corrected' as Fidelity },
  { rule: 'conventional' as Rule, fidelity: 'corrected' as Fidelity },
]) {
  test(`sparse path (${rule}/${fidelity}): CSR products and masked gradient match the reference and the dense path`, () => {
    const N = 21;
    const mask = blockMask(N, 3, 1);
    // B = 37: the wide SIMD chunk (32), a 4-wide chunk and a scalar remainder.
    const c = maskedCase(rule, fidelity, N, 37, 4, mask);
    const ref = referenceLossAndGrad(c.cfg, toParams64(c.params), c.batch, true);
    try {
      for (const simd of [true, false]) {
        setSimdEnabled(simd);
        setSparseMode('never');
        const dense = run(c.cfg, c.params, c.batch);
        setSparseMode('always');
        const sparseFull = run(c.cfg, c.params, c.batch); // CSR products, dense weight gradient
        const sparseMasked = run(c.cfg, c.params, c.batch, mask); // CSR products, gradient at mask entries
        for (const r of [dense, sparseFull, sparseMasked]) assert.ok(close(r.loss, ref.loss, 1e-5), `loss ${r.loss} vs ${ref.loss}`);
        for (const k of PARAM_NAMES) {
          for (let i = 0; i < c.params[k].length; i++) {
            const want = ref.grads![k][i];
            assert.ok(close(dense.g[k][i], want), `dense ${k}[${i}] simd=${simd}`);
            assert.ok(close(sparseFull.g[k][i], want), `sparse ${k}[${i}] simd=${simd}: ${sparseFull.g[k][i]} vs ${want}`);
            if (k === 'wHh' && mask[i] === 0) assert.ok(sparseMasked.g.wHh[i] === 0, `masked entry wHh[${i}] must be 0`);
            else assert.ok(close(sparseMasked.g[k][i], want), `masked ${k}[${i}] simd=${simd}: ${sparseMasked.g[k][i]} vs ${want}`);
          }
        }
        // Entries outside the mask really have a nonzero gradient (the hint changes them), except
        // under rectified/corrected, where dW~ = dW_eff·D·sign(W~) vanishes at W~ = 0 anyway.
        let outside = 0;
        for (let i = 0; i < mask.length; i++) if (mask[i] === 0 && Math.abs(ref.grads!.wHh[i]) > 1e-6) outside++;
        assert.ok(rule === 'rectified' ? outside === 0 : outside > 0);
        // The same loss through evaluate.
        assert.equal(jsBackend.evaluate(c.cfg, c.params, c.batch).loss, sparseMasked.loss);
      }
    } finally {
      setSimdEnabled(true);
      setSparseMode('auto');
    }
  });
}

test('sparse path: auto mode picks CSR for a sparse W_hh (same bits as always) and is bit-identical across fresh buffers', () => {
  const N = 24;
  const mask = blockMask(N, 4, 2, 0.15); // ~10% kept: below SPARSE_MAX_DENSITY
  const c = maskedCase('dale', 'corrected', N, 9, 5, mask);
  try {
    setSparseMode('always');
    const always = run(c.cfg, c.params, c.batch, mask);
    setSparseMode('auto');
    const auto = run(c.cfg, c.params, c.batch, mask);
    setSimdEnabled(true); // clears the buffer cache
    const fresh = run(c.cfg, c.params, c.batch, mask);
    for (const r of [auto, fresh]) {
      assert.equal(r.loss, always.loss);
      for (const k of PARAM_NAMES) assert.deepEqual(r.g[k], always.g[k]);
    }
  } finally {
    setSparseMode('auto');
  }
});

test('a recurrent mask hint is staged once while it stays the same, and again when it changes in place or the sparse mode changes', () => {
  const N = 24;
  const maskA = blockMask(N, 4, 3, 0.15);
  const maskB = blockMask(N, 4, 4, 0.15);
  const c = maskedCase('dale', 'corrected', N, 9, 5, maskA);
  const fresh = (mask: Float32Array): { loss: number; g: Params } => {
    setSimdEnabled(true); // clears the buffer cache
    return run(c.cfg, c.params, c.batch, mask);
  };
  const same = (x: { loss: number; g: Params }, y: { loss: number; g: Params }): boolean =>
    x.loss === y.loss && PARAM_NAMES.every((k) => Buffer.from(x.g[k].buffer).equals(Buffer.from(y.g[k].buffer)));
  try {
    const a = fresh(maskA), b = fresh(maskB);
    assert.ok(!same(a, b), 'the two masks give different gradients');
    const m = maskA.slice();
    assert.ok(same(run(c.cfg, c.params, c.batch, m), a) && same(run(c.cfg, c.params, c.batch, m), a));
    m.set(maskB); // the same array, changed in place
    assert.ok(same(run(c.cfg, c.params, c.batch, m), b), 'a mask changed in place is staged again');
    setSparseMode('never'); // (the mask's CSR is not used: the dense weight gradient, masked by nobody)
    const dense = run(c.cfg, c.params, c.batch, m);
    assert.ok(!same(dense, b));
    setSparseMode('auto');
    assert.ok(same(run(c.cfg, c.params, c.batch, m), b));
    // A mask too dense for the CSR under 'auto' gets one under 'always' (another cap).
    const dense90 = new Float32Array(N * N).map((_, i) => (i % 10 === 0 ? 0 : 1));
    const auto90 = run(c.cfg, c.params, c.batch, dense90);
    setSparseMode('always');
    const always90 = run(c.cfg, c.params, c.batch, dense90);
    assert.ok(auto90.g.wHh.some((v, i) => dense90[i] === 0 && v !== 0), 'auto: the dense weight gradient');
    assert.ok(always90.g.wHh.every((v, i) => dense90[i] !== 0 || v === 0), 'always: the gradient at the mask entries only');
  } finally {
    setSparseMode('auto');
  }
});

test('sparse path on the pruned cell-type mask (N = 90): masked gradient equals the reference inside the mask', () => {
  const layout = celltypeLayout(1);
  const N = layout.N;
  const rng = new Rng(3, 'test:celltype-w');
  const w = rng.fillUniform(new Float32Array(N * N), -1, 1);
  const mask = pruneCelltype(layout, w, 3, 3, 'corrected').mask;
  const c = maskedCase('dale', 'corrected', N, 6, 4, mask, 5);
  const ref = referenceLossAndGrad(c.cfg, toParams64(c.params), c.batch, true);
  const r = run(c.cfg, c.params, c.batch, mask); // auto: the pruned mask is far below the density limit
  assert.ok(close(r.loss, ref.loss, 1e-5));
  for (let i = 0; i < N * N; i++) {
    if (mask[i] === 0) assert.ok(r.g.wHh[i] === 0);
    else assert.ok(close(r.g.wHh[i], ref.grads!.wHh[i]), `wHh[${i}]: ${r.g.wHh[i]} vs ${ref.grads!.wHh[i]}`);
  }
  for (const k of ['wIn', 'bIn', 'wOut'] as const) {
    for (let i = 0; i < c.params[k].length; i++) assert.ok(close(r.g[k][i], ref.grads![k][i]), `${k}[${i}]`);
  }
});

test('spmm and sddmm SIMD kernels agree with their scalar definitions', { skip: !simdSupported() }, () => {
  const nRows = 11;
  const nX = 13;
  const ldx = 48;
  const nb = 45;
  const rng = new Rng(7, 'test:spmm');
  const k = new SimdGemm(4096 * 4, gemmNT, true);
  const rp = k.allocI32(nRows + 1);
  const cols = k.allocI32(nRows * nX);
  const vals = k.alloc(nRows * nX);
  let e = 0;
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nX; j++) {
      if (rng.uniform() < 0.4) {
        cols[e] = j * ldx;
        vals[e] = rng.uniform() * 2 - 1;
        e++;
      }
    }
    rp[i + 1] = e;
  }
  const x = k.alloc(4 + nX * ldx);
  rng.fillUniform(x, -1, 1);
  for (const acc of [false, true]) {
    const out = k.alloc(nb * nRows + 5);
    rng.fillUniform(out, -1, 1);
    const want = Float32Array.from(out);
    spmmScalar(rp, cols, vals, nRows, x, 4, 0, nb, want, 2, nRows, acc);
    k.spmm(rp, cols, vals, nRows, x, 4, nb, out, 2, nRows, acc);
    assert.deepEqual(out, want); // same float32 operations in the same order
  }
  const len = 36;
  const a = k.alloc(nRows * len);
  rng.fillUniform(a, -1, 1);
  const g = k.alloc(e);
  rng.fillUniform(g, -1, 1);
  const want = Float32Array.from(g);
  sddmmScalar(rp, cols, want, nRows, a, 0, len, x, 4);
  k.sddmm(rp, cols, g, nRows, a, 0, len, x, 4);
  for (let q = 0; q < e; q++) assert.ok(Math.abs(g[q] - want[q]) < 1e-5, `g[${q}]: ${g[q]} vs ${want[q]}`);
});
