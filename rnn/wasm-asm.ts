/**
 * A tiny WebAssembly bytecode emitter for the `js` backend's kernels (rnn/model-js-simd.ts,
 * rnn/activity-kernels.ts): LEB128 numbers, the opcodes used, the {@link Body} builder of one
 * function (locals, loops, constants), the fused or unfused multiply-add, the module around
 * exported functions that import one memory, and the few WebAssembly JS-API members the kernels'
 * owners use ({@link WA}). No toolchain, no binary blob.
 */

/** A compiled WebAssembly module. */
export interface WasmModule { readonly __brand?: 'WasmModule' }
/** A WebAssembly.Memory (its buffer is a SharedArrayBuffer when made with `shared: true`). */
export interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer }
/** The few WebAssembly JS-API members used (lib ES2022 does not declare them). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (desc: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
  Instance: new (mod: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
/** The runtime's WebAssembly API (undefined where there is none). */
export const WA: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
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

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

export const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, i32Store: 0x36, f32Store: 0x38, i32Const: 0x41, f32Const: 0x43,
  if: 0x04, i32Eqz: 0x45, i32LtS: 0x48, i32GtS: 0x4a, i32GeS: 0x4e, i32Popcnt: 0x69, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74, i32ShrU: 0x76, f32Add: 0x92,
  simd: 0xfd,
} as const;
export const SIMD = {
  load: 0x00, load32Splat: 0x09, store: 0x0b, const: 0x0c, shuffle: 0x0d, extractF32: 0x1f,
  f32x4Eq: 0x41, f32x4Ne: 0x42, f32x4Gt: 0x44, i32x4Bitmask: 0xa4, i32x4Sub: 0xb1, extractI32: 0x1b, f32x4Lt: 0x43, and: 0x4e, andnot: 0x4f, or: 0x50, bitselect: 0x52, absF32x4: 0xe0, pminF32x4: 0xea, pmaxF32x4: 0xeb,
  addF32x4: 0xe4, subF32x4: 0xe5, mulF32x4: 0xe6, divF32x4: 0xe7,
  f32x4Splat: 0x13, relaxedMadd: 0x105,
} as const;
export const VOID = 0x40;
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** A tiny assembler for one function body with locals numbered after its parameters. */
export class Body {
  readonly c: number[] = [];
  private nI32 = 0;
  private nV128 = 0;
  private readonly i32Base: number;
  private v128Base = -1;
  /** Constant locals: float32 bits → v128 local (set once at function entry, see {@link vconst}). */
  private readonly consts = new Map<number, number>();

  constructor(readonly nParams: number, nI32: number) {
    this.i32Base = nParams;
    this.nI32 = nI32;
  }

  /** Index of i32 local #k (0-based, after the parameters). */
  i(k: number): number {
    return this.i32Base + k;
  }

  /** Declare the v128 locals (once, after the i32 ones); returns the index of the first. */
  v128(n: number): number {
    this.nV128 = n;
    this.v128Base = this.i32Base + this.nI32;
    return this.v128Base;
  }

  get(i: number): void { this.c.push(OP.localGet, ...uleb(i)); }
  set(i: number): void { this.c.push(OP.localSet, ...uleb(i)); }
  tee(i: number): void { this.c.push(OP.localTee, ...uleb(i)); }
  i32c(v: number): void { this.c.push(OP.i32Const, ...sleb(v)); }
  op(...b: number[]): void { this.c.push(...b); }
  simd(op: number, ...imm: number[]): void { this.c.push(OP.simd, ...uleb(op), ...imm); }
  /** v128.const with four equal float32 lanes. */
  vf32(v: number): void {
    const bytes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    this.simd(SIMD.const, ...bytes);
  }
  /**
   * Push four lanes of the float32 `v` from a local set once at function entry (after the v128
   * locals of {@link v128}). Same value as {@link vf32}; for constants inside loops: Node 24's V8
   * rebuilds a v128.const at every use (three instructions), where Node 20's hoisted it, which made
   * the tanh kernel 2.2× slower on Node 24.
   */
  vconst(v: number): void {
    const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
    let idx = this.consts.get(bits);
    if (idx === undefined) {
      if (this.v128Base < 0) throw new Error('Body.vconst: declare the v128 locals first');
      idx = this.v128Base + this.nV128 + this.consts.size;
      this.consts.set(bits, idx);
    }
    this.get(idx);
  }
  /** v128.load at the address on the stack plus `off` bytes. */
  vload(off = 0): void { this.simd(SIMD.load, 0, ...uleb(off)); }
  vstore(off = 0): void { this.simd(SIMD.store, 0, ...uleb(off)); }
  /** local[dst] = local[a] + local[b] (i32). */
  addTo(dst: number, a: number, b: number): void { this.get(a); this.get(b); this.op(OP.i32Add); this.set(dst); }
  /** local[idx] += step (i32). */
  inc(idx: number, step: number): void { this.get(idx); this.i32c(step); this.op(OP.i32Add); this.set(idx); }
  /** for (; local[idx] < local[limit]; local[idx] += step) body() — caller initialises idx. */
  loop(idx: number, limit: number, step: number, body: () => void): void {
    this.op(OP.block, VOID, OP.loop, VOID);
    this.get(idx); this.get(limit); this.op(OP.i32GeS, OP.brIf, 1);
    body();
    this.inc(idx, step);
    this.op(OP.br, 0, OP.end, OP.end);
  }

  /** Encoded function body (locals + code + end). */
  encode(): number[] {
    const locals: number[] = [];
    let groups = 0;
    const nV = this.nV128 + this.consts.size;
    if (this.nI32 > 0) { groups++; locals.push(...uleb(this.nI32), I32); }
    if (nV > 0) { groups++; locals.push(...uleb(nV), V128); }
    const init: number[] = [];
    for (const [bits, idx] of this.consts) {
      const lane = [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24];
      init.push(OP.simd, ...uleb(SIMD.const), ...lane, ...lane, ...lane, ...lane, OP.localSet, ...uleb(idx));
    }
    const body = [...uleb(groups), ...locals, ...init, ...this.c, OP.end];
    return [...uleb(body.length), ...body];
  }
}

/**
 * How the dense product kernels (gemmNT, gemmTN) and tanh's Horner steps multiply and add: `fma`
 * fuses each multiply-add into one rounding
 * (f32x4.relaxed_madd, which V8 compiles to vfmadd on x86-64 with FMA3 and to fmla on arm64),
 * `mul-add` rounds the product and then the sum (f32x4.mul, f32x4.add). The two give different
 * bits, each deterministic; the mode is part of the code version, so their results never mix.
 */
export type Arithmetic = 'fma' | 'mul-add';

/** local[acc] = local[x] · local[y] + local[acc] (v128), fused or not. */
export function emitMadd(f: Body, acc: number, x: number, y: number, fma: boolean): void {
  if (fma) { f.get(x); f.get(y); f.get(acc); f.simd(SIMD.relaxedMadd); } else { f.get(acc); f.get(x); f.get(y); f.simd(SIMD.mulF32x4); f.simd(SIMD.addF32x4); }
  f.set(acc);
}

/** i8x16.shuffle lane bytes selecting the f32 lanes [a0, a2, b0, b2] and [a1, a3, b1, b3] of (a, b). */
export const EVEN_LANES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
export const ODD_LANES = EVEN_LANES.map((x) => x + 4);

/** Most pages a shared memory may have (the maximum a shared-memory import declares: 4 GiB). */
export const SHARED_MAX_PAGES = 65536;

/**
 * A module importing env.mem (one page at least; `shared`: a shared memory of at most
 * {@link SHARED_MAX_PAGES} pages, for helper threads) and exporting `fns` (no results).
 */
export function moduleBytes(fns: [string, number[], number[]][], shared = false): Uint8Array {
  const fnType = (params: number[]): number[] => [0x60, ...uleb(params.length), ...params, 0];
  const types = [...uleb(fns.length), ...fns.flatMap(([, params]) => fnType(params))];
  // Memory import limits: flags 0 (min 1) or, shared, flags 3 (min 1, max SHARED_MAX_PAGES).
  const imports = [1, ...str('env'), ...str('mem'), 0x02, ...(shared ? [0x03, 1, ...uleb(SHARED_MAX_PAGES)] : [0x00, 1])];
  const funcs = [...uleb(fns.length), ...fns.flatMap((_, i) => uleb(i))];
  const exports = [...uleb(fns.length), ...fns.flatMap(([name], i) => [...str(name), 0x00, ...uleb(i)])];
  const code = [...uleb(fns.length), ...fns.flatMap(([, , body]) => body)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

