/**
 * The shared job board of rnn/parallel-gemm.ts: one split product at a time, cut into chunks of
 * whole output columns (or rows) that the calling thread and the helper threads claim one by one
 * with an atomic counter, so a thread that the OS does not schedule (a loaded machine) simply
 * claims fewer chunks and never holds the others up. Which thread computes a chunk changes no bit:
 * every chunk runs the same kernel on the same element offsets.
 *
 * Layout of the board (an Int32Array on a SharedArrayBuffer, {@link BOARD_SIZE} elements):
 * - `seq`: job generation g (the helpers wait on it);
 * - `next`: claim counter, (g mod 2^15)·2^16 + next chunk index, reset to the new generation
 *   before anything else of a job is written, so a late thread can never claim a chunk of the
 *   wrong job (a claim is a compare-and-swap that checks the generation);
 * - `done`: chunks finished (computed or failed) of the current job;
 * - `error`: 0, or 1 + the index of the first thread whose chunk threw;
 * - `op` (1 nt, 2 tn, 3-11 the kernel jobs spFwd, spBwd, spDw, act, bwd, copy, transpose, pack, lists,
 *   12-13 the update jobs adam, dale of rnn/update-kernels.ts, 14-15 the kernel jobs spmm, sddmm, 16
 *   the update job mask), `workers` (threads allowed,
 *   the caller included: helper w joins only when w < workers), `chunks`, `byCols`, `unit`, then
 *   the product's arguments: for nt and tn M, Nc, K, aOff, lda, bOff, ldb, cOff, ldc (float32
 *   element offsets from the start of the shared memory), acc; for a kernel job its integer
 *   arguments (SimdGemm.runAt) and, at {@link JOB_UNITS}, its unit count;
 * - `cuts`: 0 when a kernel job's units are cut evenly ({@link blockBounds}), 1 when chunk i is
 *   units [bounds[i], bounds[i + 1]) (cut by cost, see rnn/parallel-gemm.ts);
 * - per helper w (1-based): `chunksDone[w]` (chunks it computed, all jobs), `exited[w]`, `crash[w]`
 *   (1: exit as if crashed, a test hook; 2: leave quietly), `ready[w]` (its modules are loaded);
 * - `bounds`: {@link MAX_CUT_CHUNKS} + 1 unit indices.
 */
import type { SimdGemm, KernelKind } from './model-js-simd.js';
import type { UpdateJob, UpdateMemory } from './update-kernels.js';

/** Most threads (caller + helpers) one product uses. */
export const MAX_GEMM_THREADS = 16;

/**
 * How long a thread polls a board cell before it sleeps on it (`Atomics.wait`), in milliseconds:
 * a helper waiting for the next job, the caller waiting for the helpers' last chunks. Waking a
 * sleeping thread takes ~50-100 µs on a VM, and a CelltypeRNN step posts ~90 jobs; polling for up
 * to 1 ms made the 2-thread step (N = 1440, trained state) 4-6 % faster on the 2-core Xeon VM
 * (interleaved runs, same bits). A helper polls only after a job of its own, so an idle pool
 * (one thread a stage) never polls.
 */
export const POLL_MS = 1;

/**
 * Waits until board[i] is no longer `value`: polls for up to {@link POLL_MS}, then sleeps up to
 * `timeoutMs` (`Atomics.wait`). Returns without a guarantee that it changed (callers re-check).
 */
export function awaitChange(board: Int32Array, i: number, value: number, timeoutMs: number): void {
  const t0 = performance.now();
  while (Atomics.load(board, i) === value) {
    if (performance.now() - t0 >= POLL_MS) {
      Atomics.wait(board, i, value, timeoutMs);
      return;
    }
  }
}

/** Most chunks of a kernel job cut by cost (the size of the board's `bounds`). */
export const MAX_CUT_CHUNKS = 128;
/** Most integer arguments of a kernel job (see {@link SimdGemm.runAt}). */
export const MAX_JOB_ARGS = 12;
const PER_HELPER = 24;
export const B = {
  seq: 0, next: 1, done: 2, error: 3, op: 4, workers: 5, chunks: 6, byCols: 7, unit: 8, args: 9,
  cuts: 10 + MAX_JOB_ARGS,
  chunksDone: PER_HELPER, exited: PER_HELPER + MAX_GEMM_THREADS, crash: PER_HELPER + 2 * MAX_GEMM_THREADS, ready: PER_HELPER + 3 * MAX_GEMM_THREADS,
  bounds: PER_HELPER + 4 * MAX_GEMM_THREADS,
} as const;
/** Elements of the board. */
export const BOARD_SIZE = B.bounds + MAX_CUT_CHUNKS + 1;
/** Board `op` values. */
export const OP = { nt: 1, tn: 2, spFwd: 3, spBwd: 4, spDw: 5, act: 6, bwd: 7, copy: 8, transpose: 9, pack: 10, lists: 11, adam: 12, dale: 13, spmm: 14, sddmm: 15, mask: 16 } as const;
/** Board slot of a kernel job's unit count (after its arguments). */
export const JOB_UNITS = B.args + MAX_JOB_ARGS;
const JOB_OPS: Record<number, KernelKind> = {
  [OP.spFwd]: 'spFwd', [OP.spBwd]: 'spBwd', [OP.spDw]: 'spDw', [OP.act]: 'act', [OP.bwd]: 'bwd', [OP.copy]: 'copy', [OP.transpose]: 'transpose', [OP.pack]: 'pack', [OP.lists]: 'lists',
  [OP.spmm]: 'spmm', [OP.sddmm]: 'sddmm',
};
const JOB_ARGC: Record<KernelKind, number> = { spFwd: 10, spBwd: 6, spDw: 11, act: 5, bwd: 10, copy: 5, transpose: 5, pack: 3, lists: 3, spmm: 8, sddmm: 6 };

const GEN_SHIFT = 16;
const IDX_MASK = (1 << GEN_SHIFT) - 1;

/** The `next` value that opens generation g at chunk 0. */
export function openClaims(g: number): number {
  return (g & 0x7fff) << GEN_SHIFT;
}

/**
 * Claims the next chunk of job generation `g`: its index, or -1 when the job has no chunk left
 * (or is no longer the current job).
 */
export function claim(board: Int32Array, g: number): number {
  const gen = g & 0x7fff;
  for (;;) {
    const cur = Atomics.load(board, B.next);
    if (cur >>> GEN_SHIFT !== gen) return -1;
    const idx = cur & IDX_MASK;
    if (idx >= Atomics.load(board, B.chunks)) return -1;
    if (Atomics.compareExchange(board, B.next, cur, cur + 1) === cur) return idx;
  }
}

/** Closes job `g` to further claims; returns how many chunks were claimed. */
export function closeClaims(board: Int32Array, g: number): number {
  const gen = g & 0x7fff;
  for (;;) {
    const cur = Atomics.load(board, B.next);
    if (cur >>> GEN_SHIFT !== gen) return 0;
    if (Atomics.compareExchange(board, B.next, cur, (gen << GEN_SHIFT) | IDX_MASK) === cur) return Math.min(cur & IDX_MASK, Atomics.load(board, B.chunks));
  }
}

/**
 * [lo, hi) of block i when n items are cut into `parts` blocks of whole `unit`s, parts ≤ n / unit
 * (the last block also takes the remainder n mod unit).
 */
export function blockBounds(n: number, parts: number, unit: number, i: number): [number, number] {
  const units = Math.floor(n / unit);
  const lo = Math.floor((units * i) / parts) * unit;
  const hi = i === parts - 1 ? n : Math.floor((units * (i + 1)) / parts) * unit;
  return [lo, hi];
}

const UPDATE_OPS: Record<number, UpdateJob['kind']> = { [OP.adam]: 'adam', [OP.dale]: 'dale', [OP.mask]: 'mask' };
const UPDATE_ARGC: Record<UpdateJob['kind'], number> = { adam: 5, dale: 3, mask: 3 };

/** Runs chunk `i` of the update job on the board (even cuts of its units) with the kernels of `u`. */
export function runUpdateChunk(board: Int32Array, u: UpdateMemory, i: number): void {
  const kind = UPDATE_OPS[board[B.op]];
  if (kind === undefined) throw new Error(`board op ${board[B.op]} is not an update job`);
  const units = board[JOB_UNITS];
  const [lo, hi] = blockBounds(units, board[B.chunks], 1, i);
  if (lo < hi) u.runAt({ kind, units, args: Array.from(board.subarray(B.args, B.args + UPDATE_ARGC[kind])) }, lo, hi);
}

/** Whether the board holds an update job (run by {@link runUpdateChunk}). */
export function isUpdateJob(board: Int32Array): boolean {
  return UPDATE_OPS[board[B.op]] !== undefined;
}

/**
 * Runs chunk `i` of the job on the board with kernels `k`; `F` is a float32 view of the whole
 * shared memory (the board's offsets count from its start).
 */
export function runChunk(board: Int32Array, k: SimdGemm, F: Float32Array, i: number): void {
  const a = B.args;
  const kind = JOB_OPS[board[B.op]];
  if (kind !== undefined) {
    const units = board[JOB_UNITS];
    const [lo, hi] = board[B.cuts] === 1 ? [board[B.bounds + i], board[B.bounds + i + 1]] : blockBounds(units, board[B.chunks], 1, i);
    if (lo < hi) k.runAt({ kind, units, args: Array.from(board.subarray(a, a + JOB_ARGC[kind])) }, lo, hi);
    return;
  }
  const M = board[a];
  const Nc = board[a + 1];
  const K = board[a + 2];
  const lda = board[a + 4];
  const ldb = board[a + 6];
  const ldc = board[a + 8];
  const acc = board[a + 9] === 1;
  const nt = board[B.op] === OP.nt;
  const byCols = board[B.byCols] === 1;
  const [lo, hi] = blockBounds(byCols ? Nc : M, board[B.chunks], board[B.unit], i);
  let aOff = board[a + 3];
  let bOff = board[a + 5];
  let cOff = board[a + 7];
  let m = M;
  let n = Nc;
  if (byCols) {
    n = hi - lo;
    bOff += lo * (nt ? ldb : 1);
    cOff += lo;
  } else {
    m = hi - lo;
    aOff += lo * (nt ? lda : 1);
    cOff += lo * ldc;
  }
  if (nt) k.gemm(m, n, K, F, aOff, lda, F, bOff, ldb, F, cOff, ldc, acc);
  else k.gemmTN(m, n, K, F, aOff, lda, F, bOff, ldb, F, cOff, ldc, acc);
}
