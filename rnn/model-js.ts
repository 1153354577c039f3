/**
 * The `js` backend: a hand-written Float32Array implementation of the forward pass documented in
 * rnn/types.ts and of its backpropagation through time (the float64 reference the gradient tests
 * compare with is `reference-testing.ts`).
 *
 * Layout of the fast kernel's work buffers (all row-major Float32Array, inside the WebAssembly
 * memory of a {@link SimdGemm} so that no operand is copied per call): states a, r and
 * pre-activation gradients dPre are `[T, B, N]` (row t·B + b). Per step, the recurrent products
 * are "dot-product" products C = A·Bᵀ ({@link gemmNT} form) with contiguous inner loops, and the
 * elementwise work (tanh and rectification forward; head term, mask and tanh derivative backward)
 * is one fused kernel pass.
 *
 * Sparse path (pruned models, e.g. the cell-type model after pruning: ~5% of W_hh kept): when at
 * most {@link SPARSE_MAX_DENSITY} of W_eff is nonzero, the recurrent products use a CSR of W_eff
 * (and of W_effᵀ for BPTT) built per call from the parameters, so pruned blocks and entries cost
 * nothing: the states r_t and dPre_t are transposed to `[N, B]` (rT, dPreT) and the `spmm` kernel
 * adds Σ_e w_e · r[j_e, b-chunk] into a_t (dr) directly. When the caller passes the recurrent mask
 * as a hint (`lossAndGrad(…, masks)`, as the training loop does) and it is as sparse, the W_hh
 * gradient is computed only at the mask's entries (`sddmm`: one dot product over the T·B samples
 * per entry) and is 0 elsewhere. Dense W_hh products at N = 1440 stream the 8 MB W_eff from L3;
 * with fused multiply-adds that became the limit, so gemmNT runs over column blocks whose rows of
 * W_eff fit in L2 (+3-13 % per CelltypeRNN step; same bits). The input projection (with the
 * biases as a ones column, from inputs packed by a WASM kernel) and all weight gradients are
 * single products over the T·B samples: the gradients in the "outer-product" form C = Aᵀ·B
 * ({@link gemmTN}) directly on the `[T·B, N]` buffers, summed in chunks of samples. The per-step
 * readout is computed right after each step's state, while it is in cache.
 *
 * Activity-sparse path (rectifying rules, dense W_eff): r_t is exactly 0 wherever a_t ≤ threshold,
 * which is 80-97 % of the units of a CelltypeRNN after one epoch (and 64-73 % of trained Dale
 * flip-flop models). The forward pass counts each step's active units and, when at most
 * {@link activityMaxDensity} of them are active, lists them per row (a WASM kernel, or
 * buildRowLists); then r_{t-1}·W_effᵀ sums only their terms (spFwd, over W_effᵀ packed in column
 * slabs). By the same counts, dr_{t-1} = dPre_t·W_eff is computed only where a_{t-1} > threshold,
 * the only entries the next backward step reads (spBwd), and the W_hh gradient sums only the
 * active samples of each column (spDw), both over column lists made from the row lists by a WASM
 * kernel (SimdGemm.columnLists). Each output keeps the dense kernel's summation order with the zero
 * terms left out, so the results are the dense path's bits (tested; adding ±0 changes a float32
 * sum only when the sum is −0, i.e. after an earlier product underflowed to −0), and the choice is
 * a matter of speed only. On the sparse path the
 * same holds per step: the CSRs of W_eff, W_effᵀ and of the mask's gradient entries are filtered
 * to the units active in some row (marked by a WASM kernel). For large models the sparse products
 * and the per-step elementwise passes are split over helper threads like the dense products
 * (rnn/parallel-gemm.ts), each output computed by one thread. Buffers are cached
 * per (shape, B, T) and reused. Everything runs on
 * WebAssembly SIMD kernels (rnn/model-js-simd.ts) when the runtime has them, else on scalar
 * JavaScript (float64 accumulation) with the same semantics. All loops are sequential, so the
 * results are bit-identical run to run.
 *
 * Why one file over ~450 lines: the workspace layout, the CSR builders, `forward` and `backward`
 * share the buffers of one {@link Workspace} and the order of their passes (what forward leaves
 * in which buffer is what backward reads); they form one numerical kernel that is read and
 * changed together, and the summation order that keeps results bit-identical lives across them.
 * The shape checks and the scalar `gemmNT`/`fastTanh` fallbacks stay beside it as the reference
 * of what the SIMD kernels compute.
 */
import type { Backend, Batch, LossResult, ModelConfig, ModelMasks, Params } from './types.js';
import { GRAD_FLUSH, LIST_DESC, SimdGemm, TN_CHUNK, gemmTN, kernelArithmetic, sharedSimdSupported, simdSupported, tnScratchFloats } from './model-js-simd.js';
import { buildRowLists, countAbove } from './activity-lists.js';
import { PARALLEL_MIN_N, gemmThreadCap, parallelGemm, parallelKernel } from './parallel-gemm.js';

export { gemmTN };

/** Thrown when a batch or a parameter tensor does not match the model configuration. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** True when the rule feeds back the rectified state r = a·[a > threshold]. */
export function rectifiesState(cfg: Pick<ModelConfig, 'rule' | 'fidelity'>): boolean {
  return cfg.rule === 'dale' || (cfg.rule === 'rectified' && cfg.fidelity === 'corrected');
}

/** True when W_hh stores W~ and the effective weight is |W~|·D (rectified/corrected). */
export function usesAbsParam(cfg: ModelConfig): boolean {
  return cfg.rule === 'rectified' && cfg.fidelity === 'corrected';
}

/**
 * Check that params and batch have the shapes of `cfg`.
 * @throws ShapeError naming the offending field and its expected length
 */
export function checkShapes(cfg: ModelConfig, params: Params, batch: Batch): void {
  const N = cfg.nHidden;
  const nIn = cfg.nInput;
  const nOut = cfg.nOutput;
  const want: [string, number, number][] = [
    ['params.wIn', params.wIn.length, N * nIn],
    ['params.bIn', params.bIn.length, N],
    ['params.wHh', params.wHh.length, N * N],
    ['params.bHh', params.bHh.length, N],
    ['params.wOut', params.wOut.length, nOut * N],
    ['params.bOut', params.bOut.length, nOut],
    ['batch.x', batch.x.length, batch.B * batch.T * nIn],
  ];
  if (cfg.head === 'softmax-last') {
    if (batch.labels === undefined) throw new ShapeError('batch.labels is required for head softmax-last (Int32Array [B])');
    want.push(['batch.labels', batch.labels.length, batch.B]);
  } else {
    want.push(['batch.target', batch.target.length, batch.B * batch.T * nOut]);
  }
  if (cfg.head === 'wave-ei' && nOut !== 2) throw new ShapeError(`head wave-ei needs nOutput = 2, got ${nOut}`);
  for (const [name, got, exp] of want) {
    if (got !== exp) throw new ShapeError(`${name} has length ${got}, expected ${exp} for config N=${N}, nIn=${nIn}, nOut=${nOut}, B=${batch.B}, T=${batch.T}`);
  }
  if (!(batch.B > 0 && batch.T > 0)) throw new ShapeError(`batch needs B > 0 and T > 0, got B=${batch.B}, T=${batch.T}`);
}

/**
 * C[m, n] (+)= Σ_k A[aOff + m·lda + k] · Bm[bOff + n·ldb + k] for m < M, n < Nc, k < K.
 * Register-blocked 2×4 with the inner loop over contiguous k of both operands.
 * @param acc when true, add into C; otherwise overwrite C
 */
export function gemmNT(
  M: number,
  Nc: number,
  K: number,
  A: Float32Array,
  aOff: number,
  lda: number,
  Bm: Float32Array,
  bOff: number,
  ldb: number,
  C: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  let m = 0;
  for (; m + 1 < M; m += 2) {
    const a0 = aOff + m * lda;
    const a1 = a0 + lda;
    const c0 = cOff + m * ldc;
    const c1 = c0 + ldc;
    let n = 0;
    for (; n + 3 < Nc; n += 4) {
      const b0 = bOff + n * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        const y0 = Bm[b0 + k];
        const y1 = Bm[b1 + k];
        const y2 = Bm[b2 + k];
        const y3 = Bm[b3 + k];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
      }
      if (acc) {
        C[c0 + n] += s00; C[c0 + n + 1] += s01; C[c0 + n + 2] += s02; C[c0 + n + 3] += s03;
        C[c1 + n] += s10; C[c1 + n + 1] += s11; C[c1 + n + 2] += s12; C[c1 + n + 3] += s13;
      } else {
        C[c0 + n] = s00; C[c0 + n + 1] = s01; C[c0 + n + 2] = s02; C[c0 + n + 3] = s03;
        C[c1 + n] = s10; C[c1 + n + 1] = s11; C[c1 + n + 2] = s12; C[c1 + n + 3] = s13;
      }
    }
    for (; n < Nc; n++) {
      const b0 = bOff + n * ldb;
      let s0 = 0, s1 = 0;
      for (let k = 0; k < K; k++) {
        const y = Bm[b0 + k];
        s0 += A[a0 + k] * y;
        s1 += A[a1 + k] * y;
      }
      if (acc) { C[c0 + n] += s0; C[c1 + n] += s1; } else { C[c0 + n] = s0; C[c1 + n] = s1; }
    }
  }
  for (; m < M; m++) {
    const a0 = aOff + m * lda;
    const c0 = cOff + m * ldc;
    for (let n = 0; n < Nc; n++) {
      const b0 = bOff + n * ldb;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k] * Bm[b0 + k];
      if (acc) C[c0 + n] += s; else C[c0 + n] = s;
    }
  }
}

// Rational minimax approximation of tanh on [-7.905, 7.905] (the form Eigen uses for float32),
// clamped outside: |error| < 3e-7 absolute, < 2e-7 relative near 0 (float32 storage has a
// resolution of 6e-8 below 1). About 5x faster than Math.tanh in V8.
const TA1 = 4.89352455891786e-3;
const TA3 = 6.37261928875436e-4;
const TA5 = 1.48572235717979e-5;
const TA7 = 5.12229709037114e-8;
const TA9 = -8.60467152213735e-11;
const TA11 = 2.00018790482477e-13;
const TA13 = -2.76076847742355e-16;
const TB0 = 4.89352518554385e-3;
const TB2 = 2.26843463243900e-3;
const TB4 = 1.18534705686654e-4;
const TB6 = 1.19825839466702e-6;
const TCLAMP = 7.90531110763549805;

/** tanh(x) to float32 accuracy (absolute error < 3e-7); exactly ±1 from ±7.905 on; NaN stays NaN. */
export function fastTanh(x: number): number {
  if (x >= TCLAMP) return 1;
  if (x <= -TCLAMP) return -1;
  const x2 = x * x;
  const num = x * (TA1 + x2 * (TA3 + x2 * (TA5 + x2 * (TA7 + x2 * (TA9 + x2 * (TA11 + x2 * TA13))))));
  const den = TB0 + x2 * (TB2 + x2 * (TB4 + x2 * TB6));
  return num / den;
}

/** Work buffers of one (config shape, B, T). All Float32Array views live in the kernel's memory. */
interface Workspace {
  B: number;
  T: number;
  /** Kernel set owning the memory of the buffers. */
  k: SimdGemm;
  /** Row stride of xa and gWInA: nIn + 1 rounded up to a multiple of 8. */
  nInP: number;
  /** Row stride of z: nOut rounded up to a multiple of 4; of dz and gOutT: to a multiple of 8. */
  nOutP4: number;
  nOutP8: number;
  /** The batch's inputs x copied into the kernel's memory, [B, T, nIn] (what the pack kernel reads). */
  xs: Float32Array;
  /** Inputs with a ones column, [T·B, nInP]: row t·B + b = (x[b, t, :], 1, 0…). */
  xa: Float32Array;
  /** Transposes of xa and of the input weights with the summed bias column: [nIn + 1, T·B] and [nIn + 1, N]. */
  xaT: Float32Array;
  wInAT: Float32Array;
  /** tanh outputs a_t, [T, B, N]. */
  a: Float32Array;
  /** recurrent states r_t, [T, B, N] (the same array as `a` when the rule does not rectify). */
  r: Float32Array;
  /** dLoss/dpre_t, [T, B, N]. */
  dPre: Float32Array;
  /** dLoss/dr_t from the next step, [B, N]. */
  dr: Float32Array;
  /** W_eff [N, N] and its transpose (made by the forward pass when `weffTFresh`, else by the backward pass). */
  weff: Float32Array;
  weffT: Float32Array;
  weffTFresh: boolean;
  /** Readout weights zero-padded to [nOutP4, N]. */
  wOutP: Float32Array;
  /** Readout without bias, [rows, nOutP4]; rows = T·B (per-step heads, row t·B + b) or B (softmax-last). */
  z: Float32Array;
  /** dLoss/dz, [rows, nOutP8] (zero beyond nOut). */
  dz: Float32Array;
  /** Gradient outputs: dW_outᵀ [N, nOutP8], (dW_in | db) [N, nInP], dW_eff [N, N]. */
  gOutT: Float32Array;
  gWInA: Float32Array;
  gWHh: Float32Array;
  logits: Float64Array;
  /** Batch rows rounded up to a multiple of 4: the row stride of the transposed states. */
  Bp: number;
  /** Transposed states for the sparse path: rT[t] = r_tᵀ and dPreT[t] = dPre_tᵀ, [T, N, Bp]. */
  rT: Float32Array;
  dPreT: Float32Array;
  /** CSR of the nonzeros of W_eff (cols = j·Bp), valid when `sparse`. */
  rp: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
  /** CSR of W_effᵀ (rows j, cols = i·Bp), built by the backward pass from the CSR of W_eff. */
  rpT: Int32Array;
  colsT: Int32Array;
  valsT: Float32Array;
  /** CSR pattern of the recurrent mask hint (cols = j·Bp) and the gradient at its entries. */
  mrp: Int32Array;
  mcols: Int32Array;
  gvals: Float32Array;
  /** Scratch counters [N + 1] (JS memory). */
  next: Int32Array;
  /** A recurrent mask hint copied into the kernel memory [N, N], and an int32 cell for the CSR builder. */
  mStage: Float32Array;
  /** The cap its CSR (mrp, mcols) was built under and whether it was usable; null: none staged yet. */
  mCsr: { cap: number; ok: boolean } | null;
  count: Int32Array;
  /** Whether the last forward pass used the CSR of W_eff. */
  sparse: boolean;
  /** Buffers of the activity-sparse products (null when they cannot run: see {@link activityEligible}). */
  act: ActivityBuffers | null;
  /** Buffers of the sparse (pruned) path's products restricted to the active units (rectifying rules; else null). */
  pact: PrunedActivityBuffers | null;
}

/**
 * The sparse path's products restricted to each step's active units: per step t < T − 1 the
 * units active in some row (`mark`, ≠ 0 where active; `nU` of them), and CSRs filtered to them: of
 * W_eff (columns j active at t − 1: the other columns of r_{t-1} are 0), of W_effᵀ (rows j active:
 * the backward step reads dr_{t-1} nowhere else) and of the recurrent mask (entries whose column
 * is active; `map` takes a filtered entry to its original one, `gF` its per-step gradient).
 */
interface PrunedActivityBuffers {
  mark: Int32Array;
  /** One step's marks at the column offsets j·Bp of the CSRs, [N·Bp]. */
  markBp: Int32Array;
  nU: Int32Array;
  rp: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
  mrp: Int32Array;
  mcols: Int32Array;
  gF: Float32Array;
  map: Int32Array;
}

/**
 * Buffers of the activity-sparse products (rectifying rules: r_t is exactly 0 wherever
 * a_t ≤ threshold, 80-97 % of the units of a trained CelltypeRNN). All in the kernel's memory
 * except `pos` and `nnz`.
 */
interface ActivityBuffers {
  /** W_effᵀ in slabs of output columns (SimdGemm.packJob), [N·N]. */
  pk: Float32Array;
  /** Row lists of the active units of steps 0 … T − 2 (buildRowLists): [T, B, N] entries and states, [T, 4B + 1] starts. */
  rowIdx: Int32Array;
  rowVals: Float32Array;
  rowStarts: Int32Array;
  /** Active units (a > threshold) of each step of the last forward pass that counted them. */
  nnz: Int32Array;
  /** Whether the last forward pass counted its steps (the backward pass decides by the counts). */
  counted: boolean;
  /** 1 for the steps whose row lists the last forward pass made (the next step's forward product may use them), else 0. */
  listed: Uint8Array;
  /**
   * Column lists (SimdGemm.columnLists) of steps 0 … T − 2 where the products split over threads
   * (step t's at [t·B·N] entries, [t·(N + 1)] starts), else of one step at a time (region 0).
   */
  colIdx: Int32Array;
  colCs: Int32Array;
  /** The backward pass's column-list builds as one job (SimdGemm.listsJob): [T·LIST_DESC], and their cost prefix, [T + 1]. */
  listDesc: Int32Array;
  listCost: Int32Array;
  /** 1 for the steps t whose dr product the backward pass computes at the active units only, [T]. */
  bwdSteps: Uint8Array;
  /** Sample lists of all steps (SimdGemm.columnLists in chunks): [(T − 1)·B·N] entries and states, [nC·N + 1] starts. */
  smpIdx: Int32Array;
  smpVals: Float32Array;
  smpCs: Int32Array;
  /** Cost of the weight gradient's columns j < u (the cuts of its chunks over threads), [N + 1]. */
  smpCost: Int32Array;
  /** One panel of dPre's columns, [(T − 1)·B, SPDW_ROWS], and of the transposed W_hh gradient, [N, SPDW_ROWS]. */
  panel: Float32Array;
  outP: Float32Array;
  /** Scratch cursors of the column lists: the steps' (as colCs), then the sample lists', [nC·N + 1]. */
  pos: Int32Array;
}

const CACHE_LIMIT = 8;
const cache = new Map<string, Workspace>();
let useSimd = true;

/**
 * Largest fraction of nonzero entries of W_eff (and of kept entries of a recurrent mask hint) for
 * which the sparse path is used in `auto` mode. Measured at N = 1440, B = 200 (bench/celltype.ts).
 */
export const SPARSE_MAX_DENSITY = 0.2;

/** When the sparse (CSR) recurrent products are used: by density (`auto`), always, or never. */
export type SparseMode = 'auto' | 'always' | 'never';
let sparseMode: SparseMode = 'auto';

/** Choose when the sparse recurrent products are used (default `auto`). For tests and benchmarks. */
export function setSparseMode(mode: SparseMode): void {
  sparseMode = mode;
}

/** Largest fractions of active units for which each activity-sparse product is used (see {@link activityMaxDensity}). */
export interface ActivityDensities {
  /** The forward product r_{t-1}·W_effᵀ of a step. */
  forward: number;
  /** The backward product dPre_t·W_eff of a step. */
  backward: number;
  /** The weight gradient Σ_t dPre_tᵀ r_{t-1}, over all steps. */
  weights: number;
}

/** From this N on, {@link activityMaxDensity} gives the large models' fractions. */
export const ACTIVITY_LARGE_N = 256;

const ACTIVITY_DENSITY_LARGE: ActivityDensities = { forward: 0.6, backward: 0.6, weights: 0.6 };
const ACTIVITY_DENSITY_SMALL: ActivityDensities = { forward: 0.5, backward: 0.4, weights: 0.4 };

/**
 * Largest fraction of active units (a > threshold) of a step (of all steps, for the weight
 * gradient) for which `auto` mode lists them and the products skip the inactive ones
 * (activity-sparse kernels, same bits as the dense ones). Measured on the 2-core Xeon VM: at
 * N = 1440, B = 200 (bench/celltype.ts) for N ≥ {@link ACTIVITY_LARGE_N}, at N = 128 (trained
 * flip-flop models) below it.
 */
export function activityMaxDensity(N: number): ActivityDensities {
  return N >= ACTIVITY_LARGE_N ? ACTIVITY_DENSITY_LARGE : ACTIVITY_DENSITY_SMALL;
}

/** When the activity-sparse products are used: by density (`auto`), always, or never. */
export type ActivityMode = SparseMode;
let activityMode: ActivityMode = 'auto';

/**
 * Choose when the activity-sparse products are used (default `auto`). They give the same bits as
 * the dense products, so this changes speed only. For tests and benchmarks.
 */
export function setActivityMode(mode: ActivityMode): void {
  activityMode = mode;
}

/** Products the activity-sparse kernels computed since the last {@link resetActivityCounts}. */
export interface ActivityCounts {
  /** Forward steps r_{t-1}·W_effᵀ. */
  forward: number;
  /** Backward steps dPre_t·W_eff. */
  backward: number;
  /** W_hh gradients. */
  weights: number;
  /** Products of the sparse (pruned) path restricted to the active units (forward, backward, masked gradient per step). */
  pruned: number;
}
const activityCounts: ActivityCounts = { forward: 0, backward: 0, weights: 0, pruned: 0 };

/** How many products took the activity-sparse kernels since the last reset (a copy). */
export function activityProducts(): ActivityCounts {
  return { ...activityCounts };
}

let lastActive: number | null = null;

/**
 * Fraction of units active (a > threshold) over steps 0 … T − 2 of the last forward pass that
 * listed them (activity-sparse path), or null when none has (or the last one did not list).
 */
export function lastActiveFraction(): number | null {
  return lastActive;
}

/** Starts {@link activityProducts} afresh. */
export function resetActivityCounts(): void {
  activityCounts.forward = 0;
  activityCounts.backward = 0;
  activityCounts.weights = 0;
  activityCounts.pruned = 0;
}

/** Whether a product over `nnz` active of `total` units takes the activity-sparse kernel (counted). */
function activityPays(nnz: number, total: number, maxDensity: number, kind: keyof ActivityCounts): boolean {
  const yes = activityMode === 'always' || (activityMode === 'auto' && nnz <= maxDensity * total);
  if (yes) activityCounts[kind]++;
  return yes;
}

/**
 * Whether the activity-sparse products can replace the dense ones bit for bit: SIMD kernels (the
 * scalar fallback sums in float64), a rectifying rule, N a multiple of 8 and B even (the dense
 * kernels' register blocks then cover every output, so each output has the SIMD kernel's order).
 */
function activityEligible(rect: boolean, N: number, B: number): boolean {
  return useSimd && rect && N % 8 === 0 && B % 2 === 0 && simdSupported();
}

/**
 * Work per element of the per-step elementwise passes (tanh and rectification; the BPTT step with
 * its readout term), in multiply-adds for the threads' split threshold (PARALLEL_MIN_MACS): at
 * B = 200 they split from N ≈ 1300 on, where each takes ~0.4-0.9 ms per step.
 */
const ELEMENTWISE_WORK = 32;

/** Output rows i per panel of the activity-sparse weight gradient (its dPre panel stays in L2). */
const SPDW_ROWS = 96;

/**
 * Columns per cut of an activity-sparse product's chunks over threads: 16 floats, a cache line of
 * each output row, so no two threads write one line.
 */
const CUT_ALIGN = 16;

/** Work per list entry of the column lists (SimdGemm.listsJob), in multiply-adds for the threads' split threshold. */
const LIST_WORK = 64;

/** Cost of a column of the activity-sparse weight gradient beyond its listed samples (its transposed store), in samples. */
const SPDW_COLUMN_COST = 2;

/**
 * Describes unit u of the backward pass's lists job: step s's column lists (the activity-sparse dr
 * product of step s + 1 reads them), into region `at` of colIdx, colCs and pos.
 */
function describeStepLists(kern: SimdGemm, act: ActivityBuffers, u: number, s: number, at: number, B: number, N: number): void {
  kern.describeLists(act.listDesc, u, act.rowIdx, s * B * N, null, act.rowStarts, s * (4 * B + 1), 1, B, B, 4 * N, act.colIdx.subarray(at * B * N), null, act.colCs.subarray(at * (N + 1)), act.pos.subarray(at * (N + 1)));
}

/** Describes unit u: the W_hh gradient's sample lists over steps 0 … T − 2 in chunks of TN_CHUNK rows; returns their number of chunks nC. */
function describeSampleLists(kern: SimdGemm, act: ActivityBuffers, u: number, B: number, N: number, T: number): number {
  return kern.describeLists(act.listDesc, u, act.rowIdx, 0, act.rowVals, act.rowStarts, 0, T - 1, B, TN_CHUNK, 4 * SPDW_ROWS, act.smpIdx, act.smpVals, act.smpCs, act.pos.subarray(act.colCs.length));
}

/** Builds the one list unit described first in act.listDesc, on this thread. */
function buildListUnit(kern: SimdGemm, act: ActivityBuffers, B: number, N: number): void {
  kern.runAt(kern.listsJob(act.listDesc, 1, B, N), 0, 1);
}

/**
 * The column lists the backward pass reads, from the forward pass's row lists, as one job over the
 * threads: those of each step t marked in `steps` (the activity-sparse dr product of step t reads
 * step t − 1's) and, when spDwNnz ≥ 0 (the entries over steps 0 … T − 2), the W_hh gradient's
 * sample lists. Returns their number of chunks nC (0 without them).
 */
function buildColumnLists(kern: SimdGemm, act: ActivityBuffers, steps: Uint8Array, spDwNnz: number, B: number, N: number, T: number): number {
  const cost = act.listCost;
  let u = 0;
  let nC = 0;
  cost[0] = 0;
  // The sample lists first: the largest unit, claimed first.
  if (spDwNnz >= 0) {
    nC = describeSampleLists(kern, act, u, B, N, T);
    cost[u + 1] = cost[u] + spDwNnz + nC * N;
    u++;
  }
  for (let t = T - 1; t >= 1; t--) {
    if (steps[t] !== 1) continue;
    describeStepLists(kern, act, u, t - 1, t - 1, B, N);
    cost[u + 1] = cost[u] + act.nnz[t - 1] + N;
    u++;
  }
  if (u > 0) {
    const job = kern.listsJob(act.listDesc, u, B, N);
    job.cost = { prefix: cost, align: 1 };
    parallelKernel(kern, job, LIST_WORK * cost[u]);
  }
  return nC;
}

/**
 * out[u] = Σ over columns j < u of (their entries in all nC chunks of the column lists with starts
 * cs, [nC·N + 1], see SimdGemm.columnLists) + perColumn): the cost prefix of an spDw job's units.
 * Returns out ([N + 1]).
 */
function columnCosts(cs: Int32Array, nC: number, N: number, perColumn: number, out: Int32Array): Int32Array {
  out[0] = 0;
  for (let j = 0; j < N; j++) {
    let n = perColumn;
    for (let c = 0; c < nC; c++) n += cs[c * N + j + 1] - cs[c * N + j];
    out[j + 1] = out[j] + n;
  }
  return out;
}

/**
 * Choose the kernels of newly made work buffers: WebAssembly SIMD (default, when available) or
 * scalar JavaScript. Clears the buffer cache. For tests and benchmarks.
 */
export function setSimdEnabled(on: boolean): void {
  useSimd = on;
  cache.clear();
}

let gradFlush = true;

/**
 * Choose whether the backward pass stores pre-activation gradients below {@link GRAD_FLUSH} in
 * magnitude as 0 (default on: the same float32 results without the subnormal slow path, tested in
 * model-js.test.ts). For tests and benchmarks.
 */
export function setGradFlush(on: boolean): void {
  gradFlush = on;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

function workspace(cfg: ModelConfig, B: number, T: number): Workspace {
  const N = cfg.nHidden;
  const nIn = cfg.nInput;
  const nOut = cfg.nOutput;
  const rect = rectifiesState(cfg);
  // Large models get a shared memory with gemmTN scratch for each helper thread (rnn/parallel-gemm.ts).
  const helpers = useSimd && N >= PARALLEL_MIN_N && sharedSimdSupported() ? gemmThreadCap() - 1 : 0;
  // The activity buffers only where the products may use them.
  const actOn = activityEligible(rect, N, B) && activityMode !== 'never';
  const key = `${N}/${nIn}/${nOut}/${rect ? 1 : 0}/${cfg.head}/${B}/${T}/${useSimd ? kernelArithmetic() : 'scalar'}/${helpers}/${actOn ? 1 : 0}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit); // LRU order
    return hit;
  }
  const TBN = T * B * N;
  const TB = T * B;
  const nInP = roundUp(nIn + 1, 8);
  const nOutP4 = roundUp(nOut, 4);
  const nOutP8 = roundUp(nOut, 8);
  const zRows = cfg.head === 'softmax-last' ? B : TB;
  const Bp = roundUp(B, 4);
  const NN = N * N;
  const nC = Math.ceil(((T - 1) * B) / TN_CHUNK);
  // Column lists of every step where the products split over threads (built up front), else of one.
  const listRegions = helpers > 0 ? Math.max(1, T - 1) : 1;
  const pactSizes = rect ? [T * N, N * Bp, N + 1, NN, NN, N + 1, NN, NN, NN] : [];
  const actSizes = actOn
    ? [
      NN, TBN, TBN, T * (4 * B + 1), listRegions * B * N, listRegions * (N + 1), T * LIST_DESC, Math.max(0, TBN - B * N), Math.max(0, TBN - B * N), nC * N + 1,
      (T - 1) * B * SPDW_ROWS, N * SPDW_ROWS, listRegions * (N + 1) + nC * N + 1,
    ]
    : [];
  const sizes = [
    ...actSizes,
    ...pactSizes,
    TB * nIn, TB * nInP, (nIn + 1) * TB, (nIn + 1) * N, TBN, rect ? TBN : 0, TBN, B * N, NN, NN,
    nOutP4 * N, zRows * nOutP4, zRows * nOutP8, N * nOutP8, N * nInP, NN,
    T * N * Bp, T * N * Bp, N + 1, NN, NN, N + 1, NN, NN, N + 1, NN, NN, useSimd ? NN : 0, 4,
    tnScratchFloats(Math.max(N, nInP, nOutP8)),
  ];
  const helperScratch = (tnScratchFloats(Math.max(N, nInP, nOutP8)) + 3) & ~3;
  const floats = sizes.reduce((acc, v) => acc + ((v + 3) & ~3), 0) + helpers * helperScratch;
  const k = new SimdGemm(floats, gemmNT, useSimd, { shared: helpers > 0 });
  if (k.shared) for (let w = 0; w < helpers; w++) k.helperScratch.push(k.alloc(helperScratch));
  const xs = k.alloc(TB * nIn);
  const xa = k.alloc(TB * nInP);
  const xaT = k.alloc((nIn + 1) * TB);
  const wInAT = k.alloc((nIn + 1) * N);
  const a = k.alloc(TBN);
  const ws: Workspace = {
    B,
    T,
    k,
    nInP,
    nOutP4,
    nOutP8,
    xs,
    xa,
    xaT,
    wInAT,
    a,
    r: rect ? k.alloc(TBN) : a,
    dPre: k.alloc(TBN),
    dr: k.alloc(B * N),
    weff: k.alloc(N * N),
    weffT: k.alloc(N * N),
    weffTFresh: false,
    wOutP: k.alloc(nOutP4 * N),
    z: k.alloc(zRows * nOutP4),
    dz: k.alloc(zRows * nOutP8),
    gOutT: k.alloc(N * nOutP8),
    gWInA: k.alloc(N * nInP),
    gWHh: k.alloc(N * N),
    logits: new Float64Array(nOut),
    Bp,
    rT: k.alloc(T * N * Bp),
    dPreT: k.alloc(T * N * Bp),
    rp: k.allocI32(N + 1),
    cols: k.allocI32(NN),
    vals: k.alloc(NN),
    rpT: k.allocI32(N + 1),
    colsT: k.allocI32(NN),
    valsT: k.alloc(NN),
    mrp: k.allocI32(N + 1),
    mcols: k.allocI32(NN),
    gvals: k.alloc(NN),
    next: new Int32Array(N + 1),
    mStage: k.alloc(useSimd ? NN : 0),
    mCsr: null,
    count: k.allocI32(4),
    sparse: false,
    act: actOn
      ? {
        pk: k.alloc(NN),
        rowIdx: k.allocI32(TBN),
        rowVals: k.alloc(TBN),
        rowStarts: k.allocI32(T * (4 * B + 1)),
        nnz: new Int32Array(T),
        counted: false,
        listed: new Uint8Array(T),
        colIdx: k.allocI32(listRegions * B * N),
        colCs: k.allocI32(listRegions * (N + 1)),
        listDesc: k.allocI32(T * LIST_DESC),
        listCost: new Int32Array(T + 1),
        bwdSteps: new Uint8Array(T),
        smpIdx: k.allocI32(Math.max(0, TBN - B * N)),
        smpVals: k.alloc(Math.max(0, TBN - B * N)),
        smpCs: k.allocI32(nC * N + 1),
        smpCost: new Int32Array(N + 1),
        panel: k.alloc((T - 1) * B * SPDW_ROWS),
        outP: k.alloc(N * SPDW_ROWS),
        pos: k.allocI32(listRegions * (N + 1) + nC * N + 1),
      }
      : null,
    pact: rect
      ? {
        mark: k.allocI32(T * N),
        markBp: k.allocI32(N * Bp),
        nU: new Int32Array(T),
        rp: k.allocI32(N + 1),
        cols: k.allocI32(NN),
        vals: k.alloc(NN),
        mrp: k.allocI32(N + 1),
        mcols: k.allocI32(NN),
        gF: k.alloc(NN),
        map: k.allocI32(NN),
      }
      : null,
  };
  cache.set(key, ws);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return ws;
}

/** Drop all cached work buffers (frees memory; the next call reallocates). */
export function clearWorkspaceCache(): void {
  cache.clear();
}

const noWork = (): void => undefined;

/** Whether two float32 arrays hold the same bytes (a native compare). */
function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * {@link SimdGemm.spmm} (out (+)= (CSR · x)ᵀ), split over the threads by rows of about equal entry
 * counts where the products split; the same bits (each output belongs to one row).
 */
function spmmSplit(
  kern: SimdGemm, rp: Int32Array, cols: Int32Array, vals: Float32Array, nRows: number,
  x: Float32Array, xOff: number, nb: number, out: Float32Array, outOff: number, ldo: number, acc: boolean,
): void {
  const job = kern.shared ? kern.spmmJob(rp, cols, vals, nRows, x, xOff, nb, out, outOff, ldo, acc) : null;
  if (job === null) {
    kern.spmm(rp, cols, vals, nRows, x, xOff, nb, out, outOff, ldo, acc);
    return;
  }
  job.cost = { prefix: rp, align: CUT_ALIGN };
  parallelKernel(kern, job, (rp[nRows] - rp[0]) * nb);
}

/**
 * {@link SimdGemm.sddmm} (g[e] += a_i · x_j over the CSR pattern), split over the threads by rows
 * of about equal entry counts where the products split; the same bits (each entry belongs to one row).
 */
function sddmmSplit(kern: SimdGemm, rp: Int32Array, cols: Int32Array, g: Float32Array, nRows: number, a: Float32Array, aOff: number, len: number, x: Float32Array, xOff: number): void {
  const job = kern.shared ? kern.sddmmJob(rp, cols, g, nRows, a, aOff, len, x, xOff) : null;
  if (job === null) {
    kern.sddmm(rp, cols, g, nRows, a, aOff, len, x, xOff);
    return;
  }
  job.cost = { prefix: rp, align: CUT_ALIGN };
  parallelKernel(kern, job, (rp[nRows] - rp[0]) * len);
}

/** Write W_eff (per the rule) into `out` [N, N]. */
function fillWeff(cfg: ModelConfig, wHh: Float32Array, out: Float32Array): void {
  const N = cfg.nHidden;
  if (!usesAbsParam(cfg)) {
    out.set(wHh);
    return;
  }
  const nExc = cfg.nExc;
  for (let i = 0; i < N; i++) {
    const o = i * N;
    for (let j = 0; j < nExc; j++) out[o + j] = Math.abs(wHh[o + j]);
    for (let j = nExc; j < N; j++) out[o + j] = -Math.abs(wHh[o + j]);
  }
}

/** Most entries a CSR of an [N, N] matrix may have to be used in the current sparse mode. */
function sparseCap(N: number): number {
  return sparseMode === 'always' ? N * N : sparseMode === 'never' ? -1 : Math.floor(SPARSE_MAX_DENSITY * N * N);
}

/**
 * CSR (rows i, cols j·Bp) of the entries of the [N, N] matrix `m` that are nonzero, into rp /
 * cols / vals (vals = m[i, j] when given). Returns false (CSR unusable) when there are more than
 * `cap` of them. `count` is an int32 cell of the kernel memory.
 */
function buildCsr(kern: SimdGemm, m: Float32Array, N: number, Bp: number, cap: number, rp: Int32Array, cols: Int32Array, vals: Float32Array | null, count: Int32Array): boolean {
  // In the SIMD kernels when they can (a pruned CelltypeRNN: 9 ms per CSR in JavaScript, twice
  // per step), else here. Count first, then write (a dense W_eff at N = 1440 is refused after
  // ~0.4 M compares, not 0.4 M writes: that was 3 % of a one-thread CelltypeRNN step).
  const done = kern.csr(m, N, Bp, cap, rp, cols, vals, count);
  if (done !== null) return done;
  if (cap < N * N) {
    let nnz = 0;
    for (let k = 0; k < N * N; k++) if (m[k] !== 0 && ++nnz > cap) return false;
  }
  let e = 0;
  rp[0] = 0;
  for (let i = 0; i < N; i++) {
    const o = i * N;
    for (let j = 0; j < N; j++) {
      const v = m[o + j];
      if (v !== 0) {
        cols[e] = j * Bp;
        if (vals !== null) vals[e] = v;
        e++;
      }
    }
    rp[i + 1] = e;
  }
  return true;
}

/** CSR of W_effᵀ (rows j, cols i·Bp, entries of each row in increasing i) from the CSR of W_eff. */
function transposeCsr(ws: Workspace, N: number): void {
  const { rp, cols, vals, rpT, colsT, valsT, next, Bp } = ws;
  const nnz = rp[N];
  next.fill(0);
  for (let e = 0; e < nnz; e++) next[cols[e] / Bp + 1]++;
  rpT[0] = 0;
  for (let j = 0; j < N; j++) rpT[j + 1] = rpT[j] + next[j + 1];
  for (let j = 0; j < N; j++) next[j] = rpT[j];
  for (let i = 0; i < N; i++) {
    for (let e = rp[i]; e < rp[i + 1]; e++) {
      const pos = next[cols[e] / Bp]++;
      colsT[pos] = i * Bp;
      valsT[pos] = vals[e];
    }
  }
}

/**
 * mark[mOff + j] ≠ 0 (−1) where a[off + b·N + j] > th for some row b < B, else 0 (the SIMD kernel
 * when it can); returns how many units are marked.
 */
function markActive(kern: SimdGemm, a: Float32Array, off: number, B: number, N: number, th: number, mark: Int32Array, mOff: number): number {
  if (!kern.markActive(a, off, B, N, th, mark, mOff)) {
    mark.fill(0, mOff, mOff + N);
    for (let b = 0; b < B; b++) {
      const o = off + b * N;
      for (let j = 0; j < N; j++) if (a[o + j] > th) mark[mOff + j] = -1;
    }
  }
  let n = 0;
  for (let j = 0; j < N; j++) if (mark[mOff + j] !== 0) n++;
  return n;
}

/**
 * The CSR (rp, cols = j·Bp, vals) restricted to the entries whose column j is marked
 * (markBp[j·Bp] ≠ 0: the marks spread to the column offsets, so that no entry needs a division),
 * into (rpF, colsF, valsF), each row's entries in their order; with `map`, map[f] = the original
 * index of filtered entry f (and valsF may be null).
 */
function filterColumns(
  kern: SimdGemm, rp: Int32Array, cols: Int32Array, vals: Float32Array | null, N: number, markBp: Int32Array,
  rpF: Int32Array, colsF: Int32Array, valsF: Float32Array | null, map: Int32Array | null,
): void {
  if (kern.simd && kern.filterColumns(rp, cols, vals, N, markBp, rpF, colsF, valsF, map)) return;
  let f = 0;
  rpF[0] = 0;
  for (let i = 0; i < N; i++) {
    for (let e = rp[i]; e < rp[i + 1]; e++) {
      const c = cols[e];
      if (markBp[c] !== 0) {
        colsF[f] = c;
        if (vals !== null && valsF !== null) valsF[f] = vals[e];
        if (map !== null) map[f] = e;
        f++;
      }
    }
    rpF[i + 1] = f;
  }
}

/** markBp[j·Bp] = mark[mOff + j] for j < N (the other entries of markBp stay 0). */
function spreadMarks(pact: PrunedActivityBuffers, mOff: number, N: number, Bp: number): void {
  for (let j = 0; j < N; j++) pact.markBp[j * Bp] = pact.mark[mOff + j];
}

/** The CSR (rp, cols, vals) with the rows i not marked emptied, into (rpF, colsF, valsF). */
function filterRows(rp: Int32Array, cols: Int32Array, vals: Float32Array, N: number, mark: Int32Array, mOff: number, rpF: Int32Array, colsF: Int32Array, valsF: Float32Array): void {
  let f = 0;
  rpF[0] = 0;
  for (let i = 0; i < N; i++) {
    if (mark[mOff + i] !== 0) {
      for (let e = rp[i]; e < rp[i + 1]; e++) {
        colsF[f] = cols[e];
        valsF[f++] = vals[e];
      }
    }
    rpF[i + 1] = f;
  }
}

/**
 * dst[dOff + i·ldd + b] = src[sOff + b·N + i] for b < B, i < N: the SIMD kernel's 4 × 4 tiles
 * where it applies (SimdGemm.transposeJob; split over the threads when large), else 32 × 32
 * tiles in JavaScript.
 */
function transposeInto(kern: SimdGemm, src: Float32Array, sOff: number, B: number, N: number, dst: Float32Array, dOff: number, ldd: number): void {
  const job = kern.simd ? kern.transposeJob(src, sOff, N, dst, dOff, ldd, B, N) : null;
  if (job !== null) {
    parallelKernel(kern, job, ELEMENTWISE_WORK * B * N);
    return;
  }
  for (let b0 = 0; b0 < B; b0 += 32) {
    const b1 = Math.min(B, b0 + 32);
    for (let i0 = 0; i0 < N; i0 += 32) {
      const i1 = Math.min(N, i0 + 32);
      for (let i = i0; i < i1; i++) {
        const d = dOff + i * ldd;
        for (let b = b0; b < b1; b++) dst[d + b] = src[sOff + b * N + i];
      }
    }
  }
}

/**
 * Forward pass over all steps, storing a (and r) in the workspace. Per step t:
 * a_t = (x_t, 1)·(W_in, b)ᵀ + r_{t-1}·W_effᵀ (the input part for all steps in one product
 * before the loop), then tanh and rectification in place. The readout of all steps is one product [T·B, N]·W_outᵀ after the loop.
 * Returns the loss and the correct count; when `withGrad`, also fills ws.dz with dLoss/dz.
 */
function forward(cfg: ModelConfig, p: Params, batch: Batch, ws: Workspace, withGrad: boolean, keepRT: boolean): LossResult {
  const N = cfg.nHidden;
  const nIn = cfg.nInput;
  const nOut = cfg.nOutput;
  const { B, T } = batch;
  const BN = B * N;
  const TB = T * B;
  const rect = rectifiesState(cfg);
  const th = cfg.threshold;
  const { a, r, weff, k: kern, xa, xaT, wInAT, nInP, nOutP4, nOutP8, z, dz, wOutP } = ws;
  // Inputs in step-major order with the ones column (and transposed): staged into the kernel's
  // memory and packed there (a copy, so the same bits either way); weights with the bias column,
  // transposed.
  let packed = false;
  if (kern.simd) {
    ws.xs.set(batch.x);
    packed = kern.packInput(ws.xs, xa, xaT, B, T, nIn, nInP);
  }
  if (!packed) packInputs(batch.x, B, T, nIn, nInP, xa, xaT);
  for (let i = 0; i < N; i++) {
    for (let q = 0; q < nIn; q++) wInAT[q * N + i] = p.wIn[i * nIn + q];
    wInAT[nIn * N + i] = p.bIn[i] + p.bHh[i];
  }
  const Bp = ws.Bp;
  const NBp = N * Bp;
  // Input projection and biases of all steps in one product: a [T·B, N] = xa·wInAᵀ, in the
  // outer-product form over the nIn + 1 input columns (no horizontal sums for the short inner
  // dimension); where products split, on the helper threads while this one copies W_eff and
  // W_out into the kernel memory and checks W_eff's sparsity.
  parallelGemm(kern, 'tn', TB, N, nIn + 1, xaT, 0, TB, wInAT, 0, N, a, 0, N, false, () => {
    fillWeff(cfg, p.wHh, weff);
    wOutP.set(p.wOut);
    ws.sparse = T > 1 && sparseMode !== 'never' && buildCsr(kern, weff, N, Bp, sparseCap(N), ws.rp, ws.cols, ws.vals, ws.count);
  });
  const needRT = ws.sparse || keepRT;
  const perStepHead = cfg.head !== 'softmax-last';
  // Activity lists of steps 0 … T − 2 (for the next step's product and the backward pass): each
  // step's active units are counted (one cheap pass; the backward pass decides by these counts
  // too) and listed when few enough are active for the forward product to pay (always, in
  // 'always' mode). The backward products and the gradient use a step's lists only when it was
  // listed, and their densities are at most the forward one's.
  const act = ws.act !== null && kern.simd && !ws.sparse && activityMode !== 'never' ? ws.act : null;
  if (ws.act !== null) {
    ws.act.counted = act !== null;
    ws.act.listed.fill(0);
  }
  const dens = activityMaxDensity(N);
  const listMax = activityMode === 'always' ? BN : dens.forward * BN;
  if (ws.pact !== null) ws.pact.nU.fill(N); // (no marks: every unit counts as active)
  const S = 4 * B + 1;
  let packedW = false;
  ws.weffTFresh = false;
  // Units active in some row, per step, for the sparse path's products (restricted to them; the
  // restriction is a serial kernel pass, ~0.15 ms a CSR at N = 1440, 5 % kept: a pruned
  // CelltypeRNN step 150 → 125 ms on one thread, 92 → 85 ms on two).
  const pact = ws.pact !== null && (ws.sparse || keepRT) && activityMode !== 'never' ? ws.pact : null;

  for (let t = 0; t < T; t++) {
    const at = t * BN;
    let actDone = false;
    if (t > 0) {
      if (ws.sparse && pact !== null && pact.nU[t - 1] < N) {
        // Only the entries of active columns: the others multiply a row of rT that is all 0.
        spreadMarks(pact, (t - 1) * N, N, Bp);
        filterColumns(kern, ws.rp, ws.cols, ws.vals, N, pact.markBp, pact.rp, pact.cols, pact.vals, null);
        activityCounts.pruned++;
        spmmSplit(kern, pact.rp, pact.cols, pact.vals, N, ws.rT, (t - 1) * NBp, B, a, at, N, true);
      } else if (ws.sparse) spmmSplit(kern, ws.rp, ws.cols, ws.vals, N, ws.rT, (t - 1) * NBp, B, a, at, N, true);
      else if (act !== null && act.listed[t - 1] === 1 && activityPays(act.nnz[t - 1], BN, dens.forward, 'forward')) {
        if (!packedW) {
          if (withGrad) {
            // (for the backward pass, while W_eff is in cache)
            transposeInto(kern, weff, 0, N, N, ws.weffT, 0, N);
            ws.weffTFresh = true;
          }
          parallelKernel(kern, kern.packJob(weff, N, act.pk), ELEMENTWISE_WORK * N * N);
        }
        packedW = true;
        // With the nonlinearity where the products split over threads (activity-sparse products only
        // run for rectifying rules): one job less per step. On one thread it saves nothing at
        // N = 1440 and costs ~15 % of the product at N = 128, where act runs on its own.
        const fuse = kern.shared;
        parallelKernel(kern, kern.spFwdJob(act.pk, act.rowIdx, act.rowVals, (t - 1) * BN, act.rowStarts, (t - 1) * S, B, a, at, N, fuse ? { r, th } : undefined), act.nnz[t - 1] * N);
        actDone = fuse;
      } else parallelGemm(kern, 'nt', B, N, N, r, at - BN, N, weff, 0, N, a, at, N, true);
    }
    // Split over the helper threads as rows (a large model's act is ~0.4 ms per step at N = 1440).
    let done = 0;
    if (actDone) done = BN;
    else if (kern.simd && (N & 3) === 0 && kern.shared) {
      parallelKernel(kern, kern.actJob(a, r, at, B, N, th, rect), ELEMENTWISE_WORK * BN);
      done = BN;
    } else done = kern.act(a, r, at, BN, th, rect);
    if (rect) {
      for (let k = at + done; k < at + BN; k++) {
        const v = fastTanh(a[k]);
        a[k] = v;
        r[k] = v > th ? v : 0;
      }
    } else {
      for (let k = at + done; k < at + BN; k++) a[k] = fastTanh(a[k]);
    }
    if (needRT && t < T - 1) transposeInto(kern, r, at, B, N, ws.rT, t * NBp, Bp);
    if (pact !== null && t < T - 1) pact.nU[t] = markActive(kern, a, at, B, N, th, pact.mark, t * N);
    // Step t's active units counted and listed (serial work: beside the readout product below).
    const lists = act !== null && t < T - 1 ? (): void => {
      const n = kern.countAbove(a, at, BN, th, ws.count) ?? countAbove(a, at, BN, th);
      act.nnz[t] = n;
      if (n <= listMax) {
        kern.rowLists(a, r, at, B, N, th, act.rowIdx, act.rowVals, t * BN, act.rowStarts, t * S, ws.count)
          ?? buildRowLists(a, r, at, B, N, th, act.rowIdx, act.rowVals, t * BN, act.rowStarts, t * S);
        act.listed[t] = 1;
      }
    } : null;
    // Per-step readout z_t = a_t·W_outᵀ while a_t is in cache (one product over all T·B rows
    // afterwards would stream a [T, B, N] from L3 again); where products split, on the helper
    // threads while this one lists the active units (else split from a smaller size than other products).
    if (perStepHead) parallelGemm(kern, 'nt', B, nOutP4, N, a, at, N, wOutP, 0, N, z, t * B * nOutP4, nOutP4, false, lists ?? noWork);
    else lists?.();
  }

  lastActive = null;
  if (act !== null && T > 1) {
    let nnz = 0;
    let unlisted = false;
    for (let t = 0; t < T - 1; t++) {
      nnz += act.nnz[t];
      unlisted ||= act.listed[t] === 0;
    }
    lastActive = nnz / ((T - 1) * BN);
    // The W_hh gradient takes its activity-sparse kernel by the density over all steps, from every
    // step's lists: where that pays, the steps too dense for their own product are listed now
    // (a and r of all steps are kept). One dense step (often the first, driven by the inputs) had
    // sent a trained CelltypeRNN's whole gradient to the dense product: 240 against 153 ms a step.
    if (withGrad && unlisted && nnz <= dens.weights * (T - 1) * BN) {
      for (let t = 0; t < T - 1; t++) {
        if (act.listed[t] === 1) continue;
        const at = t * BN;
        kern.rowLists(a, r, at, B, N, th, act.rowIdx, act.rowVals, at, act.rowStarts, t * S, ws.count)
          ?? buildRowLists(a, r, at, B, N, th, act.rowIdx, act.rowVals, at, act.rowStarts, t * S);
        act.listed[t] = 1;
      }
    }
  }

  const bOut = p.bOut;
  if (perStepHead) {
    // Per-step MSE of the readouts z computed above.
    const tanhHead = cfg.head === 'tanh';
    const target = batch.target;
    const mseScale = 1 / (B * T * nOut);
    let sqSum = 0;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const yo = (b * T + t) * nOut;
        const s = t * B + b;
        const zo = s * nOutP4;
        const dzo = s * nOutP8;
        for (let o = 0; o < nOut; o++) {
          const zv = z[zo + o] + bOut[o];
          if (tanhHead) {
            const y = Math.tanh(zv);
            const e = y - target[yo + o];
            sqSum += e * e;
            if (withGrad) dz[dzo + o] = 2 * e * (1 - y * y) * mseScale;
          } else {
            const e = zv - target[yo + o];
            sqSum += e * e;
            if (withGrad) dz[dzo + o] = 2 * e * mseScale;
          }
        }
      }
    }
    return { loss: sqSum * mseScale };
  }

  // softmax-last: cross-entropy on z_T.
  const labels = batch.labels!;
  const logits = ws.logits;
  kern.gemm(B, nOutP4, N, a, (T - 1) * BN, N, wOutP, 0, N, z, 0, nOutP4, false);
  let ce = 0;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let best = 0;
    let mx = -Infinity;
    for (let o = 0; o < nOut; o++) {
      const zv = z[b * nOutP4 + o] + bOut[o];
      logits[o] = zv;
      if (zv > mx) { mx = zv; best = o; }
    }
    let se = 0;
    for (let o = 0; o < nOut; o++) se += Math.exp(logits[o] - mx);
    const lse = mx + Math.log(se);
    const lab = labels[b];
    if (!(lab >= 0 && lab < nOut)) throw new ShapeError(`batch.labels[${b}] = ${lab} outside [0, ${nOut})`);
    ce += lse - logits[lab];
    if (best === lab) correct++;
    if (withGrad) {
      for (let o = 0; o < nOut; o++) {
        dz[b * nOutP8 + o] = (Math.exp(logits[o] - lse) - (o === lab ? 1 : 0)) / B;
      }
    }
  }
  return { loss: ce / B, correct };
}

/**
 * The inputs x `[B, T, nIn]` (batch-major) in step-major order with the ones column of the
 * biases: xa `[T·B, nInP]` (row t·B + b: x[b, t, :], then 1; later columns untouched) and its
 * transpose xaT `[nIn + 1, T·B]`. The scalar form of {@link SimdGemm.packInput}.
 */
export function packInputs(x: Float32Array, B: number, T: number, nIn: number, nInP: number, xa: Float32Array, xaT: Float32Array): void {
  const TB = T * B;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const xo = (b * T + t) * nIn;
      const s = t * B + b;
      const so = s * nInP;
      for (let q = 0; q < nIn; q++) {
        const v = x[xo + q];
        xa[so + q] = v;
        xaT[q * TB + s] = v;
      }
      xa[so + nIn] = 1;
      xaT[nIn * TB + s] = 1;
    }
  }
}

/**
 * BPTT. Per step (backwards): dPre_t = (dz_t·W_out + mask·dr_t)·(1 − a_t²) (one kernel pass) and
 * dr_{t-1} = dPre_t·W_eff. The weight gradients are single products over all T·B samples at the
 * end: dW_eff = Σ_t dPre_tᵀ r_{t-1}, (dW_in | db) = dPreᵀ (x | 1), dW_outᵀ = aᵀ dz.
 */
function backward(cfg: ModelConfig, p: Params, batch: Batch, ws: Workspace, g: Params, sparseGrad: boolean): void {
  const N = cfg.nHidden;
  const nIn = cfg.nInput;
  const nOut = cfg.nOutput;
  const { B, T } = batch;
  const BN = B * N;
  const TB = T * B;
  const rect = rectifiesState(cfg);
  const th = cfg.threshold;
  const { a, r, dPre, dr, weff, weffT, dz, wOutP, nInP, nOutP8, k: kern } = ws;
  const perStep = cfg.head !== 'softmax-last';

  const sparse = ws.sparse;
  const Bp = ws.Bp;
  const NBp = N * Bp;
  // W_eff^T (so the dr product has contiguous inner loops), or its CSR on the sparse path.
  if (sparse) transposeCsr(ws, N);
  else if (!ws.weffTFresh) transposeInto(kern, weff, 0, N, N, weffT, 0, N); // (the forward pass may have made it)

  const flush = gradFlush ? GRAD_FLUSH : 0;
  // Active units the forward pass counted and listed (r_{t-1} is 0 where a_{t-1} ≤ th: dr_{t-1} is
  // only read where a_{t-1} > th, and only those samples add to the W_hh gradient).
  const act = ws.act !== null && ws.act.counted && !sparse ? ws.act : null;
  const dens = activityMaxDensity(N);
  const pact = ws.pact !== null && activityMode !== 'never' ? ws.pact : null; // (nU = N for steps the forward pass did not mark)
  // Which steps take the activity-sparse dr product, and whether the W_hh gradient takes the
  // activity-sparse kernel (decided before their column lists are built).
  const spBwdSteps = act?.bwdSteps ?? null;
  if (act !== null) {
    act.bwdSteps.fill(0);
    for (let t = T - 1; t >= 1; t--) if (act.listed[t - 1] === 1 && activityPays(act.nnz[t - 1], BN, dens.backward, 'backward')) act.bwdSteps[t] = 1;
  }
  let spDwNnz = 0;
  let spDwOn = false;
  if (act !== null && T > 1 && !sparseGrad) {
    let all = true;
    for (let t = 0; t < T - 1; t++) { spDwNnz += act.nnz[t]; all &&= act.listed[t] === 1; }
    spDwOn = all && activityPays(spDwNnz, (T - 1) * BN, dens.weights, 'weights');
  }
  // A model whose products split over threads builds them all up front, as one job; a small one
  // builds each just before its product reads it, into one region that stays in cache (the lists
  // of all 49 steps of a flip-flop batch outgrow the L2 cache).
  const upFront = kern.shared;
  const spDwChunks = act !== null && upFront ? buildColumnLists(kern, act, act.bwdSteps, spDwOn ? spDwNnz : -1, B, N, T) : 0;
  for (let t = T - 1; t >= 0; t--) {
    const at = t * BN;
    const head = perStep || t === T - 1;
    const rec = t < T - 1;
    const dzOff = perStep ? t * B * nOutP8 : 0;
    let ran = false;
    if (kern.shared && (N & 3) === 0) {
      parallelKernel(kern, kern.bwdJob(dPre, a, at, dr, dz, dzOff, nOutP8, wOutP, B, N, nOut, th, head, rec, rect, flush), ELEMENTWISE_WORK * BN);
      ran = true;
    } else ran = kern.bwd(dPre, a, at, dr, dz, dzOff, nOutP8, wOutP, B, N, nOut, th, head, rec, rect, flush);
    if (!ran) {
      for (let b = 0; b < B; b++) {
        const ro = b * N;
        const zo = dzOff + b * nOutP8;
        for (let i = 0; i < N; i++) {
          const av = a[at + ro + i];
          let v = 0;
          if (head) for (let o = 0; o < nOut; o++) v += dz[zo + o] * wOutP[o * N + i];
          if (rec && (!rect || av > th)) v += dr[ro + i];
          const d = Math.fround(v * (1 - av * av));
          dPre[at + ro + i] = Math.abs(d) < flush ? 0 : d;
        }
      }
    }
    if (t > 0 && (sparse || sparseGrad)) transposeInto(kern, dPre, at, B, N, ws.dPreT, t * NBp, Bp);
    if (t > 0) {
      if (sparse && pact !== null && pact.nU[t - 1] < N) {
        // dr_{t-1} at the active units only (the next step reads no other): the other rows emptied.
        filterRows(ws.rpT, ws.colsT, ws.valsT, N, pact.mark, (t - 1) * N, pact.rp, pact.cols, pact.vals);
        activityCounts.pruned++;
        spmmSplit(kern, pact.rp, pact.cols, pact.vals, N, ws.dPreT, t * NBp, B, dr, 0, N, false);
      } else if (sparse) spmmSplit(kern, ws.rpT, ws.colsT, ws.valsT, N, ws.dPreT, t * NBp, B, dr, 0, N, false);
      else if (act !== null && spBwdSteps !== null && spBwdSteps[t] === 1) {
        // (built just now into region 0, or up front into region t − 1)
        const region = upFront ? t - 1 : 0;
        if (!upFront) {
          describeStepLists(kern, act, 0, t - 1, region, B, N);
          buildListUnit(kern, act, B, N);
        }
        const cs = act.colCs.subarray(region * (N + 1), (region + 1) * (N + 1));
        const job = kern.spBwdJob(weffT, act.colIdx.subarray(region * BN), cs, dPre, at, dr, N);
        job.cost = { prefix: cs, align: CUT_ALIGN };
        parallelKernel(kern, job, act.nnz[t - 1] * N);
      } else parallelGemm(kern, 'nt', B, N, N, dPre, at, N, weffT, 0, N, dr, 0, N, false);
    }
  }

  // W_hh: dW_eff[i, j] = Σ_{t>=1, b} dPre_t[b, i] r_{t-1}[b, j] (first: its copy into g.wHh
  // runs beside the readout gradient's product).
  let copyWHh = false;
  if (T > 1 && sparseGrad) {
    // Only the entries of the mask hint: gvals[e] = Σ_{t>=1} dPre_tᵀ[i, :] · r_{t-1}ᵀ[j, :].
    const { mrp, mcols, gvals } = ws;
    const nnz = mrp[N];
    gvals.fill(0, 0, nnz);
    for (let t = 1; t < T; t++) {
      if (pact !== null && pact.nU[t - 1] < N && kern.simd) {
        // Only the entries of active columns (the others add a dot product with a zero row of rT),
        // each step's float32 sums added to their entries in order (SIMD kernel only: the scalar
        // one adds its float64 sum, which a float32 partial would round twice).
        spreadMarks(pact, (t - 1) * N, N, Bp);
        filterColumns(kern, mrp, mcols, null, N, pact.markBp, pact.mrp, pact.mcols, null, pact.map);
        const nF = pact.mrp[N];
        const { gF, map } = pact;
        gF.fill(0, 0, nF);
        activityCounts.pruned++;
        sddmmSplit(kern, pact.mrp, pact.mcols, gF, N, ws.dPreT, t * NBp, Bp, ws.rT, (t - 1) * NBp);
        for (let f = 0; f < nF; f++) gvals[map[f]] += gF[f];
      } else sddmmSplit(kern, mrp, mcols, gvals, N, ws.dPreT, t * NBp, Bp, ws.rT, (t - 1) * NBp);
    }
    const gw = g.wHh;
    gw.fill(0);
    for (let i = 0; i < N; i++) {
      const o = i * N;
      for (let e = mrp[i]; e < mrp[i + 1]; e++) gw[o + mcols[e] / Bp] = gvals[e];
    }
  } else if (T > 1) {
    // (the sample lists were made from every step's row lists, before the time loop)
    if (act !== null && spDwOn) {
      // Per panel of SPDW_ROWS rows i: dPre's columns copied side by side (the panel stays in L2
      // and its rows share TLB pages), the gradient computed transposed, then stored in place.
      const W = SPDW_ROWS;
      let nC = spDwChunks;
      if (!upFront) {
        nC = describeSampleLists(kern, act, 0, B, N, T);
        buildListUnit(kern, act, B, N);
      }
      const nnz = spDwNnz;
      const { panel, outP } = act;
      // (what the columns cost only matters where the job may split over threads)
      const cost = upFront ? { prefix: columnCosts(act.smpCs, nC, N, SPDW_COLUMN_COST, act.smpCost), align: CUT_ALIGN } : undefined;
      for (let i0 = 0; i0 < N; i0 += W) {
        const w = Math.min(W, N - i0);
        parallelKernel(kern, kern.copyJob(dPre, BN + i0, N, panel, 0, W, (T - 1) * B, w), ELEMENTWISE_WORK * (T - 1) * B * w);
        const job = kern.spDwJob(act.smpIdx, act.smpVals, act.smpCs, nC, N, w, panel, outP, W, ws.gWHh, i0 * N, N);
        if (cost !== undefined) job.cost = cost;
        parallelKernel(kern, job, nnz * w);
      }
    } else parallelGemm(kern, 'tn', N, N, (T - 1) * B, dPre, BN, N, r, 0, N, ws.gWHh, 0, N, false);
    copyWHh = true;
  } else {
    g.wHh.fill(0);
  }
  // Readout gradients.
  const zRows = perStep ? TB : B;
  // (where products split, on the helper threads while this one copies the W_hh gradient out of the kernel memory)
  const readoutBeside = copyWHh ? (): void => g.wHh.set(ws.gWHh) : noWork;
  parallelGemm(kern, 'tn', N, nOutP8, zRows, a, perStep ? 0 : (T - 1) * BN, N, dz, 0, nOutP8, ws.gOutT, 0, nOutP8, false, readoutBeside);
  const gOutT = ws.gOutT;
  for (let o = 0; o < nOut; o++) {
    for (let i = 0; i < N; i++) g.wOut[o * N + i] = gOutT[i * nOutP8 + o];
    let s = 0;
    for (let q = 0; q < zRows; q++) s += dz[q * nOutP8 + o];
    g.bOut[o] = s;
  }
  // Input weights and biases: (dW_in | db)[i, q] = Σ_s dPre[s, i] xa[s, q].
  const gWInA = ws.gWInA;
  parallelGemm(kern, 'tn', N, nInP, TB, dPre, 0, N, ws.xa, 0, nInP, gWInA, 0, nInP, false);
  for (let i = 0; i < N; i++) {
    for (let q = 0; q < nIn; q++) g.wIn[i * nIn + q] = gWInA[i * nInP + q];
    g.bIn[i] = gWInA[i * nInP + nIn];
    g.bHh[i] = gWInA[i * nInP + nIn];
  }
  if (usesAbsParam(cfg)) {
    // W_eff = |W~| D  =>  dW~ = dW_eff · D · sign(W~).
    const w = p.wHh;
    const nExc = cfg.nExc;
    for (let i = 0; i < N; i++) {
      const o = i * N;
      for (let j = 0; j < N; j++) {
        const v = w[o + j];
        const sg = v > 0 ? 1 : v < 0 ? -1 : 0;
        g.wHh[o + j] *= j < nExc ? sg : -sg;
      }
    }
  }
}

/** The hand-written Float32Array backend (default CPU backend). */
export const jsBackend: Backend = {
  name: 'js',
  /** What computes here: `arithmetic` is `fma`, `mul-add` (the SIMD kernels') or `scalar`. */
  facts(): Record<string, string> {
    const simd = useSimd && simdSupported();
    const arithmetic = simd ? kernelArithmetic() : 'scalar';
    const how = !simd ? 'scalar JavaScript' : arithmetic === 'fma' ? 'WebAssembly SIMD, fused multiply-add' : 'WebAssembly SIMD, multiply then add';
    return { engine: 'js', device: 'cpu', engineVersion: `dalesweep js kernels (${how})`, arithmetic };
  },
  lossAndGrad(cfg: ModelConfig, params: Params, batch: Batch, grads: Params, masks?: ModelMasks): LossResult {
    checkShapes(cfg, params, batch);
    const ws = workspace(cfg, batch.B, batch.T);
    const N = cfg.nHidden;
    const m = masks?.recurrent;
    if (m !== undefined && m.length !== N * N) throw new ShapeError(`masks.recurrent has length ${m.length}, expected ${N * N} for config N=${N}`);
    // Weight gradient at the mask entries only (sampled product), when the mask is sparse enough.
    // The mask is the caller's array: staged into the kernel memory for the SIMD CSR builder, once
    // while it stays the same (a training run passes the same mask every step).
    let sparseGrad = false;
    if (m !== undefined && batch.T > 1 && sparseMode !== 'never') {
      const cap = sparseCap(N);
      if (!ws.k.simd) sparseGrad = buildCsr(ws.k, m, N, ws.Bp, cap, ws.mrp, ws.mcols, null, ws.count);
      else {
        if (ws.mCsr === null || ws.mCsr.cap !== cap || !sameBytes(m, ws.mStage)) {
          ws.mStage.set(m);
          ws.mCsr = { cap, ok: buildCsr(ws.k, ws.mStage, N, ws.Bp, cap, ws.mrp, ws.mcols, null, ws.count) };
        }
        sparseGrad = ws.mCsr.ok;
      }
    }
    const res = forward(cfg, params, batch, ws, true, sparseGrad);
    backward(cfg, params, batch, ws, grads, sparseGrad);
    return res;
  },
  evaluate(cfg: ModelConfig, params: Params, batch: Batch): LossResult {
    checkShapes(cfg, params, batch);
    const ws = workspace(cfg, batch.B, batch.T);
    return forward(cfg, params, batch, ws, false, false);
  },
};
