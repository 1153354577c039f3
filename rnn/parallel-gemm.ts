/**
 * Big matrix products of the `js` backend split over helper threads, with results bit-identical
 * whatever the thread count.
 *
 * How: the work buffers of a large model live in a shared `WebAssembly.Memory` (a
 * {@link SimdGemm} made with `shared: true`); each helper is a `worker_threads` Worker that binds
 * the same SIMD kernels to that memory (rnn/parallel-gemm-worker.ts). A product C (+)= A·Bᵀ or
 * C (+)= Aᵀ·B is cut into blocks of whole output columns (or whole output rows), at multiples of
 * the kernel's register block (4 or 8 columns, 2 or 4 rows); the calling thread computes block 0
 * and helper w block w with the very kernel the single-thread code runs. Every output element is
 * computed by one thread, with the same summation order as without threads (the reduction is
 * never split), so every bit of C is the same for 1, 2, … threads.
 *
 * The calling thread stays synchronous (training is a synchronous loop): it hands a helper its
 * block through a small shared control array (`Atomics.notify`), computes its own block, and
 * waits for the helpers (`Atomics.wait`). A helper that throws reports a {@link GemmThreadError};
 * a helper that exits or does not start reports one too (never a hang). Helpers are `unref`ed (they
 * never keep the process alive) and are stopped by {@link shutdownGemmThreads}.
 *
 * How many threads a product may use: {@link useGemmThreads} (a number, or a shared Int32Array
 * cell the engine updates while the stage runs), at most {@link gemmThreadCap} (the environment
 * variable `DALESWEEP_THREADS`, else the machine's cores). Small models never split:
 * see {@link PARALLEL_MIN_N} and {@link PARALLEL_MIN_MACS}.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { SimdGemm, WasmMemory } from './model-js-simd.js';

/** A helper thread failed, exited or did not start; the product's result is not usable. */
export class GemmThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GemmThreadError';
  }
}

/** Thrown for a `DALESWEEP_THREADS` that is not a positive integer. */
export class ThreadCountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThreadCountError';
  }
}

/** Smallest hidden size N whose work buffers are made shareable with helper threads. */
export const PARALLEL_MIN_N = 256;
/** Smallest product (multiply-adds M·Nc·K) split over threads (smaller ones run on the caller). */
export const PARALLEL_MIN_MACS = 1 << 23;
/** Most threads (caller + helpers) one product uses. */
export const MAX_GEMM_THREADS = 16;

/** Slots of a helper's control array (Int32, shared). */
export const CTL = { seq: 0, done: 1, status: 2, ready: 3, op: 4, args: 5, size: 20 } as const;
/** Operations a helper runs. */
export const OPS = { nt: 1, tn: 2, exit: 3, testExit: 4 } as const;
/** Helper status after a job: ok, the job threw (message on the port), the helper exited. */
export const STATUS = { ok: 0, error: 1, exited: 2 } as const;

/** Milliseconds a new helper may take to start before it counts as failed. */
const START_TIMEOUT_MS = 60_000;

/**
 * Most threads products may use in this process: `DALESWEEP_THREADS` when set, else
 * `os.availableParallelism()`, at most {@link MAX_GEMM_THREADS}.
 * @throws ThreadCountError when `DALESWEEP_THREADS` is set but not a positive integer
 */
export function gemmThreadCap(): number {
  const env = process.env.DALESWEEP_THREADS;
  if (env !== undefined && env !== '') {
    if (!/^[1-9][0-9]*$/.test(env.trim())) throw new ThreadCountError(`DALESWEEP_THREADS must be a positive integer (threads per training stage), got "${env}"`);
    return Math.min(MAX_GEMM_THREADS, Number(env));
  }
  return Math.min(MAX_GEMM_THREADS, availableParallelism());
}

let allowance: number | Int32Array = 1;
let maxUsed = 1;

/**
 * Sets how many threads (the caller included) products may use from now on: a number, or a
 * shared Int32Array whose element 0 the engine updates while the stage runs (read before each
 * product). Values are clamped to [1, {@link gemmThreadCap}]. Does not change any result.
 */
export function useGemmThreads(threads: number | Int32Array): void {
  allowance = threads;
}

/** Threads products may use now (the allowance, clamped to [1, `cap`]). */
function allowed(cap: number): number {
  const v = typeof allowance === 'number' ? allowance : Atomics.load(allowance, 0);
  return Math.max(1, Math.min(cap, Math.floor(v) || 1));
}

/** The most threads one product used since the last {@link resetGemmThreadsUsed}. */
export function gemmThreadsUsed(): number {
  return maxUsed;
}

/** Starts counting {@link gemmThreadsUsed} afresh (at 1). */
export function resetGemmThreadsUsed(): void {
  maxUsed = 1;
}

/**
 * Boundaries of `n` items cut into at most `parts` blocks of whole `unit`s (the last block also
 * takes the remainder n mod unit): [0, b1, …, n], strictly increasing, block sizes within one
 * unit of each other (except the remainder).
 */
export function splitRange(n: number, parts: number, unit: number): number[] {
  const units = Math.floor(n / unit);
  const p = Math.max(1, Math.min(parts, units));
  const out = [0];
  for (let w = 1; w < p; w++) out.push(Math.floor((units * w) / p) * unit);
  out.push(n);
  return out;
}

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  port: MessagePort;
  /** The memory the helper's kernels are bound to (null: none yet). */
  memory: WasmMemory | null;
  scratch: Float32Array | null;
  seq: number;
  /** Why the helper is unusable (an 'error' event arrived), else null. */
  failed: string | null;
  /** Test hook: the next job makes the helper exit (see {@link simulateHelperExit}). */
  crashNext: boolean;
}

const helpers: Helper[] = [];
const exiting: Promise<number>[] = [];

function startHelper(index: number): Helper {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * CTL.size));
  const { port1, port2 } = new MessageChannel();
  // Not `--input-type` (inherited from `node --input-type=module -e …`, it stops a file worker from loading).
  const execArgv = process.execArgv.some((f) => f.startsWith('--input-type')) ? process.execArgv.filter((f) => !f.startsWith('--input-type')) : undefined;
  let worker: Worker;
  try {
    worker = new Worker(new URL('./parallel-gemm-worker.js', import.meta.url), { workerData: { ctl, port: port2 }, transferList: [port2], execArgv });
  } catch (err) {
    stopHelpers();
    throw new GemmThreadError(`gemm helper thread ${index} could not be created: ${(err as Error).message}`);
  }
  worker.unref();
  port1.unref();
  const h: Helper = { worker, ctl, port: port1, memory: null, scratch: null, seq: 0, failed: null, crashNext: false };
  // Only seen when the event loop runs (between products): record it, the next wait reports it.
  worker.on('error', (err: Error) => { h.failed = `${err.name}: ${err.message}`; });
  worker.on('exit', (code) => { h.failed ??= `exited with code ${code}`; Atomics.store(ctl, CTL.status, STATUS.exited); });
  const t0 = Date.now();
  while (Atomics.load(ctl, CTL.ready) === 0) {
    const what = Atomics.load(ctl, CTL.status) === STATUS.exited ? 'exited while starting' : Date.now() - t0 > START_TIMEOUT_MS ? `did not start within ${START_TIMEOUT_MS / 1000} s` : null;
    if (what !== null) {
      const err = describe(index, h, what);
      exiting.push(worker.terminate());
      stopHelpers();
      throw err;
    }
    Atomics.wait(ctl, CTL.ready, 0, 100);
  }
  return h;
}

/** The error to throw for helper `index`, with the message it sent, if any. */
function describe(index: number, h: Helper, what: string): GemmThreadError {
  const msg = receiveMessageOnPort(h.port)?.message as string | undefined;
  return new GemmThreadError(`gemm helper thread ${index} ${what}${msg !== undefined ? `: ${msg}` : h.failed !== null ? ` (${h.failed})` : ''}`);
}

/** Posts one job to helper `index` (1-based): binds it to k's memory first when needed. */
function post(index: number, k: SimdGemm, op: number, args: number[]): void {
  while (helpers.length < index) helpers.push(startHelper(helpers.length + 1));
  const h = helpers[index - 1];
  const scratch = k.helperScratch[index - 1];
  let attach = 0;
  if (h.memory !== k.memory || h.scratch !== scratch) {
    h.port.postMessage({ memory: k.memory, scratch: { byteOffset: scratch.byteOffset, floats: scratch.length } });
    h.memory = k.memory;
    h.scratch = scratch;
    attach = 1;
  }
  const c = h.ctl;
  c[CTL.op] = h.crashNext ? OPS.testExit : op;
  c[CTL.args] = attach;
  for (let i = 0; i < args.length; i++) c[CTL.args + 1 + i] = args[i];
  h.seq++;
  Atomics.store(c, CTL.seq, h.seq);
  Atomics.notify(c, CTL.seq);
}

/**
 * Waits until helpers 1 … n-1 finished their jobs (all of them, so none still writes into the
 * memory afterwards). @throws GemmThreadError when one failed or exited (all are then stopped)
 */
function waitAll(n: number): void {
  let err: GemmThreadError | null = null;
  for (let w = 1; w < n; w++) {
    const h = helpers[w - 1];
    const c = h.ctl;
    let what: string | null = null;
    for (;;) {
      const d = Atomics.load(c, CTL.done);
      if (d === h.seq) {
        if (Atomics.load(c, CTL.status) === STATUS.error) what = 'failed';
        break;
      }
      if (Atomics.load(c, CTL.status) === STATUS.exited) {
        what = 'exited during a product';
        break;
      }
      Atomics.wait(c, CTL.done, d, 1000);
    }
    if (what !== null && err === null) err = describe(w, h, what);
  }
  if (err !== null) {
    stopHelpers();
    throw err;
  }
}

/** Asks every helper to exit, without waiting; {@link shutdownGemmThreads} awaits them. */
function stopHelpers(): void {
  for (const h of helpers.splice(0)) {
    const c = h.ctl;
    c[CTL.op] = OPS.exit;
    Atomics.store(c, CTL.seq, h.seq + 1);
    Atomics.notify(c, CTL.seq);
    exiting.push(h.worker.terminate());
    h.port.close();
  }
}

/**
 * Stops all helper threads and waits until they have exited. Call when training ends or fails;
 * the next split product starts new ones.
 */
export async function shutdownGemmThreads(): Promise<void> {
  stopHelpers();
  await Promise.all(exiting.splice(0));
}

/**
 * For tests of the failure path: helper `index` (1-based, already started) exits, as if it
 * crashed, when it receives its next job.
 */
export function simulateHelperExit(index: number): void {
  const h = helpers[index - 1];
  if (h === undefined) throw new RangeError(`no helper thread ${index} is running`);
  h.crashNext = true;
}

/** Number of helper threads running now. */
export function liveGemmThreads(): number {
  return helpers.length;
}

type Kind = 'nt' | 'tn';

/**
 * The product of {@link SimdGemm.gemm} (`nt`: C[m, n] (+)= Σ_k A[m, k]·B[n, k]) or
 * {@link SimdGemm.gemmTN} (`tn`: C[i, j] (+)= Σ_s A[s, i]·B[s, j]), with the same arguments
 * (element offsets and row strides, C [M, Nc] with row stride ldc), split over the threads
 * allowed now when `k` is shared and the product has at least {@link PARALLEL_MIN_MACS}
 * multiply-adds. Same bits as the single call.
 * @throws GemmThreadError when a helper thread fails (all helpers are then stopped)
 */
export function parallelGemm(
  k: SimdGemm, kind: Kind,
  M: number, Nc: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  Bm: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  acc: boolean,
): void {
  const run = kind === 'nt' ? k.gemm : k.gemmTN;
  const p = k.shared && M * Nc * K >= PARALLEL_MIN_MACS ? allowed(k.helperScratch.length + 1) : 1;
  if (p <= 1) {
    run.call(k, M, Nc, K, A, aOff, lda, Bm, bOff, ldb, C, cOff, ldc, acc);
    return;
  }
  // Whole output columns per thread when there are enough (each thread then reads only its part
  // of B), else whole rows; at multiples of the kernel's register block.
  const byCols = Nc >= 32 * p;
  const cuts = byCols ? splitRange(Nc, p, kind === 'nt' ? 4 : 8) : splitRange(M, p, kind === 'nt' ? 2 : 4);
  const parts = cuts.length - 1;
  const block = (w: number): number[] => {
    const lo = cuts[w];
    const n = cuts[w + 1] - lo;
    // [M, Nc, K, aOff, bOff, cOff] of block w (offsets in elements of A, Bm, C).
    if (byCols) return [M, n, K, aOff, bOff + lo * (kind === 'nt' ? ldb : 1), cOff + lo];
    return [n, Nc, K, aOff + lo * (kind === 'nt' ? lda : 1), bOff, cOff + lo * ldc];
  };
  const a0 = A.byteOffset >> 2;
  const b0 = Bm.byteOffset >> 2;
  const c0 = C.byteOffset >> 2;
  for (let w = 1; w < parts; w++) {
    const [m, n, kk, ao, bo, co] = block(w);
    post(w, k, kind === 'nt' ? OPS.nt : OPS.tn, [m, n, kk, a0 + ao, lda, b0 + bo, ldb, c0 + co, ldc, acc ? 1 : 0]);
  }
  if (parts > maxUsed) maxUsed = parts;
  let mine: unknown = null;
  try {
    const [m, n, kk, ao, bo, co] = block(0);
    run.call(k, m, n, kk, A, ao, lda, Bm, bo, ldb, C, co, ldc, acc);
  } catch (err) {
    mine = err;
  }
  waitAll(parts); // even when block 0 threw: helpers write into C
  if (mine !== null) throw mine;
}
