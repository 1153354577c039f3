/**
 * A WebAssembly SIMD (f32x4) matrix-product kernel for the `js` backend, emitted as bytecode
 * here (no toolchain, no binary blob): C[m, n] (+)= Σ_k A[m, k] · B[n, k] on float32 row-major
 * operands that live in one `WebAssembly.Memory`.
 *
 * The kernel handles the block region M even, Nc a multiple of 4, K a multiple of 4 (2×4
 * register block, 8 f32x4 accumulators, horizontal sums at the end); {@link SimdGemm.gemm}
 * completes the edges with the scalar JavaScript kernel. Accumulation is in float32 lanes
 * (four partial sums per output), which is the precision of the stored gradients anyway.
 */

type ScalarGemm = (
  M: number, Nc: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  Bm: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  acc: boolean,
) => void;

// ---- bytecode emission -------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  f32Load: 0x2a, f32Store: 0x38, i32Const: 0x41,
  i32GeS: 0x4e, i32Add: 0x6a, i32Mul: 0x6c, i32Shl: 0x74, f32Add: 0x92,
  simd: 0xfd,
} as const;
const SIMD = { load: 0x00, store: 0x0b, const: 0x0c, extractF32: 0x1f, addF32x4: 0xe4, mulF32x4: 0xe6 } as const;
const VOID = 0x40;
const I32 = 0x7f;
const V128 = 0x7b;

/** Parameters of the exported functions (all i32; pointers in bytes, strides in elements). */
const P = { M: 0, Nc: 1, K: 2, a: 3, lda: 4, b: 5, ldb: 6, c: 7, ldc: 8 } as const;
const NPARAM = 9;
// i32 locals
const L = { m: 9, n: 10, k: 11, a0: 12, a1: 13, b0: 14, b1: 15, b2: 16, b3: 17, c0: 18, c1: 19, kb: 20, lda4: 21, ldb4: 22, ldc4: 23 } as const;
const NI32 = 15;
// v128 locals: s[r][j] = 24 + 4r + j, x0 = 32, x1 = 33, y = 34
const S0 = 24;
const X0 = 32;
const X1 = 33;
const Y = 34;
const NV128 = 11;

function gemmBody(acc: boolean): number[] {
  const c: number[] = [];
  const get = (i: number): void => { c.push(OP.localGet, ...uleb(i)); };
  const set = (i: number): void => { c.push(OP.localSet, ...uleb(i)); };
  const tee = (i: number): void => { c.push(OP.localTee, ...uleb(i)); };
  const i32c = (v: number): void => { c.push(OP.i32Const, ...sleb(v)); };
  const simd = (op: number, ...imm: number[]): void => { c.push(OP.simd, ...uleb(op), ...imm); };
  const shl2 = (from: number, to: number): void => { get(from); i32c(2); c.push(OP.i32Shl); set(to); };
  /** Emits `block loop  <exit if local >= limit> ...`; close with `loopEnd`. */
  const loopStart = (idx: number, limit: number): void => {
    c.push(OP.block, VOID, OP.loop, VOID);
    get(idx); get(limit); c.push(OP.i32GeS, OP.brIf, 1);
  };
  const loopEnd = (idx: number, step: number): void => {
    get(idx); i32c(step); c.push(OP.i32Add); set(idx);
    c.push(OP.br, 0, OP.end, OP.end);
  };

  shl2(P.lda, L.lda4);
  shl2(P.ldb, L.ldb4);
  shl2(P.ldc, L.ldc4);
  shl2(P.K, L.kb);
  i32c(0); set(L.m);
  loopStart(L.m, P.M);
  {
    get(P.a); get(L.m); get(L.lda4); c.push(OP.i32Mul, OP.i32Add); tee(L.a0); get(L.lda4); c.push(OP.i32Add); set(L.a1);
    get(P.c); get(L.m); get(L.ldc4); c.push(OP.i32Mul, OP.i32Add); tee(L.c0); get(L.ldc4); c.push(OP.i32Add); set(L.c1);
    i32c(0); set(L.n);
    loopStart(L.n, P.Nc);
    {
      get(P.b); get(L.n); get(L.ldb4); c.push(OP.i32Mul, OP.i32Add); tee(L.b0);
      get(L.ldb4); c.push(OP.i32Add); tee(L.b1);
      get(L.ldb4); c.push(OP.i32Add); tee(L.b2);
      get(L.ldb4); c.push(OP.i32Add); set(L.b3);
      for (let s = 0; s < 8; s++) { simd(SIMD.const, ...new Array<number>(16).fill(0)); set(S0 + s); }
      i32c(0); set(L.k);
      loopStart(L.k, L.kb);
      {
        get(L.a0); get(L.k); c.push(OP.i32Add); simd(SIMD.load, 0, 0); set(X0);
        get(L.a1); get(L.k); c.push(OP.i32Add); simd(SIMD.load, 0, 0); set(X1);
        const bs = [L.b0, L.b1, L.b2, L.b3];
        for (let j = 0; j < 4; j++) {
          get(bs[j]); get(L.k); c.push(OP.i32Add); simd(SIMD.load, 0, 0); set(Y);
          get(S0 + j); get(X0); get(Y); simd(SIMD.mulF32x4); simd(SIMD.addF32x4); set(S0 + j);
          get(S0 + 4 + j); get(X1); get(Y); simd(SIMD.mulF32x4); simd(SIMD.addF32x4); set(S0 + 4 + j);
        }
      }
      loopEnd(L.k, 16);
      // Horizontal sums and stores: C[c_r + 4n + 4j] (+)= Σ lanes of s[r][j].
      for (let r = 0; r < 2; r++) {
        const cr = r === 0 ? L.c0 : L.c1;
        for (let j = 0; j < 4; j++) {
          const s = S0 + 4 * r + j;
          get(cr); get(L.n); i32c(2); c.push(OP.i32Shl, OP.i32Add);
          get(s); simd(SIMD.extractF32, 0); get(s); simd(SIMD.extractF32, 1); c.push(OP.f32Add);
          get(s); simd(SIMD.extractF32, 2); get(s); simd(SIMD.extractF32, 3); c.push(OP.f32Add, OP.f32Add);
          if (acc) {
            get(cr); get(L.n); i32c(2); c.push(OP.i32Shl, OP.i32Add);
            c.push(OP.f32Load, 2, ...uleb(4 * j), OP.f32Add);
          }
          c.push(OP.f32Store, 2, ...uleb(4 * j));
        }
      }
    }
    loopEnd(L.n, 4);
  }
  loopEnd(L.m, 2);
  c.push(OP.end);
  const locals = [2, ...uleb(NI32), I32, ...uleb(NV128), V128];
  const body = [...locals, ...c];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const type = [1, 0x60, ...uleb(NPARAM), ...new Array<number>(NPARAM).fill(I32), 0];
  const imports = [1, ...str('env'), ...str('mem'), 0x02, 0x00, 1];
  const funcs = [2, 0, 0];
  const exports = [2, ...str('gemmSet'), 0x00, 0, ...str('gemmAcc'), 0x00, 1];
  const code = [2, ...gemmBody(false), ...gemmBody(true)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, type),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

/** The few WebAssembly JS-API members used here (lib ES2022 does not declare them). */
interface WasmModule { readonly __brand?: 'WasmModule' }
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (desc: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (mod: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WA: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

type WasmGemm = (M: number, Nc: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number) => void;

let compiled: WasmModule | null | undefined;

/** The compiled kernel module, or null when this runtime lacks WebAssembly SIMD. */
function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = WA !== undefined && WA.validate(bytes) ? new WA.Module(bytes) : null;
  }
  return compiled;
}

/** True when the SIMD kernel can run here. */
export function simdSupported(): boolean {
  return kernelModule() !== null;
}

/**
 * A block of float32 work memory with the SIMD kernel bound to it. Arrays handed to
 * {@link SimdGemm.gemm} must be views made by {@link SimdGemm.alloc}; otherwise (or without
 * SIMD) the scalar kernel runs.
 */
export class SimdGemm {
  private readonly memory: WasmMemory | null;
  private readonly buffer: ArrayBuffer | null;
  private readonly set: WasmGemm | null = null;
  private readonly acc: WasmGemm | null = null;
  private used = 0;

  /**
   * @param floats total float32 capacity to reserve (each allocation is rounded up to 4 floats)
   * @param scalar the scalar fallback kernel
   * @param useSimd set false to force the scalar kernel
   */
  constructor(floats: number, private readonly scalar: ScalarGemm, useSimd = true) {
    const mod = useSimd ? kernelModule() : null;
    if (mod === null || WA === undefined) {
      this.memory = null;
      this.buffer = null;
      return;
    }
    const pages = Math.max(1, Math.ceil((floats * 4 + 64) / 65536));
    this.memory = new WA.Memory({ initial: pages, maximum: pages });
    this.buffer = this.memory.buffer;
    const inst = new WA.Instance(mod, { env: { mem: this.memory } });
    this.set = inst.exports.gemmSet as WasmGemm;
    this.acc = inst.exports.gemmAcc as WasmGemm;
  }

  /** Whether the SIMD kernel is in use. */
  get simd(): boolean {
    return this.memory !== null;
  }

  /** A zeroed float32 array of `n` elements (inside the kernel's memory when SIMD is on). */
  alloc(n: number): Float32Array {
    if (this.buffer === null) return new Float32Array(n);
    const off = this.used;
    const padded = (n + 3) & ~3;
    if ((off + padded) * 4 > this.buffer.byteLength) throw new RangeError(`SimdGemm memory exhausted: need ${(off + padded) * 4} bytes, have ${this.buffer.byteLength}`);
    this.used += padded;
    return new Float32Array(this.buffer, off * 4, n);
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
    const buf = this.buffer;
    if (buf === null || m2 === 0 || n4 === 0 || k4 === 0 || A.buffer !== buf || Bm.buffer !== buf || C.buffer !== buf) {
      this.scalar(M, Nc, K, A, aOff, lda, Bm, bOff, ldb, C, cOff, ldc, acc);
      return;
    }
    const fn = acc ? this.acc! : this.set!;
    fn(m2, n4, k4, A.byteOffset + 4 * aOff, lda, Bm.byteOffset + 4 * bOff, ldb, C.byteOffset + 4 * cOff, ldc);
    if (K > k4) this.scalar(m2, n4, K - k4, A, aOff + k4, lda, Bm, bOff + k4, ldb, C, cOff, ldc, true);
    if (Nc > n4) this.scalar(m2, Nc - n4, K, A, aOff, lda, Bm, bOff + n4 * ldb, ldb, C, cOff + n4, ldc, acc);
    if (M > m2) this.scalar(M - m2, Nc, K, A, aOff + m2 * lda, lda, Bm, bOff, ldb, C, cOff + m2 * ldc, ldc, acc);
  }
}
