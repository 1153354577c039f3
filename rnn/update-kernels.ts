/**
 * WebAssembly SIMD kernels of the per-step parameter update (the optimiser's step and Dale's
 * projection, rnn/optim.ts and rnn/rules.ts), with the same bits as their JavaScript loops: Adam in
 * float64 lanes (f64x2: the same IEEE operations in the same order as the loop's double
 * arithmetic, float32 loads promoted, stores demoted with round-to-nearest like `Math.fround`), the
 * projection as a sign test and a mask (no arithmetic at all). At N = 1440 (2.1 M parameters) the
 * JavaScript loops took 13 and 6 ms of a ~250 ms CelltypeRNN step.
 *
 * The kernels work on arrays inside one {@link UpdateMemory} (a WebAssembly memory of its own): the
 * optimiser keeps its moments there and hands out parameter and gradient storage there (so the
 * training loop's tensors need no copying); {@link updateKernelsOf} finds the memory an array
 * lives in. Without WebAssembly SIMD (or after {@link setUpdateKernelsEnabled}(false)) the
 * callers run their JavaScript loops. A large model's memory is shared: the update then splits
 * into ranges of elements (Adam) or rows (the projection) over the helper threads of
 * rnn/parallel-gemm.ts ({@link UpdateJob}), each element computed alike on any thread.
 */
import { I32, OP, SIMD, WA, Body, moduleBytes, type WasmApi, type WasmMemory, type WasmModule } from './wasm-asm.js';

const F64 = 0x7c;
/** f64x2 and conversion opcodes (after the 0xfd prefix) used here. */
const X = {
  load64Zero: 0x5d, store64Lane: 0x5b, f64x2Splat: 0x14, promoteLow: 0x5f, demoteZero: 0x5e,
  sqrt: 0xef, add: 0xf0, sub: 0xf1, mul: 0xf2, div: 0xf3, i32x4Splat: 0x11, i32x4LtS: 0x39,
} as const;

/**
 * adam(p, g, m, v, bytes, b1, c1, b2, c2, stepSize, bc2sqrt, eps): for each float32 pair at byte
 * offsets k < bytes (a multiple of 8) of p, g, m, v, in float64 lanes:
 * m' = b1·m + c1·g; v' = b2·v + (c2·g)·g; m, v ← float32(m'), float32(v');
 * p ← float32(p − (stepSize·m) / (√v / bc2sqrt + eps)) with the stored (float32) m and v, the
 * expression order of {@link Adam.step}'s loop.
 */
function adamBody(): number[] {
  const P = { p: 0, g: 1, m: 2, v: 3, bytes: 4, b1: 5, c1: 6, b2: 7, c2: 8, ss: 9, bc2: 10, eps: 11 } as const;
  const f = new Body(12, 1);
  const k = f.i(0);
  const V = f.v128(10);
  const C = { b1: V, c1: V + 1, b2: V + 2, c2: V + 3, ss: V + 4, bc2: V + 5, eps: V + 6 };
  const G = V + 7;
  const M = V + 8;
  const W = V + 9; // v'
  const splat = (src: number, dst: number): void => { f.get(src); f.simd(X.f64x2Splat); f.set(dst); };
  splat(P.b1, C.b1); splat(P.c1, C.c1); splat(P.b2, C.b2); splat(P.c2, C.c2); splat(P.ss, C.ss); splat(P.bc2, C.bc2); splat(P.eps, C.eps);
  /** Push the promoted float32 pair at local ptr + k. */
  const load = (ptr: number): void => { f.get(ptr); f.get(k); f.op(OP.i32Add); f.simd(X.load64Zero, 0, 0); f.simd(X.promoteLow); };
  /** Store the (demoted) pair on top of the stack at local ptr + k: the address is pushed first by `addr`. */
  const addr = (ptr: number): void => { f.get(ptr); f.get(k); f.op(OP.i32Add); };
  const store = (): void => { f.simd(X.store64Lane, 0, 0, 0); };
  f.i32c(0); f.set(k);
  f.loop(k, P.bytes, 8, () => {
    load(P.g); f.set(G);
    // m' = b1·m + c1·g
    f.get(C.b1); load(P.m); f.simd(X.mul); f.get(C.c1); f.get(G); f.simd(X.mul); f.simd(X.add);
    f.simd(X.demoteZero); f.set(M);
    addr(P.m); f.get(M); store();
    // v' = b2·v + (c2·g)·g
    f.get(C.b2); load(P.v); f.simd(X.mul); f.get(C.c2); f.get(G); f.simd(X.mul); f.get(G); f.simd(X.mul); f.simd(X.add);
    f.simd(X.demoteZero); f.set(W);
    addr(P.v); f.get(W); store();
    // p − (ss·m) / (√v / bc2 + eps), with the float32 m and v
    addr(P.p);
    load(P.p);
    f.get(C.ss); f.get(M); f.simd(X.promoteLow); f.simd(X.mul);
    f.get(W); f.simd(X.promoteLow); f.simd(X.sqrt); f.get(C.bc2); f.simd(X.div); f.get(C.eps); f.simd(X.add);
    f.simd(X.div);
    f.simd(X.sub);
    f.simd(X.demoteZero);
    store();
  });
  return f.encode();
}

/**
 * dale(w, rows, rowBytes, excBytes, rem): Dale's projection of `rows` rows of float32 (rowBytes and
 * excBytes multiples of 16): in each row, where w < 0 in the excitatory columns (bytes
 * [0, excBytes), then the first `rem` lanes of the next four floats when rem > 0) w becomes +0,
 * where w > 0 in the others (inhibitory) likewise; −0 and NaN stay as they are.
 */
function daleBody(): number[] {
  const P = { w: 0, rows: 1, rb: 2, eb: 3, rem: 4 } as const;
  const f = new Body(5, 4);
  const L = { r: f.i(0), k: f.i(1), row: f.i(2), ib: f.i(3) };
  const V = f.v128(3);
  const Z = V;
  const T = V + 1;
  const SEL = V + 2; // lanes < rem: the straddling vector's excitatory lanes
  f.vf32(0); f.set(Z);
  f.simd(SIMD.const, ...new Uint8Array(Int32Array.from([0, 1, 2, 3]).buffer)); f.get(P.rem); f.simd(X.i32x4Splat); f.simd(X.i32x4LtS); f.set(SEL);
  // ib: where the inhibitory-only loop starts (past the straddling vector, if any).
  f.get(P.eb); f.get(P.rem); f.op(OP.i32Eqz); f.op(OP.i32Eqz); f.i32c(4); f.op(OP.i32Shl); f.op(OP.i32Add); f.set(L.ib);
  /** Push the address row + k, and the vector T loaded from it. */
  const at = (): void => { f.get(L.row); f.get(L.k); f.op(OP.i32Add); f.get(L.row); f.get(L.k); f.op(OP.i32Add); f.vload(); f.set(T); };
  const clamp = (cmp: number): void => { at(); f.get(T); f.get(T); f.get(Z); f.simd(cmp); f.simd(SIMD.andnot); f.vstore(); };
  f.get(P.w); f.set(L.row);
  f.i32c(0); f.set(L.r);
  f.loop(L.r, P.rows, 1, () => {
    f.i32c(0); f.set(L.k);
    f.loop(L.k, P.eb, 16, () => clamp(SIMD.f32x4Lt));
    f.get(P.rem);
    f.op(OP.if, 0x40);
    at(); f.get(T);
    f.get(T); f.get(Z); f.simd(SIMD.f32x4Lt); f.get(T); f.get(Z); f.simd(SIMD.f32x4Gt); f.get(SEL); f.simd(SIMD.bitselect);
    f.simd(SIMD.andnot); f.vstore();
    f.op(OP.end);
    f.get(L.ib); f.set(L.k);
    f.loop(L.k, P.rb, 16, () => clamp(SIMD.f32x4Gt));
    f.addTo(L.row, L.row, P.rb);
  });
  return f.encode();
}

/**
 * mask(t, m, bytes): t ← (m ≠ 0 ? t·m : +0) for the float32 at byte offsets k < bytes (a
 * multiple of 16) of t and m: the float32 product, and +0 wherever m is ±0 whatever t is (the
 * loop of rnn/rules.ts `applyMasks`).
 */
function maskBody(): number[] {
  const P = { t: 0, m: 1, bytes: 2 } as const;
  const f = new Body(3, 1);
  const k = f.i(0);
  const V = f.v128(2);
  const Z = V;
  const M = V + 1;
  f.vf32(0); f.set(Z);
  f.i32c(0); f.set(k);
  f.loop(k, P.bytes, 16, () => {
    f.get(P.m); f.get(k); f.op(OP.i32Add); f.vload(); f.set(M);
    f.get(P.t); f.get(k); f.op(OP.i32Add);
    f.get(P.t); f.get(k); f.op(OP.i32Add); f.vload(); f.get(M); f.simd(SIMD.mulF32x4);
    f.get(M); f.get(Z); f.simd(SIMD.f32x4Ne); f.simd(SIMD.and);
    f.vstore();
  });
  return f.encode();
}

/** The kernels' exported functions, bound to one memory (byte offsets for pointers). */
interface UpdateExports {
  adam(p: number, g: number, m: number, v: number, bytes: number, b1: number, c1: number, b2: number, c2: number, ss: number, bc2: number, eps: number): void;
  dale(w: number, rows: number, rowBytes: number, excBytes: number, rem: number): void;
  mask(t: number, m: number, bytes: number): void;
}

/** The compiled kernels importing a plain [0] or a shared [1] memory (null: not available here). */
const compiled: (WasmModule | null | undefined)[] = [undefined, undefined];
function updateModule(shared: boolean): WasmModule | null {
  const i = shared ? 1 : 0;
  if (compiled[i] === undefined) {
    const bytes = moduleBytes([
      ['adam', [I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, F64], adamBody()],
      ['dale', [I32, I32, I32, I32, I32], daleBody()],
      ['mask', [I32, I32, I32], maskBody()],
    ], shared);
    compiled[i] = WA !== undefined && (!shared || typeof SharedArrayBuffer === 'function') && WA.validate(bytes) ? new WA.Module(bytes) : null;
  }
  return compiled[i];
}

/** Elements per unit of a mask {@link UpdateJob} (a multiple of 4: the kernel's vectors). */
export const MASK_UNIT = 4096;

/** Elements per unit of an Adam {@link UpdateJob} (a multiple of 2: the kernel's float pairs). */
export const ADAM_UNIT = 2048;

/**
 * One update kernel call that splits into units with disjoint outputs: Adam over
 * {@link ADAM_UNIT} elements a unit (its hyperparameters in the memory, see
 * {@link UpdateMemory.adamJob}), the projection over rows, a mask over {@link MASK_UNIT}
 * elements a unit. Byte pointers, so that a helper thread bound to the same shared memory runs it
 * alike ({@link UpdateMemory.runAt}).
 */
export interface UpdateJob {
  kind: 'adam' | 'dale' | 'mask';
  units: number;
  args: number[];
}

let enabled = true;
/** Turn the update kernels off (false: every caller runs its JavaScript loop) or back on; for tests and benchmarks. */
export function setUpdateKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** Largest {@link UpdateMemory} made (bytes): 2 GiB, half of what a 32-bit WebAssembly memory can address (a model of ~130 M parameters). */
export const MAX_UPDATE_BYTES = 2 ** 31;

/** Each memory's kernels, by its buffer (how {@link updateKernelsOf} finds them). */
const byBuffer = new WeakMap<ArrayBuffer | SharedArrayBuffer, UpdateMemory>();

/** Float64 values of an Adam job's hyperparameters at the start of a memory (b1, c1, b2, c2, stepSize, bc2sqrt, eps). */
const HYPER = 8;

/** Memories handed back for reuse ({@link UpdateMemory.release}), at most {@link MAX_RELEASED}. */
const released: UpdateMemory[] = [];
const MAX_RELEASED = 2;

/**
 * A WebAssembly memory of fixed size with the update kernels bound to it; arrays handed to the
 * kernels must be views made by {@link UpdateMemory.alloc}.
 */
export class UpdateMemory {
  /** The WebAssembly memory (what helper threads attach to when shared). */
  readonly memory: WasmMemory;
  /** Whether the memory is shared (a SharedArrayBuffer): its updates may split over helper threads. */
  readonly shared: boolean;
  private readonly buffer: ArrayBuffer | SharedArrayBuffer;
  private readonly fns: UpdateExports;
  private readonly hyper: Float64Array;
  private used = 2 * HYPER;

  private constructor(mod: WasmModule, memory: WasmMemory, shared: boolean, api: WasmApi) {
    this.memory = memory;
    this.shared = shared;
    this.buffer = memory.buffer;
    this.hyper = new Float64Array(this.buffer, 0, HYPER);
    const ex = new api.Instance(mod, { env: { mem: memory } }).exports;
    this.fns = { adam: ex.adam as UpdateExports['adam'], dale: ex.dale as UpdateExports['dale'], mask: ex.mask as UpdateExports['mask'] };
    byBuffer.set(this.buffer, this);
  }

  /**
   * A memory for `floats` float32 values in arrays of `count` (each rounded up to 4 floats), or
   * null where the kernels are off, this runtime lacks WebAssembly SIMD, or the arrays would not
   * fit a 32-bit WebAssembly memory (over {@link MAX_UPDATE_BYTES}; the callers' loops then run).
   * `shared`: a shared memory where this runtime has one (else a plain one).
   */
  static create(floats: number, count: number, shared = false): UpdateMemory | null {
    const share = shared && enabled && updateModule(true) !== null;
    const mod = enabled ? updateModule(share) : null;
    const n = floats + 3 * count + 2 * HYPER;
    if (mod === null || WA === undefined || 4 * n > MAX_UPDATE_BYTES) return null;
    const pages = Math.max(1, Math.ceil((4 * n) / 65536));
    const i = released.findIndex((m) => m.shared === share && m.buffer.byteLength === pages * 65536);
    if (i >= 0) return released.splice(i, 1)[0].reset();
    return new UpdateMemory(mod, new WA.Memory({ initial: pages, maximum: pages, shared: share }), share, WA);
  }

  /**
   * Hands this memory back: a later {@link UpdateMemory.create} of the same size and kind reuses
   * it (zeroed). Its arrays must not be used after this. A training run makes an optimiser per
   * epoch; a new shared memory per epoch grew the process by its size each epoch, as a helper
   * thread's attachment keeps a dropped memory alive until that thread collects garbage.
   */
  release(): void {
    if (released.includes(this)) return;
    released.push(this);
    if (released.length > MAX_RELEASED) released.shift();
  }

  /** Zeroes what was allocated and forgets the allocations (for reuse). */
  private reset(): this {
    new Uint8Array(this.buffer, 0, 4 * this.used).fill(0);
    this.used = 2 * HYPER;
    return this;
  }

  /** The kernels bound to a shared memory made by {@link UpdateMemory.create} in another thread (for running its jobs; allocates nothing). */
  static attach(memory: WasmMemory): UpdateMemory {
    const mod = updateModule(true);
    if (mod === null || WA === undefined) throw new Error('UpdateMemory: cannot attach to a shared memory: this runtime lacks shared WebAssembly SIMD memory');
    return new UpdateMemory(mod, memory, true, WA);
  }

  /** A zeroed float32 array of `n` elements in this memory (16-byte aligned). */
  alloc(n: number): Float32Array {
    const off = this.used;
    const padded = (n + 3) & ~3;
    if (4 * (off + padded) > this.buffer.byteLength) throw new RangeError(`UpdateMemory exhausted: need ${4 * (off + padded)} bytes, have ${this.buffer.byteLength}`);
    this.used += padded;
    return new Float32Array(this.buffer, 4 * off, n);
  }

  /** Whether `a` is a view of this memory. */
  holds(a: Float32Array): boolean {
    return a.buffer === this.buffer;
  }

  /**
   * Adam's update of elements [0, 2⌊n/2⌋) of p, m and v from g (all views of this memory, see
   * the kernel's formula in {@link adamBody}; the caller does an odd last one) as an
   * {@link UpdateJob} (units of {@link ADAM_UNIT} elements); the hyperparameters are stored in
   * this memory until the next job is made.
   */
  adamJob(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, b1: number, b2: number, stepSize: number, bc2sqrt: number, eps: number): UpdateJob {
    const h = this.hyper;
    h[0] = b1; h[1] = 1 - b1; h[2] = b2; h[3] = 1 - b2; h[4] = stepSize; h[5] = bc2sqrt; h[6] = eps;
    const n2 = p.length & ~1;
    return { kind: 'adam', units: Math.ceil(n2 / ADAM_UNIT), args: [p.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, n2] };
  }

  /**
   * Dale's projection of w [N, N] (a view of this memory, row-major [post, pre], first nExc
   * columns excitatory) when N is a multiple of 4; returns false (nothing done) otherwise.
   */
  dale(w: Float32Array, N: number, nExc: number): boolean {
    const job = this.daleJob(w, N, nExc);
    if (job === null) return false;
    this.runAt(job, 0, job.units);
    return true;
  }

  /** {@link UpdateMemory.dale} as an {@link UpdateJob} (units: rows), or null where the kernel cannot run it. */
  daleJob(w: Float32Array, N: number, nExc: number): UpdateJob | null {
    if ((N & 3) !== 0 || w.length !== N * N || !(nExc >= 0 && nExc <= N)) return null;
    return { kind: 'dale', units: N, args: [w.byteOffset, N, nExc] };
  }

  /**
   * The mask kernel's t ← (m ≠ 0 ? t·m : +0) on elements [0, 4⌊n/4⌋) of t and m (views of this
   * memory, n = t.length = m.length; the caller does the last n mod 4) as an {@link UpdateJob}
   * (units of {@link MASK_UNIT} elements).
   */
  maskJob(t: Float32Array, m: Float32Array): UpdateJob {
    const n4 = Math.min(t.length, m.length) & ~3;
    return { kind: 'mask', units: Math.ceil(n4 / MASK_UNIT), args: [t.byteOffset, m.byteOffset, n4] };
  }

  /** Runs units [lo, hi) of a job made by {@link UpdateMemory.adamJob}, {@link UpdateMemory.daleJob} or {@link UpdateMemory.maskJob} for this memory (or, attached, another thread's). */
  runAt(job: UpdateJob, lo: number, hi: number): void {
    const x = job.args;
    if (job.kind === 'mask') {
      const [t, m, n4] = x;
      const e0 = lo * MASK_UNIT;
      this.fns.mask(t + 4 * e0, m + 4 * e0, 4 * (Math.min(n4, hi * MASK_UNIT) - e0));
    } else if (job.kind === 'adam') {
      const [p, g, m, v, n2] = x;
      const e0 = lo * ADAM_UNIT;
      const bytes = 4 * (Math.min(n2, hi * ADAM_UNIT) - e0);
      const h = this.hyper;
      this.fns.adam(p + 4 * e0, g + 4 * e0, m + 4 * e0, v + 4 * e0, bytes, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    } else {
      const [w, N, nExc] = x;
      this.fns.dale(w + 4 * N * lo, hi - lo, 4 * N, 16 * (nExc >> 2), nExc & 3);
    }
  }
}

/** The {@link UpdateMemory} that `a` is a view of, if any (and the kernels are enabled). */
export function updateKernelsOf(a: Float32Array): UpdateMemory | null {
  if (!enabled) return null;
  return byBuffer.get(a.buffer) ?? null;
}

