/**
 * WebAssembly SIMD (f32x4) kernels for the `js` backend, emitted as bytecode here (no toolchain,
 * no binary blob). All operands are float32 row-major arrays that live in one `WebAssembly.Memory`
 * owned by a {@link SimdGemm}; the work buffers stay there across steps, so nothing is copied per
 * call. A large model's memory is shared (`shared: true`): helper threads bind the same kernels to
 * it ({@link SimdGemmOptions.attach}) and compute parts of its products (rnn/parallel-gemm.ts).
 * Kernels:
 *
 * - `gemmNT`: C[m, n] (+)= Σ_k A[m, k] · B[n, k] ("dot-product" form: 2×4 register block, 8 f32x4
 *   accumulators, horizontal sums at the end) on the block region M even, Nc and K multiples of 4,
 *   emitted per shape (strides and K as constants, one small module per shape, compiled once):
 *   every load is a moving pointer plus a constant offset (measured +6-8 % steps/s on the bench
 *   tasks, Node 20 and 24, CPU time), same summation order, so the same bits;
 * - `gemmTN`: C[i, j] (+)= Σ_s A[s, i] · B[s, j] ("outer-product" form: 4×8 register block,
 *   broadcast of A, contiguous rows of B) on the block region M a multiple of 4, Nc of 8; the
 *   JavaScript side runs it over chunks of {@link TN_CHUNK} values of s, so each output is a sum
 *   of chunk partial sums (bounded float32 rounding for long sums over T·B samples);
 * - `act`: a = tanh(a) in place (rational approximation in float32, absolute error ~3e-7) and,
 *   for rectifying rules, r = a·[a > threshold];
 * - `bwd`: the per-step elementwise part of BPTT, dPre = (dz·W_out + [a > th]·dr) · (1 − a²).
 *
 * The dense products and tanh multiply-add in the {@link Arithmetic} of the process: fused
 * (`f32x4.relaxed_madd`, where the runtime validates relaxed SIMD and the CPU fuses it: Node ≥ 22,
 * and Node 20 after the V8 flag is set here; measured +25-50 % GFLOP/s for the N = 128 products
 * on Zen 3, where a separate mul and add leave the core dispatch-bound) or not. Both are
 * deterministic; the mode is part of the code version (activities/code-version.ts), so results
 * of the two never mix.
 *
 * {@link SimdGemm} completes the edges (and runs everything when SIMD is unavailable or disabled)
 * with scalar JavaScript. Accumulation in the kernels is in float32 lanes, the precision of the
 * stored gradients anyway; all loops are sequential, so results are bit-identical run to run.
 *
 * The bytecode emitter is rnn/wasm-asm.ts; the activity-sparse kernels' bodies are
 * rnn/activity-kernels.ts and the lists they read rnn/activity-lists.ts. Why this file is still
 * over ~450 lines: the dense kernel bodies and the {@link SimdGemm} class that instantiates every
 * kernel and binds the scalar edges are one unit: the kernels' argument layouts, the export names
 * and the memory plan are agreed between them line by line.
 */

import { setFlagsFromString } from 'node:v8';
import {
  EVEN_LANES, F32, I32, ODD_LANES, OP, SIMD, V128, WA, Body, emitMadd, moduleBytes, uleb, type Arithmetic, type WasmMemory, type WasmModule,
} from './wasm-asm.js';
import {
  SPDW_BLOCK, SPFWD_SLAB, aboveCountBody, copy2dBody, csrRowsBody, filterColumnsBody, listCountBody, listScatterBody, nnzCountBody, orActiveBody, rowListsBody, spBwdBody, spDwBody, spFwdBody,
  transposeBody,
} from './activity-kernels.js';

export type { Arithmetic };

type ScalarGemm = (
  M: number, Nc: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  Bm: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  acc: boolean,
) => void;

/** Bytes of B's rows one gemmNT column block streams over all rows of A (sized for a 512 KB L2). */
const NT_BLOCK_BYTES = 196608;

/** Number of samples s per gemmTN chunk (partial sums per chunk, then added to C). */
export const TN_CHUNK = 128;
/** Entries per call of the nonzero count of {@link SimdGemm.csr} (a multiple of 4). */
const CSR_COUNT_BLOCK = 1 << 16;
/** Int32 entries per unit of a {@link SimdGemm.listsJob}'s description ({@link SimdGemm.describeLists}). */
export const LIST_DESC = 11;

/**
 * Pre-activation gradients smaller in magnitude than this (2^-100 ≈ 7.9e-31) are stored as 0 by
 * the backward pass. They arise when gradients vanish through time (sequential MNIST early in
 * training) and decay through the float32 subnormal range, where every product costs a microcode
 * assist (measured 3× slower kernels); their contributions to any weight gradient lie ~2^-85
 * below it, far under float32's resolution.
 */
export const GRAD_FLUSH = 2 ** -100;

/**
 * Floats of scratch memory {@link SimdGemm.gemmTN} uses for its tile panels when C has up to `cols`
 * columns and a chunk up to `rows` samples (default {@link TN_CHUNK}); include it in the capacity.
 */
export function tnScratchFloats(cols: number, rows = TN_CHUNK): number {
  return rows * ((cols & ~7) + 4);
}

/**
 * gemmNT specialised to one shape: (M, Nc, a, b, c), pointers in bytes, with the strides lda, ldb,
 * ldc and the inner length K (a multiple of 4) fixed when the kernel is emitted, so that every
 * operand is addressed as a moving pointer plus a constant offset (no address arithmetic per load)
 * and the k loop is unrolled by `unroll` 16-byte steps. Per 2×4 block of C, lane l of each of the 8
 * f32x4 accumulators sums the products of k ≡ l (mod 4) in increasing k; then C (+)= (l0 + l1) +
 * (l2 + l3). That order, and so every result bit, is independent of the specialisation and of the
 * loop order. Blocks run column quad by column quad (outer) over all row pairs (inner): the 4 rows
 * of B stay in L1 while the rows of A stream past (at N = 128, half the L2 traffic of the
 * row-outer order: 2 instead of 4 loads per k step come from L2; +7 % at [200, 128]·[128, 128]ᵀ,
 * +3-5 % at N = 1440, with the horizontal sums done four at a time by lane shuffles).
 */
function gemmNTBody(acc: boolean, lda: number, ldb: number, ldc: number, K: number, fma: boolean): number[] {
  const P = { M: 0, Nc: 1, a: 2, b: 3, c: 4 } as const;
  const f = new Body(5, 9);
  const L = { m: f.i(0), n: f.i(1), a0: f.i(2), c0: f.i(3), b0: f.i(4), pa: f.i(5), pb: f.i(6), kEnd: f.i(7), cn: f.i(8) };
  const S0 = f.v128(11);
  const X0 = S0 + 8;
  const X1 = S0 + 9;
  const Y = S0 + 10;
  const lda4 = 4 * lda;
  const ldb4 = 4 * ldb;
  const ldc4 = 4 * ldc;
  const unroll = 1;
  f.get(P.b); f.set(L.b0);
  f.get(P.c); f.set(L.c0);
  f.i32c(0); f.set(L.n);
  f.loop(L.n, P.Nc, 4, () => {
    f.get(P.a); f.set(L.a0);
    f.get(L.c0); f.set(L.cn);
    f.i32c(0); f.set(L.m);
    f.loop(L.m, P.M, 2, () => {
      for (let s = 0; s < 8; s++) { f.vf32(0); f.set(S0 + s); }
      f.get(L.a0); f.set(L.pa);
      f.get(L.b0); f.set(L.pb);
      f.get(L.a0); f.i32c(4 * K); f.op(OP.i32Add); f.set(L.kEnd);
      f.loop(L.pa, L.kEnd, 16 * unroll, () => {
        for (let u = 0; u < unroll; u++) {
          f.get(L.pa); f.vload(16 * u); f.set(X0);
          f.get(L.pa); f.vload(lda4 + 16 * u); f.set(X1);
          for (let j = 0; j < 4; j++) {
            f.get(L.pb); f.vload(j * ldb4 + 16 * u); f.set(Y);
            emitMadd(f, S0 + j, X0, Y, fma);
            emitMadd(f, S0 + 4 + j, X1, Y, fma);
          }
        }
        f.inc(L.pb, 16 * unroll);
      });
      // Horizontal sums and stores: C[row r, n + j] (+)= (l0 + l1) + (l2 + l3) of s[r][j], the four
      // sums of a row at once: pairs of lanes first (U = [s0: l0+l1, l2+l3, s1: …], V the same for
      // s2, s3), then pairs of pairs (W[j] = (l0 + l1) + (l2 + l3) of s[r][j]); then one 16-byte
      // load/add/store of C. (f32 addition is commutative, so the order of the operands is moot.)
      const pairSum = (u: number, v: number, dst: number): void => {
        f.get(u); f.get(v); f.simd(SIMD.shuffle, ...EVEN_LANES);
        f.get(u); f.get(v); f.simd(SIMD.shuffle, ...ODD_LANES);
        f.simd(SIMD.addF32x4); f.set(dst);
      };
      for (let r = 0; r < 2; r++) {
        const sv = S0 + 4 * r;
        pairSum(sv, sv + 1, X0);
        pairSum(sv + 2, sv + 3, X1);
        pairSum(X0, X1, Y);
        f.get(L.cn);
        if (acc) { f.get(L.cn); f.vload(r * ldc4); f.get(Y); f.simd(SIMD.addF32x4); } else f.get(Y);
        f.vstore(r * ldc4);
      }
      f.inc(L.a0, 2 * lda4);
      f.inc(L.cn, 2 * ldc4);
    });
    f.inc(L.b0, 4 * ldb4);
    f.inc(L.c0, 16);
  });
  return f.encode();
}

/**
 * gemmTN(M, Nc, K, a, lda, b, ldb, c, ldc, apack, bpack): C[i, j] (+)= Σ_s A[s·lda + i] · B[s·ldb + j],
 * 4×8 tiles held in 8 f32x4 registers over the whole s loop. The operands are first copied into
 * tile panels, so the tile loop streams contiguous memory: B's 8-column panels side by side
 * (bpack, K·Nc floats) and the current 4-column panel of A (apack, 4·K floats). (Rows of A and B
 * are lda and ldb floats apart, 512 bytes at N = 128: read in place, a tile's 2·K rows fall into 8
 * of the 64 L1 sets and evict each other.) With `inPlaceA` A's panels are read where they are:
 * for a C of one 8-column panel (readout and input-weight gradients with few columns) each panel
 * of A is used once, and packing it would copy it without reuse (24 → 32 GFLOP/s at
 * [128, 8] over 10,000 samples). The sums run over s in increasing order either way.
 */
function gemmTNBody(acc: boolean, fma: boolean, inPlaceA = false): number[] {
  const P = { M: 0, Nc: 1, K: 2, a: 3, lda: 4, b: 5, ldb: 6, c: 7, ldc: 8, apack: 9, bpack: 10 } as const;
  const f = new Body(11, 13);
  const L = { i: f.i(0), j: f.i(1), pa: f.i(2), pb: f.i(3), lda4: f.i(4), ldb4: f.i(5), ldc4: f.i(6), pc: f.i(7), src: f.i(8), dst: f.i(9), end: f.i(10), k16: f.i(11), k32: f.i(12) };
  const S0 = f.v128(11); // s[r][h] = S0 + 2r + h
  const Y0 = S0 + 8;
  const Y1 = S0 + 9;
  const X = S0 + 10;
  const shl2 = (from: number, to: number): void => { f.get(from); f.i32c(2); f.op(OP.i32Shl); f.set(to); };
  shl2(P.lda, L.lda4);
  shl2(P.ldb, L.ldb4);
  shl2(P.ldc, L.ldc4);
  f.get(P.K); f.i32c(4); f.op(OP.i32Shl); f.set(L.k16);
  f.get(P.K); f.i32c(5); f.op(OP.i32Shl); f.set(L.k32);
  // Pack B: panel j/8 at bpack + (j/8)·32K, row s of the panel at +32s.
  f.get(P.bpack); f.set(L.dst);
  f.i32c(0); f.set(L.j);
  f.loop(L.j, P.Nc, 8, () => {
    f.get(P.b); f.get(L.j); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.src);
    f.get(L.dst); f.get(L.k32); f.op(OP.i32Add); f.set(L.end);
    f.loop(L.dst, L.end, 32, () => {
      f.get(L.dst); f.get(L.src); f.vload(0); f.vstore(0);
      f.get(L.dst); f.get(L.src); f.vload(16); f.vstore(16);
      f.addTo(L.src, L.src, L.ldb4);
    });
  });
  // A's 4-column panel: packed at apack (row s at +16s) or, inPlaceA, read in place (row s at src + s·lda).
  if (!inPlaceA) { f.get(P.apack); f.get(L.k16); f.op(OP.i32Add); f.set(L.end); }
  f.i32c(0); f.set(L.i);
  f.loop(L.i, P.M, 4, () => {
    f.get(P.a); f.get(L.i); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.src);
    if (inPlaceA) {
      f.get(L.src); f.get(P.K); f.get(L.lda4); f.op(OP.i32Mul, OP.i32Add); f.set(L.end);
    } else {
      // Pack the 4 columns i..i+3 of A: row s at apack + 16s.
      f.get(P.apack); f.set(L.dst);
      f.loop(L.dst, L.end, 16, () => {
        f.get(L.dst); f.get(L.src); f.vload(0); f.vstore(0);
        f.addTo(L.src, L.src, L.lda4);
      });
    }
    f.get(P.bpack); f.set(L.pb);
    f.i32c(0); f.set(L.j);
    f.loop(L.j, P.Nc, 8, () => {
      for (let s = 0; s < 8; s++) { f.vf32(0); f.set(S0 + s); }
      if (inPlaceA) { f.get(P.a); f.get(L.i); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pa); } else { f.get(P.apack); f.set(L.pa); }
      f.loop(L.pa, L.end, inPlaceA ? 0 : 16, () => { // in place: pa advances by lda4 below
        f.get(L.pb); f.vload(0); f.set(Y0);
        f.get(L.pb); f.vload(16); f.set(Y1);
        for (let r = 0; r < 4; r++) {
          f.get(L.pa); f.simd(SIMD.load32Splat, 2, ...uleb(4 * r)); f.set(X);
          emitMadd(f, S0 + 2 * r, X, Y0, fma);
          emitMadd(f, S0 + 2 * r + 1, X, Y1, fma);
        }
        f.inc(L.pb, 32);
        if (inPlaceA) f.addTo(L.pa, L.pa, L.lda4);
      });
      // Store rows i..i+3 of the tile: C[(i + r)·ldc + j + 4h].
      for (let r = 0; r < 4; r++) {
        f.get(P.c); f.get(L.i); f.i32c(r); f.op(OP.i32Add); f.get(L.ldc4); f.op(OP.i32Mul, OP.i32Add);
        f.get(L.j); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pc);
        for (let h = 0; h < 2; h++) {
          f.get(L.pc);
          if (acc) { f.get(L.pc); f.vload(16 * h); f.get(S0 + 2 * r + h); f.simd(SIMD.addF32x4); } else f.get(S0 + 2 * r + h);
          f.vstore(16 * h);
        }
      }
    });
  });
  return f.encode();
}

// Rational minimax approximation of tanh on [-7.905, 7.905] (Eigen's float32 form); see fastTanh
// in model-js.ts for the float64 evaluation of the same rational function.
const TANH_NUM = [4.89352455891786e-3, 6.37261928875436e-4, 1.48572235717979e-5, 5.12229709037114e-8, -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16];
const TANH_DEN = [4.89352518554385e-3, 2.26843463243900e-3, 1.18534705686654e-4, 1.19825839466702e-6];
const TANH_CLAMP = 7.90531110763549805;

/**
 * Emit tanh of the v128 in each local of `vs`, in place (clamp with pmin/pmax: NaN stays NaN, as
 * in fastTanh); `x2s` and `ps` are scratch locals, one per value. The values' Horner steps are
 * interleaved so that their dependency chains overlap; each value's operations and their order
 * are the same as for one value alone, so the bits are too.
 */
function emitTanh(f: Body, vs: number[], x2s: number[], ps: number[], cs: number[], fma: boolean): void {
  const each = (fn: (i: number) => void): void => { for (let i = 0; i < vs.length; i++) fn(i); };
  each((i) => { f.get(vs[i]); f.vconst(-TANH_CLAMP); f.simd(SIMD.pmaxF32x4); f.vconst(TANH_CLAMP); f.simd(SIMD.pminF32x4); f.tee(vs[i]); f.tee(cs[i]); f.get(vs[i]); f.simd(SIMD.mulF32x4); f.set(x2s[i]); });
  // Horner: num = v · (c1 + x2·(c3 + ... )), den = d0 + x2·(d2 + ...).
  each((i) => { f.vconst(TANH_NUM[6]); f.set(ps[i]); });
  // p = p·x2 + c: fused in `fma` arithmetic (one rounding), else a float32 product then sum.
  const step = (i: number, c: number): void => {
    f.get(ps[i]); f.get(x2s[i]);
    if (fma) { f.vconst(c); f.simd(SIMD.relaxedMadd); } else { f.simd(SIMD.mulF32x4); f.vconst(c); f.simd(SIMD.addF32x4); }
    f.set(ps[i]);
  };
  for (let k = 5; k >= 0; k--) each((i) => step(i, TANH_NUM[k]));
  each((i) => { f.get(ps[i]); f.get(vs[i]); f.simd(SIMD.mulF32x4); f.set(vs[i]); f.vconst(TANH_DEN[3]); f.set(ps[i]); });
  for (let k = 2; k >= 0; k--) each((i) => step(i, TANH_DEN[k]));
  // Clamped inputs (|x| ≥ TANH_CLAMP, where tanh(x) is within 3e-7 of ±1) give exactly ±1: the
  // rational at the clamp is 1 − 4 ulp when evaluated more exactly (fused), and 1 − a² would
  // then pass a spurious 5e-7 derivative through every saturated unit.
  each((i) => {
    f.get(cs[i]); f.vconst(-0); f.simd(SIMD.and); f.vconst(1); f.simd(SIMD.or); // ±1 with the sign of x
    f.get(vs[i]); f.get(ps[i]); f.simd(SIMD.divF32x4);
    f.get(cs[i]); f.simd(SIMD.absF32x4); f.vconst(TANH_CLAMP); f.simd(SIMD.f32x4Eq);
    f.simd(SIMD.bitselect); f.set(vs[i]);
  });
}

/** Vectors per iteration of act (interleaved tanh chains; 2 and 4 measured alike, 1 ~12 % slower). */
const ACT_WIDTH = 2;

/**
 * act(a, r, n, th): a[k] = tanh(a[k]); with `rect`, r[k] = a[k] > th ? a[k] : 0; n a multiple of
 * 4. {@link ACT_WIDTH} vectors per iteration (their tanh chains interleaved), then one.
 */
function actBody(rect: boolean, fma: boolean): number[] {
  const P = { a: 0, r: 1, n: 2, th: 3 } as const;
  const f = new Body(4, 4);
  const L = { k: f.i(0), end: f.i(1), pr: f.i(2), end2: f.i(3) };
  const W = ACT_WIDTH;
  const V = f.v128(4 * W + 1);
  const TH = V + 4 * W;
  f.get(P.th); f.simd(SIMD.f32x4Splat); f.set(TH);
  f.get(P.a); f.set(L.k);
  f.get(P.r); f.set(L.pr);
  f.get(P.a); f.get(P.n); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.end);
  f.get(P.a); f.get(P.n); f.i32c(-4 * W); f.op(OP.i32And); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.end2);
  const pass = (nv: number, end: number): void => {
    const vs = Array.from({ length: nv }, (_, j) => V + j);
    f.loop(L.k, end, 16 * nv, () => {
      vs.forEach((v, j) => { f.get(L.k); f.vload(16 * j); f.set(v); });
      emitTanh(f, vs, vs.map((v) => v + W), vs.map((v) => v + 2 * W), vs.map((v) => v + 3 * W), fma);
      vs.forEach((v, j) => { f.get(L.k); f.get(v); f.vstore(16 * j); });
      if (rect) {
        vs.forEach((v, j) => { f.get(L.pr); f.get(v); f.get(v); f.get(TH); f.simd(SIMD.f32x4Gt); f.simd(SIMD.and); f.vstore(16 * j); });
        f.inc(L.pr, 16 * nv);
      }
    });
  };
  pass(W, L.end2);
  pass(1, L.end);
  return f.encode();
}

/**
 * bwd(dPre, a, dr, dz, dzStride, wOut, rows, N, nOut, th, flush): for each row b and column i
 * (N a multiple of 4), dPre = (Σ_o dz[b·dzStride + o] · wOut[o·N + i] + [a > th]·dr) · (1 − a²),
 * with the head term when `head`, the recurrent term when `rec`, its mask when `rect`; values with
 * |dPre| < flush are stored as 0.
 */
function bwdBody(head: boolean, rec: boolean, rect: boolean): number[] {
  const P = { dPre: 0, a: 1, dr: 2, dz: 3, dzS: 4, w: 5, rows: 6, N: 7, nOut: 8, th: 9, flush: 10 } as const;
  const f = new Body(11, 8);
  const L = { b: f.i(0), i: f.i(1), o: f.i(2), off: f.i(3), pdz: f.i(4), pw: f.i(5), n4: f.i(6), dzS4: f.i(7) };
  const V = f.v128(5);
  const A = V + 1;
  const TH = V + 2;
  const D = V + 3;
  const FL = V + 4;
  f.get(P.th); f.simd(SIMD.f32x4Splat); f.set(TH);
  f.get(P.flush); f.simd(SIMD.f32x4Splat); f.set(FL);
  f.get(P.N); f.i32c(2); f.op(OP.i32Shl); f.set(L.n4);
  f.get(P.dzS); f.i32c(2); f.op(OP.i32Shl); f.set(L.dzS4);
  f.i32c(0); f.set(L.off); // byte offset of row b, column i in the [rows, N] arrays
  f.get(P.dz); f.set(L.pdz);
  f.i32c(0); f.set(L.b);
  f.loop(L.b, P.rows, 1, () => {
    f.i32c(0); f.set(L.i);
    f.loop(L.i, L.n4, 16, () => {
      f.get(P.a); f.get(L.off); f.op(OP.i32Add); f.vload(); f.set(A);
      f.vf32(0); f.set(V);
      if (head) {
        f.get(P.w); f.get(L.i); f.op(OP.i32Add); f.set(L.pw);
        f.i32c(0); f.set(L.o);
        f.loop(L.o, P.nOut, 1, () => {
          f.get(V);
          f.get(L.pdz); f.get(L.o); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.simd(SIMD.load32Splat, 2, 0);
          f.get(L.pw); f.vload();
          f.simd(SIMD.mulF32x4); f.simd(SIMD.addF32x4); f.set(V);
          f.addTo(L.pw, L.pw, L.n4);
        });
      }
      if (rec) {
        f.get(V);
        f.get(P.dr); f.get(L.off); f.op(OP.i32Add); f.vload();
        if (rect) { f.set(D); f.get(D); f.get(A); f.get(TH); f.simd(SIMD.f32x4Gt); f.simd(SIMD.and); }
        f.simd(SIMD.addF32x4); f.set(V);
      }
      f.get(P.dPre); f.get(L.off); f.op(OP.i32Add);
      f.get(V); f.vconst(1); f.get(A); f.get(A); f.simd(SIMD.mulF32x4); f.simd(SIMD.subF32x4); f.simd(SIMD.mulF32x4);
      // Flush: dPre & ~(|dPre| < flush) (NaN kept; flush 0 keeps everything).
      f.tee(V); f.get(V); f.simd(SIMD.absF32x4); f.get(FL); f.simd(SIMD.f32x4Lt); f.simd(SIMD.andnot);
      f.vstore();
      f.inc(L.off, 16);
    });
    f.addTo(L.pdz, L.pdz, L.dzS4);
  });
  return f.encode();
}

/**
 * packIn(x, xa, xaT, B, T, nIn, nInP): the inputs x `[B, T, nIn]` (batch-major, as a batch holds
 * them) in the two step-major layouts the input products read, with the ones column of the
 * biases: xa `[T·B, nInP]` (row s = t·B + b holds x[b, t, :] then 1; columns past nIn + 1 are not
 * written) and xaT `[nIn + 1, T·B]` (its transpose). Pure copies, so bit-exact; pointers in bytes.
 */
function packInBody(): number[] {
  const P = { x: 0, xa: 1, xaT: 2, B: 3, T: 4, nIn: 5, nInP: 6 } as const;
  const f = new Body(7, 12);
  const L = {
    t: f.i(0), b: f.i(1), srcT: f.i(2), src: f.i(3), p: f.i(4), end: f.i(5),
    d: f.i(6), pT: f.i(7), s4: f.i(8), tb4: f.i(9), nIn4: f.i(10), rowStep: f.i(11),
  };
  f.get(P.B); f.get(P.T); f.op(OP.i32Mul); f.i32c(2); f.op(OP.i32Shl); f.set(L.tb4);
  f.get(P.nIn); f.i32c(2); f.op(OP.i32Shl); f.set(L.nIn4);
  f.get(P.T); f.get(L.nIn4); f.op(OP.i32Mul); f.set(L.rowStep);
  f.get(P.x); f.set(L.srcT);
  f.get(P.xa); f.set(L.d);
  f.i32c(0); f.set(L.s4);
  f.i32c(0); f.set(L.t);
  f.loop(L.t, P.T, 1, () => {
    f.get(L.srcT); f.set(L.src);
    f.i32c(0); f.set(L.b);
    f.loop(L.b, P.B, 1, () => {
      // Row s of xa starts at d; column s of xaT at xaT + s4, one row of xaT (tb4 bytes) per q.
      f.get(P.xaT); f.get(L.s4); f.op(OP.i32Add); f.set(L.pT);
      f.get(L.src); f.set(L.p);
      f.get(L.src); f.get(L.nIn4); f.op(OP.i32Add); f.set(L.end);
      f.loop(L.p, L.end, 4, () => {
        f.get(L.d); f.get(L.p); f.op(OP.f32Load, 2, 0); f.op(OP.f32Store, 2, 0);
        f.get(L.pT); f.get(L.p); f.op(OP.f32Load, 2, 0); f.op(OP.f32Store, 2, 0);
        f.inc(L.d, 4);
        f.addTo(L.pT, L.pT, L.tb4);
      });
      const one = Array.from(new Uint8Array(new Float32Array([1]).buffer));
      f.get(L.d); f.op(OP.f32Const, ...one); f.op(OP.f32Store, 2, 0);
      f.get(L.pT); f.op(OP.f32Const, ...one); f.op(OP.f32Store, 2, 0);
      // Next row of xa: d was advanced by nIn floats; the row is nInP floats.
      f.get(L.d); f.get(P.nInP); f.get(P.nIn); f.op(OP.i32Sub); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.d);
      f.inc(L.s4, 4);
      f.addTo(L.src, L.src, L.rowStep);
    });
    f.addTo(L.srcT, L.srcT, L.nIn4);
  });
  return f.encode();
}

/** Number of f32x4 accumulators (4 floats each) per batch chunk of the wide `spmm` kernel. */
export const SPMM_WIDE = 8;

/**
 * spmm(rp, cols, vals, nRows, x, b0, b1, out, ldo): sparse (CSR) times column-major dense, written
 * transposed. For each batch chunk bb of `4·cw` floats in [b0, b1) and each row i < nRows:
 * out[(bb + l)·ldo + i] (+)= Σ_{e = rp[i]}^{rp[i+1]-1} vals[e] · x[cols[e] + bb + l], l < 4·cw.
 * `rp` and `cols` are i32 arrays (cols in float elements: the row offset j·ldx of x), x rows are
 * 16-byte aligned; pointers in bytes, b0, b1 and ldo in floats.
 */
function spmmBody(cw: number, acc: boolean): number[] {
  const P = { rp: 0, cols: 1, vals: 2, nRows: 3, x: 4, b0: 5, b1: 6, out: 7, ldo: 8 } as const;
  const f = new Body(9, 8);
  const L = { i: f.i(0), e: f.i(1), eEnd: f.i(2), bb: f.i(3), pxb: f.i(4), pcol: f.i(5), po: f.i(6), ldo4: f.i(7) };
  const S0 = f.v128(cw + 1);
  const V = S0 + cw;
  f.get(P.ldo); f.i32c(2); f.op(OP.i32Shl); f.set(L.ldo4);
  f.get(P.b0); f.set(L.bb);
  f.loop(L.bb, P.b1, 4 * cw, () => {
    f.get(P.x); f.get(L.bb); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pxb);
    f.get(P.rp); f.op(OP.i32Load, 2, 0); f.set(L.e);
    f.i32c(0); f.set(L.i);
    f.loop(L.i, P.nRows, 1, () => {
      f.get(P.rp); f.get(L.i); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 4); f.set(L.eEnd);
      for (let c = 0; c < cw; c++) { f.vf32(0); f.set(S0 + c); }
      f.loop(L.e, L.eEnd, 1, () => {
        f.get(P.vals); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.simd(SIMD.load32Splat, 2, 0); f.set(V);
        f.get(L.pxb);
        f.get(P.cols); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 0);
        f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pcol);
        for (let c = 0; c < cw; c++) {
          f.get(S0 + c); f.get(V); f.get(L.pcol); f.vload(16 * c); f.simd(SIMD.mulF32x4); f.simd(SIMD.addF32x4); f.set(S0 + c);
        }
      });
      // po = out + (bb·ldo + i)·4, then one row of out per lane.
      f.get(P.out); f.get(L.bb); f.get(P.ldo); f.op(OP.i32Mul); f.get(L.i); f.op(OP.i32Add); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.po);
      for (let c = 0; c < cw; c++) {
        for (let l = 0; l < 4; l++) {
          f.get(L.po);
          if (acc) { f.get(L.po); f.op(OP.f32Load, 2, 0); }
          f.get(S0 + c); f.simd(SIMD.extractF32, l);
          if (acc) f.op(OP.f32Add);
          f.op(OP.f32Store, 2, 0);
          f.addTo(L.po, L.po, L.ldo4);
        }
      }
    });
  });
  return f.encode();
}

/**
 * sddmm(rp, cols, g, nRows, a, len, x, _, _): sampled dense-dense product over the CSR pattern:
 * g[e] += Σ_{k < len} a[i·len + k] · x[cols[e] + k] for the entries e of each row i (len a multiple
 * of 4; 4 f32x4 partial sums over 16-float steps, combined in a fixed order).
 */
function sddmmBody(): number[] {
  const P = { rp: 0, cols: 1, g: 2, nRows: 3, a: 4, len: 5, x: 6 } as const;
  const f = new Body(9, 8);
  const L = { i: f.i(0), e: f.i(1), eEnd: f.i(2), k: f.i(3), k16: f.i(4), lenb: f.i(5), pa: f.i(6), px: f.i(7) };
  const S0 = f.v128(4);
  f.get(P.len); f.i32c(2); f.op(OP.i32Shl); f.set(L.lenb);
  f.get(P.len); f.i32c(-16); f.op(OP.i32And); f.i32c(2); f.op(OP.i32Shl); f.set(L.k16);
  f.get(P.a); f.set(L.pa);
  f.get(P.rp); f.op(OP.i32Load, 2, 0); f.set(L.e);
  f.i32c(0); f.set(L.i);
  f.loop(L.i, P.nRows, 1, () => {
    f.get(P.rp); f.get(L.i); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 4); f.set(L.eEnd);
    f.loop(L.e, L.eEnd, 1, () => {
      f.get(P.x);
      f.get(P.cols); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 0);
      f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.px);
      for (let c = 0; c < 4; c++) { f.vf32(0); f.set(S0 + c); }
      f.i32c(0); f.set(L.k);
      f.loop(L.k, L.k16, 64, () => {
        for (let c = 0; c < 4; c++) {
          f.get(S0 + c);
          f.get(L.pa); f.get(L.k); f.op(OP.i32Add); f.vload(16 * c);
          f.get(L.px); f.get(L.k); f.op(OP.i32Add); f.vload(16 * c);
          f.simd(SIMD.mulF32x4); f.simd(SIMD.addF32x4); f.set(S0 + c);
        }
      });
      f.loop(L.k, L.lenb, 16, () => {
        f.get(S0);
        f.get(L.pa); f.get(L.k); f.op(OP.i32Add); f.vload();
        f.get(L.px); f.get(L.k); f.op(OP.i32Add); f.vload();
        f.simd(SIMD.mulF32x4); f.simd(SIMD.addF32x4); f.set(S0);
      });
      f.get(S0); f.get(S0 + 1); f.simd(SIMD.addF32x4); f.get(S0 + 2); f.get(S0 + 3); f.simd(SIMD.addF32x4); f.simd(SIMD.addF32x4); f.set(S0);
      // g[e] = g[e] + ((l0 + l1) + (l2 + l3))
      f.get(P.g); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
      f.get(P.g); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.f32Load, 2, 0);
      f.get(S0); f.simd(SIMD.extractF32, 0); f.get(S0); f.simd(SIMD.extractF32, 1); f.op(OP.f32Add);
      f.get(S0); f.simd(SIMD.extractF32, 2); f.get(S0); f.simd(SIMD.extractF32, 3); f.op(OP.f32Add, OP.f32Add);
      f.op(OP.f32Add);
      f.op(OP.f32Store, 2, 0);
    });
    f.addTo(L.pa, L.pa, L.lenb);
  });
  return f.encode();
}

const I32X9 = new Array<number>(9).fill(I32);

/** Exported functions of the shape-independent module: name, parameter types, body. */
function kernelFunctions(fma: boolean): [string, number[], number[]][] {
  const fns: [string, number[], number[]][] = [
    ['gemmTNSet', new Array<number>(11).fill(I32), gemmTNBody(false, fma)],
    ['gemmTNAcc', new Array<number>(11).fill(I32), gemmTNBody(true, fma)],
    ['gemmTNInPlaceSet', new Array<number>(11).fill(I32), gemmTNBody(false, fma, true)],
    ['gemmTNInPlaceAcc', new Array<number>(11).fill(I32), gemmTNBody(true, fma, true)],
    ['act0', [I32, I32, I32, F32], actBody(false, fma)],
    ['act1', [I32, I32, I32, F32], actBody(true, fma)],
    ['spmmWideSet', I32X9, spmmBody(SPMM_WIDE, false)],
    ['spmmWideAcc', I32X9, spmmBody(SPMM_WIDE, true)],
    ['spmm1Set', I32X9, spmmBody(1, false)],
    ['spmm1Acc', I32X9, spmmBody(1, true)],
    ['sddmm', I32X9, sddmmBody()],
    ['packIn', new Array<number>(7).fill(I32), packInBody()],
    ['spBwd', new Array<number>(8).fill(I32), spBwdBody(fma)],
    ['copy2d', new Array<number>(6).fill(I32), copy2dBody()],
    ['transpose', new Array<number>(6).fill(I32), transposeBody()],
    ['nnzCount', [I32, I32, I32], nnzCountBody()],
    ['aboveCount', [I32, I32, F32, I32], aboveCountBody()],
    ['listCount', new Array<number>(8).fill(I32), listCountBody()],
    ['listScatter', new Array<number>(12).fill(I32), listScatterBody(false)],
    ['listScatterVals', new Array<number>(12).fill(I32), listScatterBody(true)],
    ['csrRows', new Array<number>(7).fill(I32), csrRowsBody()],
    ['orActive', [I32, I32, I32, F32, I32], orActiveBody()],
    ['filterColumns', new Array<number>(11).fill(I32), filterColumnsBody()],
    ['rowLists', [I32, I32, I32, I32, F32, I32, I32, I32, I32], rowListsBody()],
  ];
  for (let V = 1; V <= SPFWD_SLAB / 4; V++) fns.push([`spFwd${V}`, new Array<number>(8).fill(I32), spFwdBody(V, fma)]);
  for (let V = 1; V <= SPDW_BLOCK / 4; V++) fns.push([`spDw${V}`, new Array<number>(12).fill(I32), spDwBody(V, fma)]);
  for (let flags = 0; flags < 8; flags++) fns.push([`bwd${flags}`, [...I32X9, F32, F32], bwdBody((flags & 1) !== 0, (flags & 2) !== 0, (flags & 4) !== 0)]);
  for (let V = 1; V <= SPFWD_SLAB / 4; V++) fns.push([`spFwdAct${V}`, [...new Array<number>(9).fill(I32), F32], spFwdBody(V, fma, emitTanh)]);
  return fns;
}


type WasmGemm = (M: number, Nc: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number) => void;
type WasmNT = (M: number, Nc: number, a: number, b: number, c: number) => void;
type Arr = Float32Array | Int32Array;
interface NtEntry { lda: number; ldb: number; ldc: number; k: number; set: WasmNT; acc: WasmNT }
type WasmTN = (M: number, Nc: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, apack: number, bpack: number) => void;
type WasmAct = (a: number, r: number, n: number, th: number) => void;
type WasmPackIn = (x: number, xa: number, xaT: number, B: number, T: number, nIn: number, nInP: number) => void;
type WasmI32 = (...args: number[]) => void;

/** Which kernel a {@link KernelJob} runs: an activity-sparse or weight-sparse product, a per-step elementwise pass or a copy. */
export type KernelKind = 'spFwd' | 'spBwd' | 'spDw' | 'act' | 'bwd' | 'copy' | 'transpose' | 'pack' | 'lists' | 'spmm' | 'sddmm';
/**
 * One kernel call that splits into units whose outputs are disjoint (column slabs, columns, rows):
 * its kernel, how many units, its integer arguments (byte pointers; float32 values as their bits,
 * see {@link f32Bits}), and optionally what each unit costs, so that threads get chunks of equal
 * cost rather than of equal unit counts (how the units are cut changes no bit).
 */
export interface KernelJob {
  kind: KernelKind;
  units: number;
  args: number[];
  /** prefix[u]: the cost of units [0, u) (units + 1 nondecreasing entries); cuts fall on multiples of `align` units. */
  cost?: { prefix: ArrayLike<number>; align: number };
}
const bitsF = new Float32Array(1);
const bitsI = new Int32Array(bitsF.buffer);
/** The bits of the float32 nearest `x`, as an int32 (how a {@link KernelJob} carries a float). */
function f32Bits(x: number): number {
  bitsF[0] = x;
  return bitsI[0];
}
/** The float32 whose bits are `b` (inverse of {@link f32Bits}). */
function bitsF32(b: number): number {
  bitsI[0] = b;
  return bitsF[0];
}
type WasmBwd = (dPre: number, a: number, dr: number, dz: number, dzStride: number, w: number, rows: number, N: number, nOut: number, th: number, flush: number) => void;

/** The compiled kernel modules importing a plain [0] and a shared [1] memory (null: no SIMD here). */
/** The compiled kernel modules by `shared` (0/1) + 2·fma (null: no SIMD, shared memory or relaxed SIMD here). */
const compiled: (WasmModule | null | undefined)[] = [undefined, undefined, undefined, undefined];

/** The compiled kernel module, or null when this runtime lacks WebAssembly SIMD (or shared memory). */
function kernelModule(shared = false, arith: Arithmetic = 'mul-add'): WasmModule | null {
  const fma = arith === 'fma';
  const i = (shared ? 1 : 0) + (fma ? 2 : 0);
  if (compiled[i] === undefined) {
    const bytes = moduleBytes(kernelFunctions(fma), shared);
    compiled[i] = WA !== undefined && WA.validate(bytes) ? new WA.Module(bytes) : null;
  }
  return compiled[i]!;
}

/** Compiled gemmNT modules by key `shared/arith/lda/ldb/ldc/K` (a model uses a handful of shapes). */
const ntModules = new Map<string, WasmModule>();

/** The gemmNT module (exports `set`, `acc`) specialised to the strides and inner length K. */
function ntModule(lda: number, ldb: number, ldc: number, K: number, shared: boolean, arith: Arithmetic): WasmModule {
  const key = `${shared ? 1 : 0}/${arith}/${lda}/${ldb}/${ldc}/${K}`;
  let mod = ntModules.get(key);
  if (mod === undefined) {
    const p = [I32, I32, I32, I32, I32];
    const fma = arith === 'fma';
    mod = new WA!.Module(moduleBytes([['set', p, gemmNTBody(false, lda, ldb, ldc, K, fma)], ['acc', p, gemmNTBody(true, lda, ldb, ldc, K, fma)]], shared));
    ntModules.set(key, mod);
  }
  return mod;
}

/**
 * Whether f32x4.relaxed_madd fuses here: null when this runtime does not validate relaxed SIMD
 * (Node 20 without `--experimental-wasm-relaxed-simd`), else the answer of a probe on operands
 * whose fused and unfused results differ ((1 + 2⁻¹²)² − (1 + 2⁻¹¹) is 2⁻²⁴ fused, 0 unfused).
 */
function relaxedMaddFuses(): boolean | null {
  if (WA === undefined) return null;
  const f = new Body(0, 0);
  const X = f.v128(1);
  f.i32c(0); f.vload(0); f.set(X);
  f.i32c(32); f.get(X); f.get(X); f.i32c(16); f.vload(0); f.simd(SIMD.relaxedMadd); f.vstore(0);
  const bytes = moduleBytes([['probe', [], f.encode()]]);
  if (!WA.validate(bytes)) return null;
  const memory = new WA.Memory({ initial: 1, maximum: 1 });
  const probe = new WA.Instance(new WA.Module(bytes), { env: { mem: memory } }).exports.probe as () => void;
  const v = new Float32Array(memory.buffer, 0, 12);
  v.fill(1 + 2 ** -12, 0, 4);
  v.fill(-(1 + 2 ** -11), 4, 8);
  probe();
  return v[8] === 2 ** -24;
}

/** Node 20 validates relaxed SIMD only behind a V8 flag, which can still be set before the first module using it compiles. */
function enableRelaxedSimd(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
}

/** Thrown when DALESWEEP_ARITH asks for what this runtime cannot do, or names no mode. */
export class ArithmeticUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArithmeticUnavailableError';
  }
}

let fmaHere: boolean | undefined;

/** True when the kernels can fuse multiply-adds here (relaxed SIMD validates, the CPU fuses). */
export function fmaSupported(): boolean {
  if (fmaHere === undefined) {
    let fuses = relaxedMaddFuses();
    if (fuses === null && WA !== undefined) {
      enableRelaxedSimd();
      fuses = relaxedMaddFuses();
    }
    fmaHere = fuses === true && kernelModule(false, 'fma') !== null;
  }
  return fmaHere;
}

let arithmetic: Arithmetic | undefined;

/**
 * The arithmetic newly made {@link SimdGemm}s use: `fma` where {@link fmaSupported}, else
 * `mul-add`; the environment variable DALESWEEP_ARITH (`fma` or `mul-add`) overrides it (e.g.
 * `mul-add` on every machine of a cluster some of whose CPUs lack FMA).
 * @throws ArithmeticUnavailableError for another DALESWEEP_ARITH value, or `fma` where it is not supported
 */
export function kernelArithmetic(): Arithmetic {
  if (arithmetic === undefined) {
    const env = process.env.DALESWEEP_ARITH;
    if (env !== undefined && env !== '' && env !== 'fma' && env !== 'mul-add') throw new ArithmeticUnavailableError(`DALESWEEP_ARITH must be 'fma' or 'mul-add', got '${env}'`);
    if (env === 'fma' && !fmaSupported()) throw new ArithmeticUnavailableError('DALESWEEP_ARITH=fma: this runtime or CPU has no fused multiply-add for WebAssembly (relaxed SIMD); unset it or use mul-add');
    arithmetic = env === 'fma' || env === 'mul-add' ? env : fmaSupported() ? 'fma' : 'mul-add';
  }
  return arithmetic;
}

/**
 * Set the arithmetic of newly made {@link SimdGemm}s for this thread (tests and benchmarks; the
 * code version reads {@link kernelArithmetic} once per process).
 * @throws ArithmeticUnavailableError for `fma` where it is not supported
 */
export function setKernelArithmetic(a: Arithmetic): void {
  if (a === 'fma' && !fmaSupported()) throw new ArithmeticUnavailableError('fused multiply-add is not supported here');
  arithmetic = a;
}

/** True when the SIMD kernels can run here. */
export function simdSupported(): boolean {
  return kernelModule() !== null;
}

/** True when the SIMD kernels can run on a shared memory here (so helper threads can share work buffers). */
export function sharedSimdSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && kernelModule(true) !== null;
}

let tnRow = new Float64Array(64);

/**
 * Scalar C[i, j] (+)= Σ_s A[aOff + s·lda + i] · Bm[bOff + s·ldb + j] for i < M, j < Nc, s < K
 * (C = Aᵀ·B with A [K, M] and B [K, Nc] row-major), accumulated in float64.
 * @param acc when true, add into C; otherwise overwrite C
 */
export function gemmTN(
  M: number, Nc: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  Bm: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  acc: boolean,
): void {
  if (tnRow.length < Nc) tnRow = new Float64Array(Nc);
  const row = tnRow;
  for (let i = 0; i < M; i++) {
    row.fill(0, 0, Nc);
    for (let s = 0; s < K; s++) {
      const x = A[aOff + s * lda + i];
      const bo = bOff + s * ldb;
      for (let j = 0; j < Nc; j++) row[j] += x * Bm[bo + j];
    }
    const co = cOff + i * ldc;
    if (acc) for (let j = 0; j < Nc; j++) C[co + j] += row[j];
    else for (let j = 0; j < Nc; j++) C[co + j] = row[j];
  }
}

/**
 * Scalar CSR product written transposed (the semantics of {@link SimdGemm.spmm}):
 * out[outOff + b·ldo + i] (+)= Σ_{e = rp[i]}^{rp[i+1]-1} vals[e] · x[xOff + cols[e] + b] for
 * i < nRows, b0 ≤ b < b1, summed in float32 in entry order.
 */
export function spmmScalar(
  rp: Int32Array, cols: Int32Array, vals: Float32Array, nRows: number,
  x: Float32Array, xOff: number, b0: number, b1: number,
  out: Float32Array, outOff: number, ldo: number, acc: boolean,
): void {
  for (let b = b0; b < b1; b++) {
    const xb = xOff + b;
    const ob = outOff + b * ldo;
    for (let i = 0; i < nRows; i++) {
      let s = Math.fround(0);
      for (let e = rp[i]; e < rp[i + 1]; e++) s = Math.fround(s + Math.fround(vals[e] * x[xb + cols[e]]));
      out[ob + i] = acc ? out[ob + i] + s : s;
    }
  }
}

/**
 * Scalar sampled dense-dense product (the semantics of {@link SimdGemm.sddmm}):
 * g[e] += Σ_{k < len} a[aOff + i·len + k] · x[xOff + cols[e] + k] for the entries e of row i.
 */
export function sddmmScalar(
  rp: Int32Array, cols: Int32Array, g: Float32Array, nRows: number,
  a: Float32Array, aOff: number, len: number, x: Float32Array, xOff: number,
): void {
  for (let i = 0; i < nRows; i++) {
    const ao = aOff + i * len;
    for (let e = rp[i]; e < rp[i + 1]; e++) {
      const xo = xOff + cols[e];
      let s = 0;
      for (let k = 0; k < len; k++) s += a[ao + k] * x[xo + k];
      g[e] += s;
    }
  }
}

/** How a {@link SimdGemm} gets its memory. */
export interface SimdGemmOptions {
  /** Make the memory shared (a SharedArrayBuffer) so helper threads can attach to it. @default false */
  shared?: boolean;
  /**
   * Bind the kernels to an existing shared memory made by another SimdGemm (a helper thread's
   * view), with gemmTN's scratch in the given block (byte offset, floats) of that memory.
   */
  attach?: { memory: WasmMemory; scratch: { byteOffset: number; floats: number }; arithmetic: Arithmetic };
  /** The kernels' arithmetic. @default kernelArithmetic() (with `attach`: the owner's) */
  arithmetic?: Arithmetic;
}

/**
 * A block of float32 work memory with the SIMD kernels bound to it. Arrays handed to the kernels
 * must be views made by {@link SimdGemm.alloc}; otherwise (or without SIMD) the scalar code runs
 * (for {@link SimdGemm.act} and {@link SimdGemm.bwd}, the caller's: they report what they did).
 */
export class SimdGemm {
  /** The kernels' memory (null when the scalar code runs). */
  readonly memory: WasmMemory | null;
  private readonly buffer: ArrayBuffer | SharedArrayBuffer | null;
  /** Whether the memory is shared (helper threads can attach to it with {@link SimdGemmOptions.attach}). */
  readonly shared: boolean;
  /** The product kernels' arithmetic (`mul-add` for the scalar code). */
  readonly arithmetic: Arithmetic;
  /** Scratch blocks in this memory reserved for helper threads 1, 2, … (see rnn/parallel-gemm.ts). */
  helperScratch: Float32Array[] = [];
  /** A fixed scratch region (byte offset, floats) for gemmTN instead of the top of the memory. */
  private readonly fixedScratch: { byteOffset: number; floats: number } | null;
  /** Instances of the shape-specialised gemmNT modules in this memory (looked up without allocating). */
  private readonly nt: NtEntry[] = [];
  /** gemmTN kernels: set, acc, and the same reading A in place (one panel of B). */
  private readonly tnFns: WasmTN[] = [];
  /** Floats at the top of the memory reserved for gemmTN's tile panels (grows downwards). */
  private scratchFloats = 0;
  private readonly actFns: WasmAct[] = [];
  private readonly bwdFns: WasmBwd[] = [];
  private readonly spmmFns: WasmGemm[] = [];
  private readonly sddmmFn: WasmGemm | null = null;
  private readonly packInFn: WasmPackIn | null = null;
  /** Activity-sparse kernels: spFwd by slab width V (index V − 1), spBwd, spDw by block width V. */
  private readonly spFwdFns: WasmI32[] = [];
  private readonly spFwdActFns: WasmI32[] = [];
  private readonly spBwdFn: WasmI32 | null = null;
  private readonly copy2dFn: WasmI32 | null = null;
  private readonly transposeFn: WasmI32 | null = null;
  private readonly nnzCountFn: WasmI32 | null = null;
  private readonly aboveCountFn: WasmI32 | null = null;
  private readonly listCountFn: WasmI32 | null = null;
  private readonly listScatterFns: WasmI32[] = [];
  private readonly csrRowsFn: WasmI32 | null = null;
  private readonly orActiveFn: WasmI32 | null = null;
  private readonly filterColumnsFn: WasmI32 | null = null;
  private readonly rowListsFn: WasmI32 | null = null;
  private readonly spDwFns: WasmI32[] = [];
  private used = 0;

  /**
   * @param floats total float32 capacity to reserve (each allocation is rounded up to 4 floats);
   *   ignored with `opts.attach`
   * @param scalar the scalar fallback of {@link SimdGemm.gemm}
   * @param useSimd set false to force scalar code
   */
  constructor(floats: number, private readonly scalar: ScalarGemm, useSimd = true, opts: SimdGemmOptions = {}) {
    const shared = opts.shared === true || opts.attach !== undefined;
    this.shared = false;
    this.fixedScratch = opts.attach?.scratch ?? null;
    this.arithmetic = useSimd ? opts.attach?.arithmetic ?? opts.arithmetic ?? kernelArithmetic() : 'mul-add';
    // Asked for explicitly: also where nothing has probed yet (Node 20 needs its flag set first).
    if (this.arithmetic === 'fma' && !fmaSupported()) throw new ArithmeticUnavailableError('SimdGemm: fused multiply-add is not supported here');
    const mod = useSimd ? kernelModule(shared, this.arithmetic) : null;
    if (mod === null || WA === undefined) {
      if (opts.attach !== undefined) throw new Error('SimdGemm: cannot attach to a shared memory: this runtime lacks shared WebAssembly SIMD memory');
      this.memory = null;
      this.buffer = null;
      return;
    }
    const pages = Math.max(1, Math.ceil((floats * 4 + 64) / 65536));
    this.memory = opts.attach?.memory ?? new WA.Memory({ initial: pages, maximum: pages, shared });
    this.buffer = this.memory.buffer;
    this.shared = shared;
    if (opts.attach !== undefined) this.used = this.buffer.byteLength / 4; // nothing to allocate: the owner did
    const ex = new WA.Instance(mod, { env: { mem: this.memory } }).exports;
    this.tnFns = [ex.gemmTNSet, ex.gemmTNAcc, ex.gemmTNInPlaceSet, ex.gemmTNInPlaceAcc] as WasmTN[];
    this.actFns = [ex.act0 as WasmAct, ex.act1 as WasmAct];
    for (let flags = 0; flags < 8; flags++) this.bwdFns.push(ex[`bwd${flags}`] as WasmBwd);
    this.spmmFns = [ex.spmmWideSet, ex.spmmWideAcc, ex.spmm1Set, ex.spmm1Acc] as WasmGemm[];
    this.sddmmFn = ex.sddmm as WasmGemm;
    this.packInFn = ex.packIn as WasmPackIn;
    for (let V = 1; V <= SPFWD_SLAB / 4; V++) this.spFwdFns.push(ex[`spFwd${V}`] as WasmI32);
    for (let V = 1; V <= SPFWD_SLAB / 4; V++) this.spFwdActFns.push(ex[`spFwdAct${V}`] as WasmI32);
    this.spBwdFn = ex.spBwd as WasmI32;
    this.copy2dFn = ex.copy2d as WasmI32;
    this.transposeFn = ex.transpose as WasmI32;
    this.nnzCountFn = ex.nnzCount as WasmI32;
    this.aboveCountFn = ex.aboveCount as WasmI32;
    this.listCountFn = ex.listCount as WasmI32;
    this.listScatterFns = [ex.listScatter as WasmI32, ex.listScatterVals as WasmI32];
    this.csrRowsFn = ex.csrRows as WasmI32;
    this.orActiveFn = ex.orActive as WasmI32;
    this.filterColumnsFn = ex.filterColumns as WasmI32;
    this.rowListsFn = ex.rowLists as WasmI32;
    for (let V = 1; V <= SPDW_BLOCK / 4; V++) this.spDwFns.push(ex[`spDw${V}`] as WasmI32);
  }

  /** A float32 view of the whole memory (a helper thread's base for element offsets); null without SIMD. */
  wholeView(): Float32Array | null {
    return this.buffer === null ? null : new Float32Array(this.buffer);
  }

  /** Whether the SIMD kernels are in use. */
  get simd(): boolean {
    return this.memory !== null;
  }

  /** A zeroed float32 array of `n` elements (inside the kernel's memory when SIMD is on). */
  alloc(n: number): Float32Array {
    if (this.buffer === null) return new Float32Array(n);
    const off = this.used;
    const padded = (n + 3) & ~3;
    if ((off + padded + this.scratchFloats) * 4 > this.buffer.byteLength) throw new RangeError(`SimdGemm memory exhausted: need ${(off + padded) * 4} bytes, have ${this.buffer.byteLength}`);
    this.used += padded;
    return new Float32Array(this.buffer, off * 4, n);
  }

  /**
   * Byte offset of a scratch block of `floats` floats at the top of the memory (reserved once and
   * grown as needed, below the end and above every {@link alloc}).
   * @throws RangeError when it does not fit (reserve {@link tnScratchFloats} in the capacity)
   */
  private scratch(floats: number): number {
    const buf = this.buffer!;
    const need = (floats + 3) & ~3;
    const fixed = this.fixedScratch;
    if (fixed !== null) {
      if (need > fixed.floats) throw new RangeError(`SimdGemm: gemmTN needs ${need} floats of scratch, the helper's block has ${fixed.floats}`);
      return fixed.byteOffset;
    }
    if (need > this.scratchFloats) {
      if ((this.used + need) * 4 > buf.byteLength) throw new RangeError(`SimdGemm memory exhausted: gemmTN needs ${need} floats of scratch beside ${this.used} allocated, have ${buf.byteLength / 4}`);
      this.scratchFloats = need;
    }
    return buf.byteLength - 4 * this.scratchFloats;
  }

  /** A zeroed int32 array of `n` elements (inside the kernel's memory when SIMD is on). */
  allocI32(n: number): Int32Array {
    const f = this.alloc(n);
    return new Int32Array(f.buffer, f.byteOffset, n);
  }

  /** True when every given array is a view of this kernel memory (no rest array: called per product). */
  private inMem(a: Arr, b: Arr, c?: Arr, d?: Arr, e?: Arr): boolean {
    const buf = this.buffer;
    if (buf === null) return false;
    return a.buffer === buf && b.buffer === buf && (c === undefined || c.buffer === buf) && (d === undefined || d.buffer === buf) && (e === undefined || e.buffer === buf);
  }


  /**
   * C[m, n] (+)= Σ_k A[aOff + m·lda + k] · Bm[bOff + n·ldb + k] for m < M, n < Nc, k < K.
   * @param acc when true, add into C; otherwise overwrite C
   */
  gemm(
    M: number, Nc: number, K: number,
    A: Float32Array, aOff: number, lda: number,
    Bm: Float32Array, bOff: number, ldb: number,
    C: Float32Array, cOff: number, ldc: number,
    acc: boolean,
  ): void {
    const m2 = M & ~1;
    const n4 = Nc & ~3;
    const k4 = K & ~3;
    if (m2 === 0 || n4 === 0 || k4 === 0 || !this.inMem(A, Bm, C)) {
      this.scalar(M, Nc, K, A, aOff, lda, Bm, bOff, ldb, C, cOff, ldc, acc);
      return;
    }
    let e: NtEntry | undefined;
    for (const x of this.nt) if (x.lda === lda && x.ldb === ldb && x.ldc === ldc && x.k === k4) e = x;
    if (e === undefined) {
      const ex = new WA!.Instance(ntModule(lda, ldb, ldc, k4, this.shared, this.arithmetic), { env: { mem: this.memory } }).exports;
      e = { lda, ldb, ldc, k: k4, set: ex.set as WasmNT, acc: ex.acc as WasmNT };
      this.nt.push(e);
    }
    // Column blocks whose rows of B fit in L2 together (each output is still one kernel sum).
    const fn = acc ? e.acc : e.set;
    const nb = Math.max(4, Math.floor(NT_BLOCK_BYTES / (16 * ldb)) * 4);
    for (let n0 = 0; n0 < n4; n0 += nb) fn(m2, Math.min(nb, n4 - n0), A.byteOffset + 4 * aOff, Bm.byteOffset + 4 * (bOff + n0 * ldb), C.byteOffset + 4 * (cOff + n0));
    if (K > k4) this.scalar(m2, n4, K - k4, A, aOff + k4, lda, Bm, bOff + k4, ldb, C, cOff, ldc, true);
    if (Nc > n4) this.scalar(m2, Nc - n4, K, A, aOff, lda, Bm, bOff + n4 * ldb, ldb, C, cOff + n4, ldc, acc);
    if (M > m2) this.scalar(M - m2, Nc, K, A, aOff + m2 * lda, lda, Bm, bOff, ldb, C, cOff + m2 * ldc, ldc, acc);
  }

  /**
   * C[i, j] (+)= Σ_s A[aOff + s·lda + i] · Bm[bOff + s·ldb + j] for i < M, j < Nc, s < K, i.e.
   * C [M, Nc] = Aᵀ·B with A [K, M] and B [K, Nc] (row strides lda, ldb). The SIMD kernel sums
   * chunks of {@link TN_CHUNK} samples in float32 and adds the chunk sums into C.
   * @param acc when true, add into C; otherwise overwrite C
   */
  gemmTN(
    M: number, Nc: number, K: number,
    A: Float32Array, aOff: number, lda: number,
    Bm: Float32Array, bOff: number, ldb: number,
    C: Float32Array, cOff: number, ldc: number,
    acc: boolean,
  ): void {
    const m4 = M & ~3;
    const n8 = Nc & ~7;
    if (m4 === 0 || n8 === 0 || K === 0 || !this.inMem(A, Bm, C)) {
      gemmTN(M, Nc, K, A, aOff, lda, Bm, bOff, ldb, C, cOff, ldc, acc);
      return;
    }
    const pa = A.byteOffset + 4 * aOff;
    const pb = Bm.byteOffset + 4 * bOff;
    const pc = C.byteOffset + 4 * cOff;
    const kc = Math.min(TN_CHUNK, K);
    const inPlace = n8 === 8 ? 2 : 0; // one panel of B: read A in place (gemmTNBody)
    const scratch = this.scratch(tnScratchFloats(n8, kc));
    for (let s0 = 0; s0 < K; s0 += TN_CHUNK) {
      const fn = this.tnFns[inPlace + (acc || s0 > 0 ? 1 : 0)];
      fn(m4, n8, Math.min(TN_CHUNK, K - s0), pa + 4 * s0 * lda, lda, pb + 4 * s0 * ldb, ldb, pc, ldc, scratch, scratch + 16 * kc);
    }
    if (Nc > n8) gemmTN(m4, Nc - n8, K, A, aOff, lda, Bm, bOff + n8, ldb, C, cOff + n8, ldc, acc);
    if (M > m4) gemmTN(M - m4, Nc, K, A, aOff + m4, lda, Bm, bOff, ldb, C, cOff + m4 * ldc, ldc, acc);
  }

  /**
   * a[off + k] = tanh(a[off + k]) and, with `rect`, r[off + k] = a > th ? a : 0, for k < n rounded
   * down to a multiple of 4, in the SIMD kernel. Returns how many elements it did (0 without SIMD):
   * the caller does the rest.
   */
  act(a: Float32Array, r: Float32Array, off: number, n: number, th: number, rect: boolean): number {
    const n4 = n & ~3;
    if (n4 === 0 || !this.inMem(a, r)) return 0;
    this.actFns[rect ? 1 : 0](a.byteOffset + 4 * off, r.byteOffset + 4 * off, n4, th);
    return n4;
  }

  /**
   * {@link SimdGemm.act} on rows [0, rows) of N elements at element offset `off` as a
   * {@link KernelJob} (units: rows; N a multiple of 4, arrays in this memory: the caller checks
   * {@link SimdGemm.simd} and allocates with {@link alloc}).
   */
  actJob(a: Float32Array, r: Float32Array, off: number, rows: number, N: number, th: number, rect: boolean): KernelJob {
    return { kind: 'act', units: rows, args: [a.byteOffset + 4 * off, r.byteOffset + 4 * off, N, f32Bits(th), rect ? 1 : 0] };
  }

  /**
   * {@link SimdGemm.bwd} as a {@link KernelJob} (units: rows; the same conditions as bwd's, which
   * the caller checks: N a multiple of 4, arrays in this memory).
   */
  bwdJob(
    dPre: Float32Array, a: Float32Array, off: number, dr: Float32Array,
    dz: Float32Array, dzOff: number, dzStride: number, wOut: Float32Array,
    rows: number, N: number, nOut: number, th: number,
    head: boolean, rec: boolean, rect: boolean, flush: number,
  ): KernelJob {
    const flags = (head ? 1 : 0) | (rec ? 2 : 0) | (rect ? 4 : 0);
    return {
      kind: 'bwd', units: rows,
      args: [dPre.byteOffset + 4 * off, a.byteOffset + 4 * off, dr.byteOffset, dz.byteOffset + 4 * dzOff, dzStride, wOut.byteOffset, N, nOut | (flags << 16), f32Bits(th), f32Bits(flush)],
    };
  }

  /**
   * Per-step BPTT elementwise part on [rows, N] blocks at element offset `off` of dPre, a and
   * (offset 0) dr: dPre = (Σ_o dz[dzOff + b·dzStride + o] · wOut[o·N + i] (when `head`) +
   * [a > th when `rect`]·dr (when `rec`)) · (1 − a²), stored as 0 where |dPre| < `flush` (0: no
   * flushing; see {@link GRAD_FLUSH}). Returns false (nothing done) when the SIMD
   * kernel cannot run (no SIMD, N not a multiple of 4, arrays outside the kernel's memory).
   */
  bwd(
    dPre: Float32Array, a: Float32Array, off: number, dr: Float32Array,
    dz: Float32Array, dzOff: number, dzStride: number, wOut: Float32Array,
    rows: number, N: number, nOut: number, th: number,
    head: boolean, rec: boolean, rect: boolean, flush: number,
  ): boolean {
    if ((N & 3) !== 0 || !this.inMem(dPre, a, dr, dz, wOut)) return false;
    this.runAt(this.bwdJob(dPre, a, off, dr, dz, dzOff, dzStride, wOut, rows, N, nOut, th, head, rec, rect, flush), 0, rows);
    return true;
  }
  /**
   * Sparse (CSR) rows times a dense matrix stored one row per column index, written transposed:
   * out[outOff + b·ldo + i] (+)= Σ_{e = rp[i]}^{rp[i+1]-1} vals[e] · x[xOff + cols[e] + b] for
   * i < nRows, b < nb. `cols` holds element offsets of rows of x (j·ldx, ldx a multiple of 4, xOff
   * a multiple of 4). The SIMD kernels take the batch in chunks of 32 and then 4 floats, with one
   * f32x4 accumulator per 4 batch entries (float32 sums in entry order, as the scalar code).
   */
  spmm(
    rp: Int32Array, cols: Int32Array, vals: Float32Array, nRows: number,
    x: Float32Array, xOff: number, nb: number,
    out: Float32Array, outOff: number, ldo: number, acc: boolean,
  ): void {
    let done = 0;
    if ((xOff & 3) === 0 && this.inMem(rp, cols, vals, x, out)) {
      const wide = 4 * SPMM_WIDE;
      const bw = nb - (nb % wide);
      const b4 = nb & ~3;
      const args = [rp.byteOffset, cols.byteOffset, vals.byteOffset, nRows, x.byteOffset + 4 * xOff] as const;
      const po = out.byteOffset + 4 * outOff;
      if (bw > 0) this.spmmFns[acc ? 1 : 0](...args, 0, bw, po, ldo);
      if (b4 > bw) this.spmmFns[acc ? 3 : 2](...args, bw, b4, po, ldo);
      done = b4;
    }
    if (done < nb) spmmScalar(rp, cols, vals, nRows, x, xOff, done, nb, out, outOff, ldo, acc);
  }

  /**
   * {@link SimdGemm.spmm} as a {@link KernelJob} (units: the CSR's rows, which cost their entries:
   * `cost` is rp), or null where only spmm itself can run it (nb or xOff not a multiple of 4, an
   * array outside this memory).
   */
  spmmJob(
    rp: Int32Array, cols: Int32Array, vals: Float32Array, nRows: number,
    x: Float32Array, xOff: number, nb: number,
    out: Float32Array, outOff: number, ldo: number, acc: boolean,
  ): KernelJob | null {
    if (((xOff | nb) & 3) !== 0 || !this.inMem(rp, cols, vals, x, out)) return null;
    return { kind: 'spmm', units: nRows, args: [rp.byteOffset, cols.byteOffset, vals.byteOffset, x.byteOffset + 4 * xOff, nb, out.byteOffset + 4 * outOff, ldo, acc ? 1 : 0] };
  }

  /**
   * {@link SimdGemm.sddmm} as a {@link KernelJob} (units: the pattern's rows, which cost their
   * entries: `cost` is rp), or null where only sddmm itself can run it (len, aOff or xOff not a
   * multiple of 4, an array outside this memory).
   */
  sddmmJob(rp: Int32Array, cols: Int32Array, g: Float32Array, nRows: number, a: Float32Array, aOff: number, len: number, x: Float32Array, xOff: number): KernelJob | null {
    if (((len | aOff | xOff) & 3) !== 0 || !this.inMem(rp, cols, g, a, x)) return null;
    return { kind: 'sddmm', units: nRows, args: [rp.byteOffset, cols.byteOffset, g.byteOffset, a.byteOffset + 4 * aOff, len, x.byteOffset + 4 * xOff] };
  }

  /**
   * g[e] += Σ_{k < len} a[aOff + i·len + k] · x[xOff + cols[e] + k] over the CSR pattern (rp,
   * cols) with nRows rows; len, aOff and xOff multiples of 4 for the SIMD kernel.
   */
  sddmm(
    rp: Int32Array, cols: Int32Array, g: Float32Array, nRows: number,
    a: Float32Array, aOff: number, len: number, x: Float32Array, xOff: number,
  ): void {
    if (((len | aOff | xOff) & 3) === 0 && this.inMem(rp, cols, g, a, x)) {
      this.sddmmFn!(rp.byteOffset, cols.byteOffset, g.byteOffset, nRows, a.byteOffset + 4 * aOff, len, x.byteOffset + 4 * xOff, 0, 0);
      return;
    }
    sddmmScalar(rp, cols, g, nRows, a, aOff, len, x, xOff);
  }

  /**
   * The inputs x `[B, T, nIn]` (batch-major) copied into the step-major xa `[T·B, nInP]` (row
   * t·B + b: x[b, t, :], then 1 in column nIn; later columns untouched) and its transpose xaT
   * `[nIn + 1, T·B]`, in the SIMD kernel. Returns false (nothing done) without SIMD or when an
   * array lies outside the kernel's memory: the caller copies then.
   */
  packInput(x: Float32Array, xa: Float32Array, xaT: Float32Array, B: number, T: number, nIn: number, nInP: number): boolean {
    if (this.packInFn === null || !this.inMem(x, xa, xaT)) return false;
    this.packInFn(x.byteOffset, xa.byteOffset, xaT.byteOffset, B, T, nIn, nInP);
    return true;
  }

  /**
   * Activity-sparse a_t += r·W_effᵀ (the sums of {@link SimdGemm.gemm} with A = r, B = W_eff, bit
   * for bit), from W_effᵀ packed by {@link SimdGemm.packJob} and row lists made by buildRowLists (rnn/activity-lists.ts):
   * for b < B, a[aOff + b·N + c] += Σ over the listed k of r[b, k] · W_eff[c, k], c < N, with
   * r[b, k] from `vals` beside `idx`. `idxOff` and `stOff` are element offsets of this step's
   * lists. With `act`, each finished sum then gets {@link SimdGemm.act}'s nonlinearity with
   * rectification before it is stored (a = tanh, r[aOff + …] = a > th ? a : 0): the bits of act
   * after the product, in the same pass. Returns the arguments of {@link SimdGemm.runAt} (`spFwd`,
   * units: the column slabs of {@link SPFWD_SLAB}) for the whole product. Arrays in this memory;
   * N a multiple of 4.
   */
  spFwdJob(
    pk: Float32Array, idx: Int32Array, vals: Float32Array, idxOff: number, starts: Int32Array, stOff: number,
    B: number, a: Float32Array, aOff: number, N: number, act?: { r: Float32Array; th: number },
  ): KernelJob {
    const rd = act === undefined ? 0 : act.r.byteOffset - a.byteOffset;
    return {
      kind: 'spFwd', units: Math.ceil(N / SPFWD_SLAB),
      args: [pk.byteOffset, idx.byteOffset + 4 * idxOff, starts.byteOffset + 4 * stOff, vals.byteOffset - idx.byteOffset, B, a.byteOffset + 4 * aOff, N, act === undefined ? 0 : 1, rd, f32Bits(act?.th ?? 0)],
    };
  }

  /**
   * Output-sampled dr[b, j] = Σ_k dPre[dPreOff + b·N + k] · wT[j·N + k] (the sums of
   * {@link SimdGemm.gemm} with A = dPre, B = wT, bit for bit) for the rows listed for column j:
   * idx[cs[j] … cs[j + 1]) holds b·N·4 (see {@link SimdGemm.columnLists}); other entries of dr are
   * left as they are. Returns the arguments of {@link SimdGemm.runAt} (units: columns j).
   * N a multiple of 4; arrays in this memory.
   */
  spBwdJob(wT: Float32Array, idx: Int32Array, cs: Int32Array, dPre: Float32Array, dPreOff: number, dr: Float32Array, N: number): KernelJob {
    return { kind: 'spBwd', units: N, args: [wT.byteOffset, idx.byteOffset, cs.byteOffset, dPre.byteOffset + 4 * dPreOff, dr.byteOffset, N] };
  }

  /**
   * Activity-sparse weight gradient, transposed, for one panel of w columns i of dPre (copied by
   * {@link SimdGemm.copy2d}: panel[q·ldp + i] = dPre[q + 1 step, i0 + i]): out[j·ldp + i] =
   * Σ_q panel[q·ldp + i] · r[q, j] for i < w (a multiple of 4) and j < nJ, over the samples q
   * listed for column j in chunks of {@link TN_CHUNK}, with r[q, j] in `vals` beside `idx` (see
   * {@link SimdGemm.columnLists} in chunks of TN_CHUNK, made with row bytes 4·ldp): the sums of {@link SimdGemm.gemmTN} (acc
   * false) with A = dPre, B = r, bit for bit; then each chunk of columns stores its part
   * transposed, g[gOff + i·ldg + j] = out[j·ldp + i], while it is still in cache. Returns the
   * arguments of {@link SimdGemm.runAt} (units: columns j). Arrays in this memory.
   */
  spDwJob(
    idx: Int32Array, vals: Float32Array, cs: Int32Array, nChunks: number, nJ: number, w: number,
    panel: Float32Array, out: Float32Array, ldp: number, g: Float32Array, gOff: number, ldg: number,
  ): KernelJob {
    return { kind: 'spDw', units: nJ, args: [idx.byteOffset, cs.byteOffset, nChunks, nJ, w, vals.byteOffset - idx.byteOffset, panel.byteOffset, out.byteOffset, ldp, g.byteOffset + 4 * gOff, ldg] };
  }

  /** {@link SimdGemm.copy2d} as a {@link KernelJob} (units: rows). */
  copyJob(src: Float32Array, sOff: number, ls: number, dst: Float32Array, dOff: number, ld: number, rows: number, w: number): KernelJob {
    return { kind: 'copy', units: rows, args: [src.byteOffset + 4 * sOff, 4 * ls, dst.byteOffset + 4 * dOff, 4 * ld, 4 * w] };
  }

  /**
   * {@link SimdGemm.transpose} as a {@link KernelJob} (units: groups of 4 rows of src), or null
   * where the kernel cannot run it (then nothing is done).
   */
  transposeJob(src: Float32Array, sOff: number, ls: number, dst: Float32Array, dOff: number, ld: number, rows: number, cols: number): KernelJob | null {
    if (((rows | cols | ls | ld | sOff | dOff) & 3) !== 0 || !this.inMem(src, dst)) return null;
    return { kind: 'transpose', units: rows / 4, args: [src.byteOffset + 4 * sOff, 4 * ls, dst.byteOffset + 4 * dOff, 4 * ld, cols] };
  }

  /**
   * W_effᵀ [N, N] (row k = column k of W_eff) packed in slabs of {@link SPFWD_SLAB} output columns
   * for {@link SimdGemm.spFwdJob}, read from W_eff [N, N]: slab c0 (of width w) at pk[N·c0 …], row
   * k of it at + k·w: pk[N·c0 + k·w + c − c0] = weff[c·N + k]; as a {@link KernelJob} (units:
   * slabs). N a multiple of 4; arrays in this memory.
   */
  packJob(weff: Float32Array, N: number, pk: Float32Array): KernelJob {
    return { kind: 'pack', units: Math.ceil(N / SPFWD_SLAB), args: [weff.byteOffset, N, pk.byteOffset] };
  }

  /**
   * Runs units [lo, hi) of a job made by {@link SimdGemm.spFwdJob}, {@link SimdGemm.spBwdJob},
   * {@link SimdGemm.spDwJob}, {@link SimdGemm.actJob} or {@link SimdGemm.bwdJob} (byte pointers
   * into this memory, so that a helper thread bound to the same shared memory runs them alike).
   * Every output belongs to one unit and is computed by the kernel in its fixed order: splitting
   * the units over threads changes no bit. spFwd uses 2·{@link SPFWD_SLAB} floats of this
   * instance's gemmTN scratch.
   */
  runAt(p: KernelJob, lo: number, hi: number): void {
    const x = p.args;
    if (p.kind === 'spFwd') {
      const [pk, pi, ps, dv, B, pa, N, fused, rd, th] = x;
      const sc = this.scratch(2 * SPFWD_SLAB);
      for (let s = lo; s < hi; s++) {
        const c0 = s * SPFWD_SLAB;
        const w = Math.min(SPFWD_SLAB, N - c0);
        if (fused === 1) this.spFwdActFns[w / 4 - 1](pk + 4 * N * c0, pi, ps, dv, B, pa + 4 * c0, 4 * N, sc, rd, bitsF32(th));
        else this.spFwdFns[w / 4 - 1](pk + 4 * N * c0, pi, ps, dv, B, pa + 4 * c0, 4 * N, sc);
      }
    } else if (p.kind === 'act') {
      const [pa, pr, N, th, rect] = x;
      this.actFns[rect](pa + 4 * N * lo, pr + 4 * N * lo, (hi - lo) * N, bitsF32(th));
    } else if (p.kind === 'bwd') {
      const [pd, pa, pdr, pdz, dzS, pw, N, nf, th, flush] = x;
      const row = 4 * N * lo;
      this.bwdFns[nf >>> 16](pd + row, pa + row, pdr + row, pdz + 4 * dzS * lo, dzS, pw, hi - lo, N, nf & 0xffff, bitsF32(th), bitsF32(flush));
    } else if (p.kind === 'spBwd') {
      const [wT, pi, pcs, pd, pdr, N] = x;
      this.spBwdFn!(wT, pi, pcs, lo, hi, pd, pdr, 4 * N);
    } else if (p.kind === 'spDw') {
      const [pi, pcs, nC, nJ, w, dv, panel, out, ldp, pg, ldg] = x;
      const iMain = Math.floor(w / SPDW_BLOCK) * SPDW_BLOCK;
      if (iMain > 0) this.spDwFns[SPDW_BLOCK / 4 - 1](pi, pcs, nC, nJ, lo, hi, 0, 4 * iMain, dv, panel, out, 4 * ldp);
      if (w > iMain) this.spDwFns[(w - iMain) / 4 - 1](pi, pcs, nC, nJ, lo, hi, 4 * iMain, 4 * w, dv, panel, out, 4 * ldp);
      // These columns' part of g, transposed while still in cache: g[i·ldg + j] = out[j·ldp + i].
      if ((((hi - lo) | lo | ldp | ldg | (pg >> 2)) & 3) === 0) this.transposeFn!(out + 4 * lo * ldp, 4 * ldp, pg + 4 * lo, 4 * ldg, hi - lo, w);
      else {
        const F = new Float32Array(this.buffer!);
        for (let i = 0; i < w; i++) for (let j = lo; j < hi; j++) F[(pg >> 2) + i * ldg + j] = F[(out >> 2) + j * ldp + i];
      }
    } else if (p.kind === 'lists') {
      const [pd, B, N] = x;
      const d = new Int32Array(this.buffer!, pd + 4 * LIST_DESC * lo, LIST_DESC * (hi - lo));
      for (let o = 0; o < d.length; o += LIST_DESC) this.listsAt(d[o], d[o + 1], d[o + 2], B, N, d[o + 3], d[o + 4], d[o + 5], d[o + 6], d[o + 7], d[o + 8], d[o + 9], d[o + 10]);
    } else if (p.kind === 'spmm') {
      // Rows [lo, hi): their row pointers and output columns (rows of out hold one value per CSR row).
      const [prp, pc, pv, px, nb, po, ldo, acc] = x;
      const wide = 4 * SPMM_WIDE;
      const bw = nb - (nb % wide);
      if (bw > 0) this.spmmFns[acc](prp + 4 * lo, pc, pv, hi - lo, px, 0, bw, po + 4 * lo, ldo);
      if (nb > bw) this.spmmFns[2 + acc](prp + 4 * lo, pc, pv, hi - lo, px, bw, nb, po + 4 * lo, ldo);
    } else if (p.kind === 'sddmm') {
      const [prp, pc, pg, pa, len, px] = x;
      this.sddmmFn!(prp + 4 * lo, pc, pg, hi - lo, pa + 4 * lo * len, len, px, 0, 0);
    } else if (p.kind === 'copy') {
      const [ps, ls, pd, ld, wb] = x;
      this.copy2dFn!(ps + lo * ls, ls, pd + lo * ld, ld, hi - lo, wb);
    } else if (p.kind === 'transpose') {
      const [ps, ls, pd, ld, cols] = x;
      this.transposeFn!(ps + 4 * lo * ls, ls, pd + 16 * lo, ld, 4 * (hi - lo), cols);
    } else {
      const [pw, N, pk] = x;
      for (let s = lo; s < hi; s++) {
        const c0 = s * SPFWD_SLAB;
        const w = Math.min(SPFWD_SLAB, N - c0);
        this.transposeFn!(pw + 4 * N * c0, 4 * N, pk + 4 * N * c0, 4 * w, w, N);
      }
    }
  }

  /**
   * dst[dOff + c·ld + r] = src[sOff + r·ls + c] for r < rows, c < cols, in the SIMD kernel when
   * rows, cols, both strides and both offsets are multiples of 4 and both arrays lie in this
   * memory; returns false (nothing done) otherwise.
   */
  transpose(src: Float32Array, sOff: number, ls: number, dst: Float32Array, dOff: number, ld: number, rows: number, cols: number): boolean {
    const job = this.transposeJob(src, sOff, ls, dst, dOff, ld, rows, cols);
    if (job === null) return false;
    this.runAt(job, 0, job.units);
    return true;
  }

  /**
   * The CSR of the [N, N] matrix `m` (rows i, entries ≠ 0 in increasing j as cols = j·Bp, with
   * their values when `vals` is given) in the SIMD kernels, unless it has more than `cap` entries
   * (then nothing is written and the result is false). Null (nothing done) when the kernels cannot
   * run it: N not a multiple of 4, or an array outside this memory. `count` is an int32 cell in
   * this memory.
   */
  csr(m: Float32Array, N: number, Bp: number, cap: number, rp: Int32Array, cols: Int32Array, vals: Float32Array | null, count: Int32Array): boolean | null {
    if ((N & 3) !== 0 || !this.inMem(m, rp, cols, count) || (vals !== null && !this.inMem(vals, m))) return null;
    if (cap < N * N) {
      // Counted in blocks, so that a dense matrix is refused after cap / density entries, not N².
      let nnz = 0;
      for (let s = 0; s < N * N; s += CSR_COUNT_BLOCK) {
        this.nnzCountFn!(m.byteOffset + 4 * s, Math.min(CSR_COUNT_BLOCK, N * N - s), count.byteOffset);
        nnz += count[0];
        if (nnz > cap) return false;
      }
    }
    this.csrRowsFn!(m.byteOffset, N, Bp, rp.byteOffset, cols.byteOffset, vals === null ? 0 : vals.byteOffset, vals === null ? 0 : 1);
    return true;
  }

  /**
   * How many of the n floats a[off …] are greater than th (countAbove of rnn/activity-lists.ts),
   * in the SIMD kernel; null (nothing done) when n or off is not a multiple of 4 or an array lies
   * outside this memory. `count` is an int32 cell in this memory.
   */
  countAbove(a: Float32Array, off: number, n: number, th: number, count: Int32Array): number | null {
    if (((n | off) & 3) !== 0 || !this.inMem(a, count)) return null;
    this.aboveCountFn!(a.byteOffset + 4 * off, n, th, count.byteOffset);
    return count[0];
  }

  /**
   * Column lists from the row lists of `steps` steps (made by {@link SimdGemm.rowLists}: step t's
   * entries at idx[idxOff + t·B·N …], its starts at starts[stOff + t·(4B + 1) …]), over the rows
   * q = t·B + b in chunks of `chunk` rows: for chunk c = ⌊q / chunk⌋ and unit k, the rows q that
   * list k in increasing q, as q·rowBytes at out[cs[c·N + k] … cs[c·N + k + 1]), with the listed
   * states (vals beside idx) at the same entries of outVals when both are given. One step in one
   * chunk with row bytes 4N: the lists of {@link SimdGemm.spBwdJob}; chunks of {@link TN_CHUNK}:
   * those of {@link SimdGemm.spDwJob}. Touches only the listed entries. `cs` and `pos` (scratch)
   * have nC·N + 1 entries at least. Returns nC, the number of chunks. Arrays in this memory.
   */
  columnLists(
    idx: Int32Array, idxOff: number, vals: Float32Array | null, starts: Int32Array, stOff: number,
    steps: number, B: number, N: number, chunk: number, rowBytes: number,
    out: Int32Array, outVals: Float32Array | null, cs: Int32Array, pos: Int32Array,
  ): number {
    const withVals = vals !== null && outVals !== null;
    this.listsAt(
      idx.byteOffset + 4 * idxOff, starts.byteOffset + 4 * stOff, steps, B, N, chunk, rowBytes, out.byteOffset,
      withVals ? 1 : 0, withVals ? vals.byteOffset - idx.byteOffset : 0, withVals ? outVals.byteOffset : 0, cs.byteOffset, pos.byteOffset,
    );
    return Math.ceil((steps * B) / chunk);
  }

  /** {@link SimdGemm.columnLists} on byte pointers (withVals 0 or 1, dv: vals − idx in bytes). */
  private listsAt(
    pi: number, ps: number, steps: number, B: number, N: number, chunk: number, rowBytes: number,
    pout: number, withVals: number, dv: number, pov: number, pcs: number, ppos: number,
  ): void {
    const buf = this.buffer!;
    const n = Math.ceil((steps * B) / chunk) * N;
    const cs = new Int32Array(buf, pcs, n + 1);
    cs.fill(0);
    this.listCountFn!(pi, ps, steps, B, N, chunk, 4 * B * N, pcs);
    for (let e = 0; e < n; e++) cs[e + 1] += cs[e];
    new Int32Array(buf, ppos, n).set(cs.subarray(0, n));
    this.listScatterFns[withVals](pi, ps, steps, B, N, chunk, 4 * B * N, rowBytes, pout, dv, pov, ppos);
  }

  /**
   * Writes unit u of a {@link SimdGemm.listsJob} into `desc` (int32, {@link LIST_DESC} entries a
   * unit, in this memory): the column lists {@link SimdGemm.columnLists} makes with these
   * arguments. Returns the number of chunks nC.
   */
  describeLists(
    desc: Int32Array, u: number, idx: Int32Array, idxOff: number, vals: Float32Array | null, starts: Int32Array, stOff: number,
    steps: number, B: number, chunk: number, rowBytes: number,
    out: Int32Array, outVals: Float32Array | null, cs: Int32Array, pos: Int32Array,
  ): number {
    const withVals = vals !== null && outVals !== null;
    const o = u * LIST_DESC;
    desc[o] = idx.byteOffset + 4 * idxOff;
    desc[o + 1] = starts.byteOffset + 4 * stOff;
    desc[o + 2] = steps;
    desc[o + 3] = chunk;
    desc[o + 4] = rowBytes;
    desc[o + 5] = out.byteOffset;
    desc[o + 6] = withVals ? 1 : 0;
    desc[o + 7] = withVals ? vals.byteOffset - idx.byteOffset : 0;
    desc[o + 8] = withVals ? outVals.byteOffset : 0;
    desc[o + 9] = cs.byteOffset;
    desc[o + 10] = pos.byteOffset;
    return Math.ceil((steps * B) / chunk);
  }

  /**
   * Several {@link SimdGemm.columnLists} calls, described in `desc` by
   * {@link SimdGemm.describeLists}, as a {@link KernelJob} (units: the calls; their outputs must
   * not overlap). Arrays in this memory.
   */
  listsJob(desc: Int32Array, units: number, B: number, N: number): KernelJob {
    return { kind: 'lists', units, args: [desc.byteOffset, B, N] };
  }

  /**
   * buildRowLists (rnn/activity-lists.ts) in the SIMD kernel: the same lists, the number of
   * entries returned; null (nothing done) when N is not a multiple of 4 or an array lies outside
   * this memory. `count` is an int32 cell in this memory.
   */
  rowLists(
    a: Float32Array, r: Float32Array, off: number, B: number, N: number, th: number,
    idx: Int32Array, vals: Float32Array, idxOff: number, starts: Int32Array, stOff: number, count: Int32Array,
  ): number | null {
    if ((N & 3) !== 0 || !this.inMem(a, r, idx, vals, starts) || !this.inMem(count, a)) return null;
    this.rowListsFn!(a.byteOffset + 4 * off, r.byteOffset + 4 * off, B, N, th, idx.byteOffset + 4 * idxOff, vals.byteOffset + 4 * idxOff, starts.byteOffset + 4 * stOff, count.byteOffset);
    return count[0];
  }

  /**
   * The CSR (rp, cols, vals) restricted to the entries whose column is marked (markBp[cols[e]] ≠ 0,
   * cols in elements), into (rpF, colsF, valsF) and, with `map`, map[f] = the original index of
   * kept entry f (the JavaScript filterColumns of rnn/model-js.ts, in a kernel: ~14 ms of a pruned
   * CelltypeRNN step on one thread). The outputs need room for all of the input's entries. False
   * (nothing done) when an array lies outside this memory.
   */
  filterColumns(
    rp: Int32Array, cols: Int32Array, vals: Float32Array | null, N: number, markBp: Int32Array,
    rpF: Int32Array, colsF: Int32Array, valsF: Float32Array | null, map: Int32Array | null,
  ): boolean {
    const withVals = vals !== null && valsF !== null;
    if (!this.inMem(rp, cols, markBp, rpF, colsF) || (withVals && !this.inMem(vals, valsF)) || (map !== null && !this.inMem(map, rp))) return false;
    this.filterColumnsFn!(
      rp.byteOffset, cols.byteOffset, withVals ? vals.byteOffset : 0, N, markBp.byteOffset, rpF.byteOffset, colsF.byteOffset,
      withVals ? valsF.byteOffset : 0, map === null ? 0 : map.byteOffset, withVals ? 1 : 0, map === null ? 0 : 1,
    );
    return true;
  }

  /**
   * mark[mOff + j] = −1 where a[off + b·N + j] > th for some b < B, else 0, in the SIMD kernel;
   * false (nothing done) when N is not a multiple of 4 or an array lies outside this memory.
   */
  markActive(a: Float32Array, off: number, B: number, N: number, th: number, mark: Int32Array, mOff: number): boolean {
    if ((N & 3) !== 0 || (off & 3) !== 0 || (mOff & 3) !== 0 || !this.inMem(a, mark)) return false;
    this.orActiveFn!(a.byteOffset + 4 * off, B, N, th, mark.byteOffset + 4 * mOff);
    return true;
  }

  /**
   * dst[dOff + q·ld + c] = src[sOff + q·ls + c] for q < rows, c < w (w a multiple of 4; all
   * offsets multiples of 4; arrays in this memory).
   */
  copy2d(src: Float32Array, sOff: number, ls: number, dst: Float32Array, dOff: number, ld: number, rows: number, w: number): void {
    const job = this.copyJob(src, sOff, ls, dst, dOff, ld, rows, w);
    this.runAt(job, 0, job.units);
  }
}
