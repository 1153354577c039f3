/**
 * WebAssembly kernels of the activity-sparse products of the `js` backend (rnn/model-js.ts) and
 * of the data movement they need, emitted with rnn/wasm-asm.ts and bound by SimdGemm
 * (rnn/model-js-simd.ts, whose methods agree with them on the argument layouts): the forward
 * product over each row's active units (`spFwd`), the backward product at the active units
 * (`spBwd`), the W_hh gradient over each column's active samples (`spDw`), and transpose, 2-D
 * copy, CSR building and active-unit marks.
 */
import { EVEN_LANES, ODD_LANES, OP, SIMD, VOID, Body, emitMadd, uleb } from './wasm-asm.js';

// Each computes, for the outputs it writes, the very sums of the dense kernel it replaces (gemmNT
// or gemmTN), term by term in the same order, with the terms whose state factor is exactly 0
// left out. Adding such a term (±0) to a float32 sum leaves it unchanged unless the sum is −0,
// which needs an earlier product to underflow to −0: so the results are those of the dense
// kernels, bit for bit (rnn/model-js-activity.test.ts compares them).

/** Emits tanh of the v128 locals `vs` in place, with one scratch local per value in each of x2s, ps, cs (rnn/model-js-simd.ts). */
export type TanhEmitter = (f: Body, vs: number[], x2s: number[], ps: number[], cs: number[], fma: boolean) => void;

/** Output columns of one packed slab of W_effᵀ in the activity-sparse forward product. */
export const SPFWD_SLAB = 24;
/** Output rows (i) per register block of the activity-sparse weight-gradient product. */
export const SPDW_BLOCK = 24;

/**
 * spFwd(pk, idx, starts, dv, B, a, ld, sc): a[b, c] += Σ_k r[b, k] · W[c, k] for the 4V columns c
 * of one slab, with W's slab packed as pk[k·4V + c] and only the k listed for row b: idx holds
 * byte offsets 4k and, dv bytes further, the values r[b, k]; row b's entries with k ≡ l (mod 4)
 * are idx[starts[4b + l] … starts[4b + l + 1]), each list in increasing k. The gemmNT order: lane
 * l of the dense kernel's accumulator sums the k ≡ l (mod 4) in increasing k, then
 * a += (s0 + s1) + (s2 + s3). Here each list is summed on its own into V accumulators (V
 * independent chains), s0 + s1 and s2 kept in the scratch sc (2V vectors) until s3 is done.
 * Pointers in bytes; ld = row stride of a in bytes.
 *
 * With `tanh` (an emitter of the act kernel's tanh), spFwdAct(…, rd, th): the finished sums get
 * the act kernel's nonlinearity before they are stored, a = tanh(sum) and, rd bytes from each a,
 * r = a > th ? a : 0, the same operations on the same float32 values as act after spFwd, so the
 * same bits, without another pass over a.
 */
export function spFwdBody(V: number, fma: boolean, tanh?: TanhEmitter): number[] {
  const P = { pk: 0, idx: 1, st: 2, dv: 3, B: 4, a: 5, ld: 6, sc: 7, rd: 8, th: 9 } as const;
  const f = new Body(tanh === undefined ? 8 : 10, 7);
  const L = { b: f.i(0), pst: f.i(1), pa: f.i(2), p: f.i(3), n: f.i(4), k4: f.i(5), t: f.i(6) };
  // V accumulators, X, Y, then with tanh its scratch (two values at a time, as in act) and the threshold.
  const ACC = f.v128(V + 2 + (tanh === undefined ? 0 : 7));
  const X = ACC + V;
  const Y = X + 1;
  const S = Y + 1;
  const TH = S + 6;
  if (tanh !== undefined) { f.get(P.th); f.simd(SIMD.f32x4Splat); f.set(TH); }
  f.get(P.st); f.set(L.pst);
  f.get(P.a); f.set(L.pa);
  f.i32c(0); f.set(L.b);
  f.loop(L.b, P.B, 1, () => {
    for (let l = 0; l < 4; l++) {
      f.get(P.idx); f.get(L.pst); f.op(OP.i32Load, 2, ...uleb(4 * l)); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.p);
      f.get(P.idx); f.get(L.pst); f.op(OP.i32Load, 2, ...uleb(4 * l + 4)); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.n);
      for (let v = 0; v < V; v++) { f.vconst(0); f.set(ACC + v); }
      f.loop(L.p, L.n, 4, () => {
        f.get(L.p); f.op(OP.i32Load, 2, 0); f.set(L.k4);
        f.get(L.p); f.get(P.dv); f.op(OP.i32Add); f.simd(SIMD.load32Splat, 2, 0); f.set(X);
        f.get(P.pk); f.get(L.k4); f.i32c(4 * V); f.op(OP.i32Mul, OP.i32Add); f.set(L.t);
        for (let v = 0; v < V; v++) {
          f.get(L.t); f.vload(16 * v); f.set(Y);
          emitMadd(f, ACC + v, X, Y, fma);
        }
      });
      // sc[0] = s0, then s0 + s1; sc[1] = s2; after s3: a += (s0 + s1) + (s2 + s3).
      for (let v = 0; v < V; v++) {
        if (l === 0 || l === 2) {
          f.get(P.sc); f.get(ACC + v); f.vstore(16 * (v + (l === 2 ? V : 0)));
        } else if (l === 1) {
          f.get(P.sc); f.get(P.sc); f.vload(16 * v); f.get(ACC + v); f.simd(SIMD.addF32x4); f.vstore(16 * v);
        } else if (tanh === undefined) {
          f.get(L.pa);
          f.get(L.pa); f.vload(16 * v);
          f.get(P.sc); f.vload(16 * v);
          f.get(P.sc); f.vload(16 * (v + V)); f.get(ACC + v); f.simd(SIMD.addF32x4);
          f.simd(SIMD.addF32x4);
          f.simd(SIMD.addF32x4);
          f.vstore(16 * v);
        } else {
          f.get(L.pa); f.vload(16 * v);
          f.get(P.sc); f.vload(16 * v);
          f.get(P.sc); f.vload(16 * (v + V)); f.get(ACC + v); f.simd(SIMD.addF32x4);
          f.simd(SIMD.addF32x4);
          f.simd(SIMD.addF32x4);
          f.set(ACC + v);
        }
      }
    }
    if (tanh !== undefined) {
      for (let v0 = 0; v0 < V; v0 += 2) {
        const vs = v0 + 1 < V ? [ACC + v0, ACC + v0 + 1] : [ACC + v0];
        tanh(f, vs, [S, S + 1].slice(0, vs.length), [S + 2, S + 3].slice(0, vs.length), [S + 4, S + 5].slice(0, vs.length), fma);
        vs.forEach((x, j) => {
          const off = 16 * (v0 + j);
          f.get(L.pa); f.get(x); f.vstore(off);
          f.get(L.pa); f.get(P.rd); f.op(OP.i32Add); f.get(x); f.get(x); f.get(TH); f.simd(SIMD.f32x4Gt); f.simd(SIMD.and); f.vstore(off);
        });
      }
    }
    f.inc(L.pst, 16);
    f.addTo(L.pa, L.pa, P.ld);
  });
  return f.encode();
}

/** Outputs (rows b of one column j) per register block of the output-sampled backward product. */
const SPBWD_GROUP = 6;

/**
 * spBwd(wT, idx, cs, j0, j1, dPre, dr, K4): dr[b, j] = Σ_k dPre[b, k] · wT[j, k] for j0 ≤ j < j1 and
 * only the rows b listed for j: idx[cs[j] … cs[j + 1]) holds the byte offsets b·K4 of those rows
 * (in dPre and dr alike); K4 = row length in bytes (a multiple of 16). The gemmNT order: one f32x4
 * accumulator per output over 16-byte steps of k, then (l0 + l1) + (l2 + l3); outputs in groups of
 * {@link SPBWD_GROUP} rows (independent chains sharing each load of wT; V8 hoists a loop's loads
 * to its top, so a wider block spills), then 4, then 1. Pointers in bytes.
 */
export function spBwdBody(fma: boolean): number[] {
  const P = { wT: 0, idx: 1, cs: 2, j0: 3, j1: 4, dPre: 5, dr: 6, K4: 7 } as const;
  const f = new Body(8, 15);
  const L = { j: f.i(0), pw: f.i(1), e: f.i(2), end: f.i(3), pdr: f.i(4), k: f.i(5), t: f.i(6), q0: f.i(7) };
  const A0 = f.v128(13); // 8 accumulators, then X, Y, Y2 and two sums
  const X = A0 + 8;
  const Y = A0 + 9;
  const Y2 = A0 + 10;
  const W0 = A0 + 11;
  const W1 = A0 + 12;
  const pairSum = (u: number, v: number, dst: number): void => {
    f.get(u); f.get(v); f.simd(SIMD.shuffle, ...EVEN_LANES);
    f.get(u); f.get(v); f.simd(SIMD.shuffle, ...ODD_LANES);
    f.simd(SIMD.addF32x4); f.set(dst);
  };
  const group = (G: number): void => {
    f.op(OP.block, VOID, OP.loop, VOID);
    f.get(L.e); f.i32c(4 * G); f.op(OP.i32Add); f.get(L.end); f.op(OP.i32GtS, OP.brIf, 1);
    for (let g = 0; g < G; g++) {
      f.get(P.dPre); f.get(L.e); f.op(OP.i32Load, 2, ...uleb(4 * g)); f.op(OP.i32Add); f.set(L.q0 + g);
      f.vconst(0); f.set(A0 + g);
    }
    f.i32c(0); f.set(L.k);
    f.loop(L.k, P.K4, 16, () => {
      f.get(L.pw); f.get(L.k); f.op(OP.i32Add); f.vload(0); f.set(Y);
      for (let g = 0; g < G; g++) {
        f.get(L.q0 + g); f.get(L.k); f.op(OP.i32Add); f.vload(0); f.set(X);
        emitMadd(f, A0 + g, X, Y, fma);
      }
    });
    // Horizontal sums of 4 accumulators at once (as gemmNT): W = [(l0 + l1) + (l2 + l3) of each].
    for (let h = 0; h < G; h += 4) {
      const n = Math.min(4, G - h);
      const at = (x: number): number => A0 + h + Math.min(x, n - 1);
      pairSum(at(0), at(1), X);
      pairSum(at(2), at(3), Y);
      pairSum(X, Y, h === 0 ? W0 : W1);
    }
    for (let g = 0; g < G; g++) {
      f.get(L.pdr); f.get(L.e); f.op(OP.i32Load, 2, ...uleb(4 * g)); f.op(OP.i32Add);
      f.get(g < 4 ? W0 : W1); f.simd(SIMD.extractF32, g & 3);
      f.op(OP.f32Store, 2, 0);
    }
    f.inc(L.e, 4 * G);
    f.op(OP.br, 0, OP.end, OP.end);
  };
  f.get(P.j0); f.set(L.j);
  f.loop(L.j, P.j1, 1, () => {
    f.get(P.wT); f.get(L.j); f.get(P.K4); f.op(OP.i32Mul, OP.i32Add); f.set(L.pw);
    f.get(P.dr); f.get(L.j); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pdr);
    f.get(P.cs); f.get(L.j); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.t);
    f.get(P.idx); f.get(L.t); f.op(OP.i32Load, 2, 0); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.e);
    f.get(P.idx); f.get(L.t); f.op(OP.i32Load, 2, 4); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.end);
    group(SPBWD_GROUP);
    group(4);
    group(1);
  });
  return f.encode();
}

/**
 * spDw(idx, cs, nC, nJ, j0, j1, ib0, ib1, dv, panel, out, ldp): out[j, i] = Σ_q panel[q, i] · r[q, j]
 * for j0 ≤ j < j1 (of nJ columns) and the byte range [ib0, ib1) of i within a row (a multiple of 16V), over only the
 * samples q listed for column j: idx holds byte offsets q·ldp of rows of the panel (ldp = row
 * bytes of panel and out) and, dv bytes further, the values r[q, j]; the entries of column j in
 * sample chunk c (TN_CHUNK samples each) are idx[cs[c·nJ + j] … cs[c·nJ + j + 1]), in increasing q.
 * The gemmTN order: each chunk's sum in increasing q (V accumulators, V independent chains), the
 * first chunk's sum stored, each later one added. Chunk by chunk (the chunk's rows of the panel
 * stay in L1), each chunk over all columns j. Pointers in bytes.
 */
export function spDwBody(V: number, fma: boolean): number[] {
  const P = { idx: 0, cs: 1, nC: 2, nJ: 3, j0: 4, j1: 5, i0: 6, i1: 7, dv: 8, panel: 9, out: 10, ldp: 11 } as const;
  const f = new Body(12, 10);
  const L = { c: f.i(0), j: f.i(1), pc: f.i(2), ib: f.i(3), e0: f.i(4), e: f.i(5), end: f.i(6), q: f.i(7), t: f.i(8), po: f.i(9) };
  const S0 = f.v128(V + 2);
  const X = S0 + V;
  const Y = X + 1;
  const columns = (first: boolean): void => {
    // pc = cs + 4·(c·nJ + j0), po = out + j0·ldp
    f.get(P.cs); f.get(L.c); f.get(P.nJ); f.op(OP.i32Mul); f.get(P.j0); f.op(OP.i32Add); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pc);
    f.get(P.out); f.get(P.j0); f.get(P.ldp); f.op(OP.i32Mul, OP.i32Add); f.set(L.po);
    f.get(P.j0); f.set(L.j);
    f.loop(L.j, P.j1, 1, () => {
      f.get(P.idx); f.get(L.pc); f.op(OP.i32Load, 2, 0); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.e0);
      f.get(P.idx); f.get(L.pc); f.op(OP.i32Load, 2, 4); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.end);
      f.get(P.i0); f.set(L.ib);
      f.loop(L.ib, P.i1, 16 * V, () => {
        for (let v = 0; v < V; v++) { f.vconst(0); f.set(S0 + v); }
        f.get(L.e0); f.set(L.e);
        f.loop(L.e, L.end, 4, () => {
          f.get(L.e); f.op(OP.i32Load, 2, 0); f.set(L.q);
          f.get(L.e); f.get(P.dv); f.op(OP.i32Add); f.simd(SIMD.load32Splat, 2, 0); f.set(X);
          f.get(P.panel); f.get(L.q); f.op(OP.i32Add); f.get(L.ib); f.op(OP.i32Add); f.set(L.t);
          for (let v = 0; v < V; v++) {
            f.get(L.t); f.vload(16 * v); f.set(Y);
            emitMadd(f, S0 + v, X, Y, fma);
          }
        });
        f.get(L.po); f.get(L.ib); f.op(OP.i32Add); f.set(L.t);
        for (let v = 0; v < V; v++) {
          f.get(L.t);
          if (first) f.get(S0 + v); else { f.get(L.t); f.vload(16 * v); f.get(S0 + v); f.simd(SIMD.addF32x4); }
          f.vstore(16 * v);
        }
      });
      f.inc(L.pc, 4);
      f.addTo(L.po, L.po, P.ldp);
    });
  };
  f.i32c(0); f.set(L.c);
  columns(true);
  f.i32c(1); f.set(L.c);
  f.loop(L.c, P.nC, 1, () => columns(false));
  return f.encode();
}

/** Columns per block of the transpose kernel (its destination rows stay in L1 and the TLB). */
const TRANSPOSE_BLOCK = 64;

/**
 * transpose(src, ls, dst, ld, rows, cols): dst[c·ld + r] = src[r·ls + c] for r < rows, c < cols
 * (both multiples of 4; strides in bytes), in 4 × 4 tiles transposed by lane shuffles, column
 * blocks of {@link TRANSPOSE_BLOCK} outermost. Pure copies: bit-exact.
 */
export function transposeBody(): number[] {
  const P = { src: 0, ls: 1, dst: 2, ld: 3, rows: 4, cols: 5 } as const;
  const f = new Body(6, 7);
  const L = { cb: f.i(0), cEnd: f.i(1), r: f.i(2), c: f.i(3), ps: f.i(4), pd: f.i(5), ld4: f.i(6) };
  const V0 = f.v128(8);
  const T0 = V0 + 4;
  const lanes = (x: number[]): number[] => x.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
  f.get(P.ld); f.i32c(2); f.op(OP.i32Shl); f.set(L.ld4);
  f.i32c(0); f.set(L.cb);
  f.loop(L.cb, P.cols, TRANSPOSE_BLOCK, () => {
    // cEnd = min(cb + BLOCK, cols)
    f.get(L.cb); f.i32c(TRANSPOSE_BLOCK); f.op(OP.i32Add); f.set(L.cEnd);
    f.get(L.cEnd); f.get(P.cols); f.get(L.cEnd); f.get(P.cols); f.op(OP.i32LtS, OP.select); f.set(L.cEnd);
    f.i32c(0); f.set(L.r);
    f.loop(L.r, P.rows, 4, () => {
      f.get(L.cb); f.set(L.c);
      f.loop(L.c, L.cEnd, 4, () => {
        // ps = src + r·ls + 4c; pd = dst + c·ld + 4r
        f.get(P.src); f.get(L.r); f.get(P.ls); f.op(OP.i32Mul, OP.i32Add); f.get(L.c); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.ps);
        for (let i = 0; i < 4; i++) {
          f.get(L.ps); f.vload(); f.set(V0 + i);
          f.get(L.ps); f.get(P.ls); f.op(OP.i32Add); f.set(L.ps);
        }
        const shuf = (x: number, y: number, sel: number[], dst: number): void => {
          f.get(x); f.get(y); f.simd(SIMD.shuffle, ...lanes(sel)); f.set(dst);
        };
        shuf(V0, V0 + 1, [0, 4, 1, 5], T0);
        shuf(V0, V0 + 1, [2, 6, 3, 7], T0 + 1);
        shuf(V0 + 2, V0 + 3, [0, 4, 1, 5], T0 + 2);
        shuf(V0 + 2, V0 + 3, [2, 6, 3, 7], T0 + 3);
        shuf(T0, T0 + 2, [0, 1, 4, 5], V0);
        shuf(T0, T0 + 2, [2, 3, 6, 7], V0 + 1);
        shuf(T0 + 1, T0 + 3, [0, 1, 4, 5], V0 + 2);
        shuf(T0 + 1, T0 + 3, [2, 3, 6, 7], V0 + 3);
        f.get(P.dst); f.get(L.c); f.get(P.ld); f.op(OP.i32Mul, OP.i32Add); f.get(L.r); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pd);
        for (let i = 0; i < 4; i++) {
          f.get(L.pd); f.get(V0 + i); f.vstore();
          f.get(L.pd); f.get(P.ld); f.op(OP.i32Add); f.set(L.pd);
        }
      });
    });
  });
  return f.encode();
}

/**
 * nnzCount(m, n, out): i32 out[0] = how many of the n floats at m (n a multiple of 4) are not 0
 * (f32 ≠: −0 counts as 0, NaN as nonzero, as JavaScript's `!== 0`).
 */
export function nnzCountBody(): number[] {
  const P = { m: 0, n: 1, out: 2 } as const;
  const f = new Body(3, 3);
  const L = { p: f.i(0), end: f.i(1), c: f.i(2) };
  f.v128(0);
  f.get(P.m); f.set(L.p);
  f.get(P.m); f.get(P.n); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.end);
  f.i32c(0); f.set(L.c);
  f.loop(L.p, L.end, 16, () => {
    f.get(L.c);
    f.get(L.p); f.vload(); f.vconst(0); f.simd(SIMD.f32x4Ne); f.simd(SIMD.i32x4Bitmask); f.op(OP.i32Popcnt);
    f.op(OP.i32Add); f.set(L.c);
  });
  f.get(P.out); f.get(L.c); f.op(OP.i32Store, 2, 0);
  return f.encode();
}

/**
 * aboveCount(a, n, th, out): i32 out[0] = how many of the n floats at a (n a multiple of 4) are
 * greater than th (f32 >: NaN is not): the entries {@link rowListsBody} would list.
 */
export function aboveCountBody(): number[] {
  const P = { a: 0, n: 1, th: 2, out: 3 } as const;
  const f = new Body(4, 3);
  const L = { p: f.i(0), end: f.i(1), c: f.i(2) };
  const TH = f.v128(1);
  f.get(P.th); f.simd(SIMD.f32x4Splat); f.set(TH);
  f.get(P.a); f.set(L.p);
  f.get(P.a); f.get(P.n); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.end);
  f.i32c(0); f.set(L.c);
  f.loop(L.p, L.end, 16, () => {
    f.get(L.c);
    f.get(L.p); f.vload(); f.get(TH); f.simd(SIMD.f32x4Gt); f.simd(SIMD.i32x4Bitmask); f.op(OP.i32Popcnt);
    f.op(OP.i32Add); f.set(L.c);
  });
  f.get(P.out); f.get(L.c); f.op(OP.i32Store, 2, 0);
  return f.encode();
}

/** qc += 1; when qc reaches chunk: qc = 0 and base += n4 (the next chunk's counters). */
function nextRowOfChunk(f: Body, qc: number, chunk: number, base: number, n4: number): void {
  f.inc(qc, 1);
  f.get(qc); f.get(chunk); f.op(OP.i32GeS, OP.if, VOID);
  f.i32c(0); f.set(qc);
  f.addTo(base, base, n4);
  f.op(OP.end);
}

/**
 * Loops over the rows q = t·B + b (t < steps, b < B) of row lists made by {@link rowListsBody}
 * (step t's entries at idx + t·stepBytes, its starts at st + t·(4B + 1)·4), in chunks of `chunk`
 * rows, calling `entry` for each entry (local `p`: its address in idx) and `row` after each row;
 * `cb` starts at `base` and advances by 4N bytes per chunk.
 */
function overListedRows(
  f: Body, P: { idx: number; st: number; steps: number; B: number; N: number; chunk: number; stepBytes: number },
  L: { t: number; b: number; pidx: number; pst: number; p: number; pend: number; cb: number; qc: number; n4: number },
  base: () => void, entry: () => void, row: () => void,
): void {
  f.get(P.N); f.i32c(2); f.op(OP.i32Shl); f.set(L.n4);
  f.get(P.idx); f.set(L.pidx);
  f.get(P.st); f.set(L.pst);
  base(); f.set(L.cb);
  f.i32c(0); f.set(L.qc);
  f.i32c(0); f.set(L.t);
  f.loop(L.t, P.steps, 1, () => {
    f.i32c(0); f.set(L.b);
    f.loop(L.b, P.B, 1, () => {
      // entries [st[4b], st[4b + 4]) of the step
      f.get(L.pidx); f.get(L.pst); f.op(OP.i32Load, 2, 0); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.p);
      f.get(L.pidx); f.get(L.pst); f.op(OP.i32Load, 2, 16); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.pend);
      f.loop(L.p, L.pend, 4, entry);
      row();
      f.inc(L.pst, 16);
      nextRowOfChunk(f, L.qc, P.chunk, L.cb, L.n4);
    });
    f.inc(L.pst, 4); // (past the step's total, starts[4B])
    f.get(L.pidx); f.get(P.stepBytes); f.op(OP.i32Add); f.set(L.pidx);
  });
}

/**
 * listCount(idx, st, steps, B, N, chunk, stepBytes, cs): from row lists ({@link rowListsBody}) of
 * `steps` steps, adds to the int32 cs[1 + c·N + k] the number of rows q of chunk c = ⌊q / chunk⌋
 * that list unit k (the caller zeroes cs first and then takes the prefix sums: the starts of
 * {@link listScatterBody}'s lists). Touches only the listed entries.
 */
export function listCountBody(): number[] {
  const P = { idx: 0, st: 1, steps: 2, B: 3, N: 4, chunk: 5, stepBytes: 6, cs: 7 } as const;
  const f = new Body(8, 10);
  const L = { t: f.i(0), b: f.i(1), pidx: f.i(2), pst: f.i(3), p: f.i(4), pend: f.i(5), cb: f.i(6), qc: f.i(7), n4: f.i(8), at: f.i(9) };
  overListedRows(f, P, L, () => { f.get(P.cs); f.i32c(4); f.op(OP.i32Add); }, () => {
    // cs[1 + c·N + k] += 1, the entry holding 4k
    f.get(L.cb); f.get(L.p); f.op(OP.i32Load, 2, 0); f.op(OP.i32Add); f.set(L.at);
    f.get(L.at); f.get(L.at); f.op(OP.i32Load, 2, 0); f.i32c(1); f.op(OP.i32Add); f.op(OP.i32Store, 2, 0);
  }, () => undefined);
  return f.encode();
}

/**
 * listScatter(idx, st, steps, B, N, chunk, stepBytes, rowBytes, out, dv, outVals, pos)
 * (`withVals`: the states too): for each row q of the row lists in order and each unit k it
 * lists, writes q·rowBytes at out[pos[c·N + k]] (c = ⌊q / chunk⌋) and advances that cursor; with
 * `withVals` also the state beside the entry (dv bytes after it in idx's memory) at the same
 * entry of outVals. With pos set to the starts from {@link listCountBody}, each chunk's unit k
 * lists its active rows in increasing q.
 */
export function listScatterBody(withVals: boolean): number[] {
  const P = { idx: 0, st: 1, steps: 2, B: 3, N: 4, chunk: 5, stepBytes: 6, rowBytes: 7, out: 8, dv: 9, outVals: 10, pos: 11 } as const;
  const f = new Body(12, 12);
  const L = { t: f.i(0), b: f.i(1), pidx: f.i(2), pst: f.i(3), p: f.i(4), pend: f.i(5), cb: f.i(6), qc: f.i(7), n4: f.i(8), at: f.i(9), slot: f.i(10), row: f.i(11) };
  f.i32c(0); f.set(L.row);
  overListedRows(f, P, L, () => f.get(P.pos), () => {
    // slot = pos[c·N + k]; out[slot] = row (and outVals[slot] = the state); pos[c·N + k] = slot + 1
    f.get(L.cb); f.get(L.p); f.op(OP.i32Load, 2, 0); f.op(OP.i32Add); f.set(L.at);
    f.get(L.at); f.op(OP.i32Load, 2, 0); f.set(L.slot);
    f.get(P.out); f.get(L.slot); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.get(L.row); f.op(OP.i32Store, 2, 0);
    if (withVals) {
      f.get(P.outVals); f.get(L.slot); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
      f.get(L.p); f.get(P.dv); f.op(OP.i32Add); f.op(OP.f32Load, 2, 0);
      f.op(OP.f32Store, 2, 0);
    }
    f.get(L.at); f.get(L.slot); f.i32c(1); f.op(OP.i32Add); f.op(OP.i32Store, 2, 0);
  }, () => { f.get(L.row); f.get(P.rowBytes); f.op(OP.i32Add); f.set(L.row); });
  return f.encode();
}

/**
 * csrRows(m, N, Bp, rp, cols, vals, withVals): the CSR of the [N, N] matrix at m (N a multiple of
 * 4): for each row i in order, its entries ≠ 0 in increasing j, cols[e] = j·Bp, vals[e] = the value
 * (when withVals ≠ 0); rp[i + 1] = entries so far, rp[0] = 0. Four columns tested at once.
 */
export function csrRowsBody(): number[] {
  const P = { m: 0, N: 1, Bp: 2, rp: 3, cols: 4, vals: 5, withVals: 6 } as const;
  const f = new Body(7, 8);
  const L = { i: f.i(0), p: f.i(1), rowEnd: f.i(2), e: f.i(3), bm: f.i(4), cb: f.i(5), prp: f.i(6), n4: f.i(7) };
  const V = f.v128(1);
  f.get(P.N); f.i32c(2); f.op(OP.i32Shl); f.set(L.n4);
  f.get(P.rp); f.i32c(0); f.op(OP.i32Store, 2, 0);
  f.get(P.rp); f.set(L.prp);
  f.get(P.m); f.set(L.p);
  f.i32c(0); f.set(L.e);
  f.i32c(0); f.set(L.i);
  f.loop(L.i, P.N, 1, () => {
    f.get(L.p); f.get(L.n4); f.op(OP.i32Add); f.set(L.rowEnd);
    f.i32c(0); f.set(L.cb);
    f.loop(L.p, L.rowEnd, 16, () => {
      f.get(L.p); f.vload(); f.set(V);
      f.get(V); f.vconst(0); f.simd(SIMD.f32x4Ne); f.simd(SIMD.i32x4Bitmask); f.set(L.bm);
      f.get(L.bm); f.op(OP.if, VOID);
      for (let l = 0; l < 4; l++) {
        f.get(L.bm); f.i32c(1 << l); f.op(OP.i32And); f.op(OP.if, VOID);
        // cols[e] = cb + l·Bp
        f.get(P.cols); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
        f.get(L.cb); if (l > 0) { f.get(P.Bp); f.i32c(l); f.op(OP.i32Mul, OP.i32Add); }
        f.op(OP.i32Store, 2, 0);
        f.get(P.withVals); f.op(OP.if, VOID);
        f.get(P.vals); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
        f.get(V); f.simd(SIMD.extractF32, l);
        f.op(OP.f32Store, 2, 0);
        f.op(OP.end);
        f.inc(L.e, 1);
        f.op(OP.end);
      }
      f.op(OP.end);
      f.get(L.cb); f.get(P.Bp); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.set(L.cb);
    });
    f.inc(L.prp, 4);
    f.get(L.prp); f.get(L.e); f.op(OP.i32Store, 2, 0);
  });
  return f.encode();
}

/**
 * orActive(a, B, N, th, mark): i32 mark[j] = −1 where a[b·N + j] > th for some row b < B, else 0
 * (N a multiple of 4).
 */
export function orActiveBody(): number[] {
  const P = { a: 0, B: 1, N: 2, th: 3, mark: 4 } as const;
  const f = new Body(5, 5);
  const L = { j: f.i(0), b: f.i(1), p: f.i(2), n4: f.i(3), pm: f.i(4) };
  const ACC = f.v128(2);
  const TH = ACC + 1;
  f.get(P.th); f.simd(SIMD.f32x4Splat); f.set(TH);
  f.get(P.N); f.i32c(2); f.op(OP.i32Shl); f.set(L.n4);
  f.i32c(0); f.set(L.j);
  f.loop(L.j, L.n4, 16, () => {
    f.vconst(0); f.set(ACC);
    f.get(P.a); f.get(L.j); f.op(OP.i32Add); f.set(L.p);
    f.i32c(0); f.set(L.b);
    f.loop(L.b, P.B, 1, () => {
      f.get(ACC); f.get(L.p); f.vload(); f.get(TH); f.simd(SIMD.f32x4Gt); f.simd(SIMD.or); f.set(ACC);
      f.addTo(L.p, L.p, L.n4);
    });
    f.get(P.mark); f.get(L.j); f.op(OP.i32Add); f.get(ACC); f.vstore();
  });
  return f.encode();
}

/**
 * filterColumns(rp, cols, vals, N, markBp, rpF, colsF, valsF, map, withVals, withMap): the CSR
 * (rp, cols, vals; N rows, cols in float elements) restricted to the entries e whose column is
 * marked (the int32 markBp[cols[e]] ≠ 0), each row's entries in their order, into (rpF, colsF,
 * valsF); with `withMap`, map[f] = e for each kept entry f. Branch-free: every entry is written
 * at the next free slot, which advances only when the entry is kept (so the outputs need room
 * for all of the input's entries).
 */
export function filterColumnsBody(): number[] {
  const P = { rp: 0, cols: 1, vals: 2, N: 3, markBp: 4, rpF: 5, colsF: 6, valsF: 7, map: 8, withVals: 9, withMap: 10 } as const;
  const f = new Body(11, 5);
  const L = { i: f.i(0), e: f.i(1), eEnd: f.i(2), out: f.i(3), c: f.i(4) };
  f.get(P.rpF); f.i32c(0); f.op(OP.i32Store, 2, 0);
  f.get(P.rp); f.op(OP.i32Load, 2, 0); f.set(L.e);
  f.i32c(0); f.set(L.out);
  f.i32c(0); f.set(L.i);
  f.loop(L.i, P.N, 1, () => {
    f.get(P.rp); f.get(L.i); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 4); f.set(L.eEnd);
    f.loop(L.e, L.eEnd, 1, () => {
      // c = cols[e]; colsF[out] = c (and valsF[out] = vals[e], map[out] = e)
      f.get(P.cols); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 0); f.set(L.c);
      f.get(P.colsF); f.get(L.out); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.get(L.c); f.op(OP.i32Store, 2, 0);
      f.get(P.withVals); f.op(OP.if, VOID);
      f.get(P.valsF); f.get(L.out); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
      f.get(P.vals); f.get(L.e); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.f32Load, 2, 0);
      f.op(OP.f32Store, 2, 0);
      f.op(OP.end);
      f.get(P.withMap); f.op(OP.if, VOID);
      f.get(P.map); f.get(L.out); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.get(L.e); f.op(OP.i32Store, 2, 0);
      f.op(OP.end);
      // out += (markBp[c] ≠ 0)
      f.get(L.out);
      f.get(P.markBp); f.get(L.c); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.op(OP.i32Load, 2, 0);
      f.op(OP.i32Eqz, OP.i32Eqz, OP.i32Add); f.set(L.out);
    });
    // rpF[i + 1] = out
    f.get(P.rpF); f.get(L.i); f.i32c(2); f.op(OP.i32Shl, OP.i32Add); f.get(L.out); f.op(OP.i32Store, 2, 4);
  });
  return f.encode();
}

/** copy2d(src, ls, dst, ld, rows, wb): rows of wb bytes (a multiple of 16) from src (row stride ls) to dst (ld). */
export function copy2dBody(): number[] {
  const P = { src: 0, ls: 1, dst: 2, ld: 3, rows: 4, wb: 5 } as const;
  const f = new Body(6, 4);
  const L = { r: f.i(0), k: f.i(1), ps: f.i(2), pd: f.i(3) };
  f.v128(0);
  f.get(P.src); f.set(L.ps);
  f.get(P.dst); f.set(L.pd);
  f.i32c(0); f.set(L.r);
  f.loop(L.r, P.rows, 1, () => {
    f.i32c(0); f.set(L.k);
    f.loop(L.k, P.wb, 16, () => {
      f.get(L.pd); f.get(L.k); f.op(OP.i32Add);
      f.get(L.ps); f.get(L.k); f.op(OP.i32Add); f.vload();
      f.vstore();
    });
    f.addTo(L.ps, L.ps, P.ls);
    f.addTo(L.pd, L.pd, P.ld);
  });
  return f.encode();
}


/**
 * rowLists(a, r, B, N, th, idx, vals, starts, out): for each row b < B of the [B, N] block at a
 * (N a multiple of 4; row stride 4N bytes), the columns k with a[b, k] > th grouped by k mod 4,
 * each group in increasing k: byte offsets 4k at idx (int32) and the states r[b, k] at vals, group
 * l of row b at entries [starts[4b + l], starts[4b + l + 1]); starts[4B] and out[0] = the number of
 * entries. A first pass counts each residue (lane l of an i32x4 counter), the second writes through
 * four cursors. The SIMD form of buildRowLists (rnn/activity-lists.ts).
 */
export function rowListsBody(): number[] {
  const P = { a: 0, r: 1, B: 2, N: 3, th: 4, idx: 5, vals: 6, st: 7, out: 8 } as const;
  const f = new Body(9, 13);
  const L = { b: f.i(0), k: f.i(1), n4: f.i(2), pa: f.i(3), pr: f.i(4), e: f.i(5), bm: f.i(6), pst: f.i(7), c0: f.i(8) };
  // c0..c3: cursors (entry indices) of the four residue groups; L.c0 + l.
  const V = f.v128(3);
  const TH = V + 1;
  const CNT = V + 2;
  f.get(P.th); f.simd(SIMD.f32x4Splat); f.set(TH);
  f.get(P.N); f.i32c(2); f.op(OP.i32Shl); f.set(L.n4);
  f.get(P.a); f.set(L.pa);
  f.get(P.r); f.set(L.pr);
  f.get(P.st); f.set(L.pst);
  f.i32c(0); f.set(L.e);
  f.i32c(0); f.set(L.b);
  f.loop(L.b, P.B, 1, () => {
    // Count per residue.
    f.vconst(0); f.set(CNT);
    f.i32c(0); f.set(L.k);
    f.loop(L.k, L.n4, 16, () => {
      f.get(CNT);
      f.get(L.pa); f.get(L.k); f.op(OP.i32Add); f.vload(); f.get(TH); f.simd(SIMD.f32x4Gt);
      f.simd(SIMD.i32x4Sub); f.set(CNT);
    });
    // Group starts: c_l = e + counts of the groups before; starts[4b + l] = c_l.
    for (let l = 0; l < 4; l++) {
      if (l === 0) f.get(L.e);
      else { f.get(L.c0 + l - 1); f.get(CNT); f.simd(SIMD.extractI32, l - 1); f.op(OP.i32Add); }
      f.set(L.c0 + l);
      f.get(L.pst); f.get(L.c0 + l); f.op(OP.i32Store, 2, ...uleb(4 * l));
    }
    f.get(L.c0 + 3); f.get(CNT); f.simd(SIMD.extractI32, 3); f.op(OP.i32Add); f.set(L.e);
    // Write through the four cursors.
    f.i32c(0); f.set(L.k);
    f.loop(L.k, L.n4, 16, () => {
      f.get(L.pa); f.get(L.k); f.op(OP.i32Add); f.vload(); f.get(TH); f.simd(SIMD.f32x4Gt); f.simd(SIMD.i32x4Bitmask); f.set(L.bm);
      f.get(L.bm); f.op(OP.if, VOID);
      for (let l = 0; l < 4; l++) {
        f.get(L.bm); f.i32c(1 << l); f.op(OP.i32And); f.op(OP.if, VOID);
        f.get(P.idx); f.get(L.c0 + l); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
        f.get(L.k); if (l > 0) { f.i32c(4 * l); f.op(OP.i32Add); }
        f.op(OP.i32Store, 2, 0);
        f.get(P.vals); f.get(L.c0 + l); f.i32c(2); f.op(OP.i32Shl, OP.i32Add);
        f.get(L.pr); f.get(L.k); f.op(OP.i32Add); f.op(OP.f32Load, 2, ...uleb(4 * l));
        f.op(OP.f32Store, 2, 0);
        f.inc(L.c0 + l, 1);
        f.op(OP.end);
      }
      f.op(OP.end);
    });
    f.addTo(L.pa, L.pa, L.n4);
    f.addTo(L.pr, L.pr, L.n4);
    f.inc(L.pst, 16);
  });
  f.get(L.pst); f.get(L.e); f.op(OP.i32Store, 2, 0);
  f.get(P.out); f.get(L.e); f.op(OP.i32Store, 2, 0);
  return f.encode();
}
