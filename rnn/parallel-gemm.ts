/**
 * Big matrix products of the `js` backend split over helper threads, with results bit-identical
 * whatever the thread count.
 *
 * How: the work buffers of a large model live in a shared `WebAssembly.Memory` (a
 * {@link SimdGemm} made with `shared: true`); each helper is a `worker_threads` Worker that binds
 * the same SIMD kernels to that memory (rnn/parallel-gemm-worker.ts). A product C (+)= A·Bᵀ or
 * C (+)= Aᵀ·B is cut into chunks of whole output columns (or whole output rows), at multiples of
 * the kernel's register block (4 or 8 columns, 2 or 4 rows), about {@link CHUNKS_PER_THREAD} (gemmTN: {@link TN_CHUNKS_PER_THREAD}) per
 * thread; the calling thread and the helpers claim chunks from a shared counter
 * (rnn/gemm-job.ts) and compute each with the very kernel the single-thread code runs. Every
 * output element is computed by one thread, with the same summation order as without threads
 * (the reduction is never split), so every bit of C is the same for 1, 2, … threads, whoever
 * computes which chunk. A helper the OS does not schedule in time (a loaded machine) just claims
 * fewer chunks.
 *
 * The calling thread stays synchronous (training is a synchronous loop): it posts the job
 * (`Atomics.notify`), claims chunks itself, then waits (polls, then `Atomics.wait`: gemm-job.ts's
 * `awaitChange`) for the chunks the helpers
 * claimed. {@link parallelGemm} with `beside` hands a product to the helpers while the caller runs serial
 * work of its own (listing the active units, copying between memories), then helps with what is
 * left. A chunk that throws, or a helper that exits, surfaces as a {@link GemmThreadError}
 * (never a hang). Helpers start without blocking the caller and join once loaded; they are
 * `unref`ed (they never keep the process alive) and stopped by {@link shutdownGemmThreads}.
 *
 * How many threads a product may use: {@link useGemmThreads} (a number, or a shared Int32Array
 * cell the stage pool updates while the stage runs), at most {@link gemmThreadCap} (the
 * environment variable `DALESWEEP_THREADS`, else the machine's cores). Small models never split:
 * see {@link PARALLEL_MIN_N} and {@link PARALLEL_MIN_MACS}.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { SimdGemm, KernelJob } from './model-js-simd.js';
import type { WasmMemory } from './wasm-asm.js';
import type { UpdateJob, UpdateMemory } from './update-kernels.js';
import { B, BOARD_SIZE, MAX_CUT_CHUNKS, MAX_GEMM_THREADS, OP, JOB_UNITS, awaitChange, claim, closeClaims, openClaims, runChunk, runUpdateChunk } from './gemm-job.js';

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
/** Chunks per thread of a split product (more: better balance on a loaded machine; fewer: less overhead). */
export const CHUNKS_PER_THREAD = 8;
/**
 * Chunks per thread of a split `tn` product: fewer, because every gemmTN call packs its own
 * panels of A, so each chunk repeats that copy (at N = 1440, 8 per thread cost 7-11 % more CPU
 * with 2 threads than with 1; 2 per thread, 2-4 %, and the 2-thread speedup of a dense
 * CelltypeRNN step rose from 1.69-1.71× to 1.79-1.83× on an idle 2-core Intel Xeon VM with AVX-512). The
 * price: a helper descheduled mid-chunk holds up a larger share of the product.
 */
export const TN_CHUNKS_PER_THREAD = 2;
/** Smallest chunk (multiply-adds). */
const MIN_CHUNK_MACS = 1 << 20;
export { MAX_GEMM_THREADS };

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
 * @default 1 (until set; the stage runner sets the pool's share for each stage)
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

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** The memory and scratch block the helper's kernels are bound to (null: none yet). */
  memory: WasmMemory | null;
  scratch: Float32Array | null;
  /** The update memory the helper's update kernels are bound to (null: none yet). */
  update: WasmMemory | null;
  /** Why the helper is unusable (an 'error' or 'exit' event arrived), else null. */
  failed: string | null;
}

/**
 * The job board the running helpers share (see rnn/gemm-job.ts). A new one replaces it whenever
 * the helpers are stopped, so a helper that is still winding down can never take part again.
 */
let board = new Int32Array(new SharedArrayBuffer(4 * BOARD_SIZE));
let generation = 0;
const helpers: Helper[] = [];
const exiting: Promise<number>[] = [];
/** A float32 view of each shared memory in use (the element offsets of the board count from it). */
const wholeViews = new WeakMap<SimdGemm, Float32Array>();

function startHelper(w: number): Helper {
  const { port1, port2 } = new MessageChannel();
  Atomics.store(board, B.chunksDone + w, 0);
  Atomics.store(board, B.ready + w, 0);
  Atomics.store(board, B.exited + w, 0);
  Atomics.store(board, B.crash + w, 0);
  // Not `--input-type` (inherited from `node --input-type=module -e …`, it stops a file worker from loading).
  const execArgv = process.execArgv.some((f) => f.startsWith('--input-type')) ? process.execArgv.filter((f) => !f.startsWith('--input-type')) : undefined;
  let worker: Worker;
  try {
    worker = new Worker(new URL('./parallel-gemm-worker.js', import.meta.url), { workerData: { board, index: w, port: port2 }, transferList: [port2], execArgv });
  } catch (err) {
    stopHelpers();
    throw new GemmThreadError(`gemm helper thread ${w} could not be created: ${(err as Error).message}`);
  }
  worker.unref();
  port1.unref();
  const h: Helper = { worker, port: port1, memory: null, scratch: null, update: null, failed: null };
  // Only seen when the event loop runs (between products): recorded for the next error message.
  worker.on('error', (err: Error) => { h.failed = `${err.name}: ${err.message}`; });
  const own = board;
  worker.on('exit', (code) => {
    h.failed ??= `exited with code ${code}`;
    Atomics.store(own, B.exited + w, 1);
  });
  // Not waited for: it joins the products once it has started (until then the others do its share).
  return h;
}

/** The error to throw for helper `w`, with the message it sent, if any. */
function describe(w: number, h: Helper, what: string): GemmThreadError {
  const msg = receiveMessageOnPort(h.port)?.message as string | undefined;
  return new GemmThreadError(`gemm helper thread ${w} ${what}${msg !== undefined ? `: ${msg}` : h.failed !== null ? ` (${h.failed})` : ''}`);
}

/** The first helper among 1 … n-1 that has exited, or 0. */
function exitedHelper(n: number): number {
  for (let w = 1; w < n; w++) if (Atomics.load(board, B.exited + w) === 1) return w;
  return 0;
}

/** Asks every helper to exit, without waiting; {@link shutdownGemmThreads} awaits them. */
function stopHelpers(): void {
  helpers.forEach((h, i) => {
    Atomics.store(board, B.crash + i + 1, 2); // 2: leave quietly
    exiting.push(h.worker.terminate());
    h.port.close();
  });
  helpers.length = 0;
  Atomics.notify(board, B.seq);
  board = new Int32Array(new SharedArrayBuffer(4 * BOARD_SIZE));
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
 * For tests of the failure path: helper `w` (1-based, already started) exits, as if it crashed,
 * the next time it wakes up (within a quarter of a second).
 */
export function simulateHelperExit(w: number): void {
  if (helpers[w - 1] === undefined) throw new RangeError(`no helper thread ${w} is running`);
  Atomics.store(board, B.crash + w, 1);
}

/**
 * Starts helper threads until `threads` threads (the caller included, at most
 * {@link gemmThreadCap}) can work on products, and waits until they are ready. Optional: split
 * products start helpers themselves, which then join once they have loaded (a few hundred
 * milliseconds), so short runs may not see them; call this first where that matters (tests,
 * benchmarks).
 * @throws GemmThreadError when a helper exits while starting or takes longer than `timeoutMs`
 */
export async function startGemmThreads(threads: number, timeoutMs = 60_000): Promise<void> {
  const n = Math.min(Math.floor(threads), gemmThreadCap());
  while (helpers.length < n - 1) helpers.push(startHelper(helpers.length + 1));
  const t0 = Date.now();
  for (let w = 1; w < n; w++) {
    while (Atomics.load(board, B.ready + w) === 0) {
      if (Atomics.load(board, B.exited + w) === 1) fail(describe(w, helpers[w - 1], 'exited while starting'));
      if (Date.now() - t0 > timeoutMs) fail(describe(w, helpers[w - 1], `did not start within ${timeoutMs / 1000} s`));
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Chunks of split products the running helpers computed (the caller's chunks not counted). */
export function helperChunks(): number {
  let n = 0;
  for (let w = 1; w <= helpers.length; w++) n += Atomics.load(board, B.chunksDone + w);
  return n;
}

/** Number of helper threads running now. */
export function liveGemmThreads(): number {
  return helpers.length;
}

type Kind = 'nt' | 'tn';

/**
 * Smallest product handed to the helpers when the caller has work to run beside it (multiply-adds,
 * see {@link parallelGemm}'s `beside`): posting a job to a polling helper takes a few
 * microseconds, a product of this size ~0.1 ms.
 */
export const BESIDE_MIN_MACS = 1 << 19;

/**
 * The product of {@link SimdGemm.gemm} (`nt`: C[m, n] (+)= Σ_k A[m, k]·B[n, k]) or
 * {@link SimdGemm.gemmTN} (`tn`: C[i, j] (+)= Σ_s A[s, i]·B[s, j]), with the same arguments
 * (element offsets and row strides, C [M, Nc] with row stride ldc), split over the threads
 * allowed now when `k` is shared and the product has at least {@link PARALLEL_MIN_MACS}
 * multiply-adds. Same bits as the single call.
 *
 * With `beside` (serial work that must neither read nor write C, nor write A or B), from
 * {@link BESIDE_MIN_MACS} on: the helper threads compute the product while this thread runs
 * `beside`, then it takes the chunks no helper has claimed yet and waits for the rest. A small
 * product that a single thread would otherwise run alone (e.g. a readout at every time step) so
 * costs the caller nothing but the post, where `beside` takes as long. Without helpers, or below
 * that size, the product runs first, then `beside`. An exception of `beside` is rethrown once the
 * product is complete (no helper writes into C afterwards). A `beside` that does nothing splits a
 * product from that smaller size where the caller has nothing else to do.
 * @throws GemmThreadError when a helper thread exited or a chunk failed (all helpers are then stopped)
 */
export function parallelGemm(
  k: SimdGemm, kind: Kind,
  M: number, Nc: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  Bm: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  acc: boolean,
  beside: (() => void) | null = null,
): void {
  const minMacs = beside === null ? PARALLEL_MIN_MACS : BESIDE_MIN_MACS;
  const macs = M * Nc * K;
  const p = k.shared && macs >= minMacs ? allowed(k.helperScratch.length + 1) : 1;
  if (p <= 1) {
    if (kind === 'nt') k.gemm(M, Nc, K, A, aOff, lda, Bm, bOff, ldb, C, cOff, ldc, acc);
    else k.gemmTN(M, Nc, K, A, aOff, lda, Bm, bOff, ldb, C, cOff, ldc, acc);
    beside?.();
    return;
  }
  // Chunks of whole output columns when there are enough (each thread then reads only its part
  // of B), else of whole rows; at multiples of the kernel's register block.
  const byCols = Nc >= 32 * p;
  const unit = byCols ? (kind === 'nt' ? 4 : 8) : kind === 'nt' ? 2 : 4;
  const units = Math.floor((byCols ? Nc : M) / unit);
  const perThread = kind === 'nt' ? CHUNKS_PER_THREAD : TN_CHUNKS_PER_THREAD;
  const chunks = Math.max(1, Math.min(units, perThread * p, Math.floor(macs / Math.min(MIN_CHUNK_MACS, minMacs))));
  const args = [M, Nc, K, (A.byteOffset >> 2) + aOff, lda, (Bm.byteOffset >> 2) + bOff, ldb, (C.byteOffset >> 2) + cOff, ldc, acc ? 1 : 0];
  runJob(bindGemm(k, p), p, kind === 'nt' ? OP.nt : OP.tn, chunks, args, byCols, unit, null, beside);
}

/**
 * One kernel job (SimdGemm.spFwdJob, spBwdJob, spDwJob, actJob, bwdJob, copyJob, transposeJob,
 * packJob), split into chunks of whole units (column slabs, columns or rows) over the threads
 * allowed now when `k` is shared and the job's `work` (multiply-adds or a like estimate) is at
 * least {@link PARALLEL_MIN_MACS}: chunks of equal cost when the job says what its units cost
 * ({@link costCuts}), else of equal unit counts. Same bits as one call: each output belongs to one
 * unit.
 * @throws GemmThreadError when a helper thread exited or a chunk failed (all helpers are then stopped)
 */
export function parallelKernel(k: SimdGemm, job: KernelJob, work: number): void {
  const p = k.shared && work >= PARALLEL_MIN_MACS ? allowed(k.helperScratch.length + 1) : 1;
  if (p <= 1) {
    k.runAt(job, 0, job.units);
    return;
  }
  let chunks = Math.max(1, Math.min(job.units, CHUNKS_PER_THREAD * p, Math.floor(work / MIN_CHUNK_MACS)));
  const args = jobArgs(job);
  let bounds: Int32Array | null = null;
  if (job.cost !== undefined) {
    chunks = Math.min(chunks, MAX_CUT_CHUNKS);
    bounds = costCuts(job.cost.prefix, job.units, chunks, job.cost.align, cutScratch);
  }
  runJob(bindGemm(k, p), p, OP[job.kind], chunks, args, false, 1, bounds);
}

/**
 * One update job (UpdateMemory.adamJob, daleJob: rnn/update-kernels.ts) split into chunks of
 * whole units over the threads allowed now when the memory is shared and `work` (a multiply-add
 * estimate) is at least {@link PARALLEL_MIN_MACS}; else one call. Same bits: each element belongs
 * to one unit.
 * @throws GemmThreadError when a helper thread exited or a chunk failed (all helpers are then stopped)
 */
export function parallelUpdate(mem: UpdateMemory, job: UpdateJob, work: number): void {
  const p = mem.shared && work >= PARALLEL_MIN_MACS ? allowed(gemmThreadCap()) : 1;
  if (p <= 1) {
    mem.runAt(job, 0, job.units);
    return;
  }
  const chunks = Math.max(1, Math.min(job.units, CHUNKS_PER_THREAD * p, Math.floor(work / MIN_CHUNK_MACS)));
  const args = jobArgs(job);
  startHelpers(p);
  for (let w = 1; w < p; w++) {
    const h = helpers[w - 1];
    if (h.update !== mem.memory) {
      h.port.postMessage({ update: mem.memory });
      h.update = mem.memory;
    }
  }
  runJob((i) => runUpdateChunk(board, mem, i), p, OP[job.kind], chunks, args, false, 1);
}

/** Starts helpers 1 … p − 1 where missing; fails if one has exited. */
function startHelpers(p: number): void {
  for (let w = 1; w < p; w++) {
    if (helpers.length < w) helpers.push(startHelper(w));
    if (Atomics.load(board, B.exited + w) === 1) fail(describe(w, helpers[w - 1], 'has exited'));
  }
}

/** Binds helpers 1 … p − 1 to k's memory (starting them where missing); returns how the caller runs chunk i. */
function bindGemm(k: SimdGemm, p: number): (i: number) => void {
  startHelpers(p);
  let F = wholeViews.get(k);
  if (F === undefined) {
    F = k.wholeView()!;
    wholeViews.set(k, F);
  }
  for (let w = 1; w < p; w++) {
    const h = helpers[w - 1];
    const scratch = k.helperScratch[w - 1];
    if (h.memory !== k.memory || h.scratch !== scratch) {
      h.port.postMessage({ memory: k.memory, scratch: { byteOffset: scratch.byteOffset, floats: scratch.length }, arithmetic: k.arithmetic });
      h.memory = k.memory;
      h.scratch = scratch;
    }
  }
  const view = F;
  return (i) => runChunk(board, k, view, i);
}

const cutScratch = new Int32Array(MAX_CUT_CHUNKS + 1);

/** A kernel or update job's board arguments: its own, zeros up to {@link JOB_UNITS}, then its unit count. */
function jobArgs(job: KernelJob | UpdateJob): number[] {
  const args = [...job.args];
  while (args.length < JOB_UNITS - B.args) args.push(0);
  args.push(job.units);
  return args;
}

/**
 * Cuts units [0, units) into `chunks` consecutive chunks of about equal cost: out[i] is where
 * chunk i starts (out[0] = 0, out[chunks] = units), the first unit u (a multiple of `align`, or
 * `units`) at which the cost so far, prefix[u] − prefix[0], reaches i/chunks of the total. Chunks
 * may be empty. `prefix` has units + 1 nondecreasing entries. Returns `out`.
 */
export function costCuts(prefix: ArrayLike<number>, units: number, chunks: number, align: number, out: Int32Array): Int32Array {
  const base = prefix[0];
  const total = prefix[units] - base;
  out[0] = 0;
  for (let i = 1; i < chunks; i++) {
    const target = base + (total * i) / chunks;
    let lo = out[i - 1];
    let hi = units;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (prefix[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    out[i] = Math.max(out[i - 1], Math.min(units, Math.round(lo / align) * align));
  }
  out[chunks] = units;
  return out;
}

/** Whether this thread is running the `beside` work of a posted job (which may not post another). */
let besideRunning = false;

/**
 * Posts one job (board `op`, its `chunks`, the argument slots from B.args on) to `p` − 1 helpers,
 * runs `beside` (when given) while they start on it, computes chunks on this thread too (`run(i)`
 * computes chunk i) and returns when all are done.
 * @throws GemmThreadError when a helper thread exited or a chunk failed (all helpers are then stopped)
 */
function runJob(run: (i: number) => void, p: number, op: number, chunks: number, args: number[], byCols: boolean, unit: number, bounds: Int32Array | null = null, beside: (() => void) | null = null): void {
  // (one job on the board at a time)
  if (besideRunning) throw new Error('a split product or kernel job was started by the work run beside another one (parallelGemm with beside)');
  // Open the new generation first: from here on no late thread can claim a chunk of the last job.
  const g = ++generation;
  Atomics.store(board, B.next, openClaims(g));
  for (let i = 0; i < args.length; i++) board[B.args + i] = args[i];
  board[B.op] = op;
  board[B.workers] = p;
  board[B.chunks] = chunks;
  board[B.byCols] = byCols ? 1 : 0;
  board[B.unit] = unit;
  board[B.cuts] = bounds === null ? 0 : 1;
  if (bounds !== null) for (let i = 0; i <= chunks; i++) board[B.bounds + i] = bounds[i];
  board[B.error] = 0;
  Atomics.store(board, B.done, 0);
  Atomics.store(board, B.seq, g);
  Atomics.notify(board, B.seq);
  if (p > maxUsed) maxUsed = p;
  let mine: unknown = null;
  let besideError: { err: unknown } | null = null;
  if (beside !== null) {
    besideRunning = true;
    try {
      beside();
    } catch (err) {
      besideError = { err };
    } finally {
      besideRunning = false;
    }
  }
  for (let i = claim(board, g); i >= 0; i = claim(board, g)) {
    try {
      run(i);
    } catch (err) {
      mine = err;
      break;
    }
    Atomics.add(board, B.done, 1);
  }
  // Wait for the chunks the helpers claimed (all of them: none may still write into C afterwards).
  const claimed = mine === null ? chunks : closeClaims(board, g) - 1;
  for (;;) {
    const d = Atomics.load(board, B.done);
    if (d >= claimed) break;
    const dead = exitedHelper(p);
    if (dead > 0) fail(describe(dead, helpers[dead - 1], 'exited during a product'));
    awaitChange(board, B.done, d, 1000);
  }
  if (mine !== null) fail(new GemmThreadError(`a block of a split product failed on the calling thread: ${(mine as Error).name}: ${(mine as Error).message}`));
  const bad = Atomics.load(board, B.error);
  if (bad > 0) fail(describe(bad - 1, helpers[bad - 2], 'failed'));
  if (besideError !== null) throw besideError.err;
}

/** Stops every helper and throws `err`. */
function fail(err: GemmThreadError): never {
  stopHelpers();
  throw err;
}
