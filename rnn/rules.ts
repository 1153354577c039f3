/**
 * The learning rules' projections applied after every optimiser step (SCIENCE.md §2) and the
 * fixed pruning / input / readout masks (SCIENCE.md §3).
 */
import type { ModelConfig, ModelMasks, Params } from './types.js';
import { updateKernelsOf } from './update-kernels.js';
import { parallelUpdate } from './parallel-gemm.js';

/** Work per weight of the projection, in multiply-adds for the threads' split threshold (rnn/parallel-gemm.ts). */
const DALE_WORK = 8;
/** Work per element of a mask, likewise. */
const MASK_WORK = 4;

/** Thrown when a mask or sign matrix does not have the shape of the tensor it applies to. */
export class MaskShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaskShapeError';
  }
}

/**
 * Counts Dale's-law sign violations of W [N, N] row-major [post, pre] whose first nExc columns
 * are excitatory: entries < 0 in E columns and > 0 in I columns (NaN counts as none).
 * @returns the count and the first violating entry in row-major order, if any
 */
export function daleViolations(w: ArrayLike<number>, N: number, nExc: number): { count: number; first?: { row: number; col: number; value: number } } {
  if (w.length !== N * N) throw new MaskShapeError(`daleViolations: w has length ${w.length}, expected N*N = ${N * N}`);
  let count = 0;
  let first: { row: number; col: number; value: number } | undefined;
  for (let k = 0; k < w.length; k++) {
    const col = k % N;
    const bad = col < nExc ? w[k] < 0 : w[k] > 0;
    if (bad) {
      count++;
      first ??= { row: Math.floor(k / N), col, value: w[k] };
    }
  }
  return { count, first };
}

/**
 * Dale's projection in place on W [N, N] row-major [post, pre]: excitatory columns
 * (j < nExc) become max(0, w), inhibitory columns min(0, w). Per entry this is the nearest
 * feasible value, so the result is the Frobenius-closest matrix of the feasible orthant. −0 and
 * NaN entries stay as they are. When w lives in an optimiser's kernel memory (rnn/update-kernels.ts)
 * and N is a multiple of 4, a SIMD kernel does the same (6.3 → 0.9 ms at N = 1440).
 */
export function daleProject(w: Float32Array, N: number, nExc: number): Float32Array {
  if (w.length !== N * N) throw new MaskShapeError(`daleProject: w has length ${w.length}, expected N*N = ${N * N}`);
  const mem = updateKernelsOf(w);
  const job = mem?.daleJob(w, N, nExc) ?? null;
  if (mem !== null && job !== null) {
    parallelUpdate(mem, job, DALE_WORK * N * N);
    return w;
  }
  for (let i = 0; i < N; i++) {
    const o = i * N;
    for (let j = 0; j < nExc; j++) if (w[o + j] < 0) w[o + j] = 0;
    for (let j = nExc; j < N; j++) if (w[o + j] > 0) w[o + j] = 0;
  }
  return w;
}

/**
 * The authors' rectified-rule update (`paper-code`), in place: w[w < 0] = 0, then w *= signInit
 * elementwise (signInit = sign(W_init), ±1). Note it zeroes any inhibitory weight that the step
 * left negative, i.e. almost all of them, every step.
 */
export function rectifiedPaperCodeProject(w: Float32Array, signInit: Float32Array): Float32Array {
  if (w.length !== signInit.length) {
    throw new MaskShapeError(`rectifiedPaperCodeProject: signInit has length ${signInit.length}, expected ${w.length}`);
  }
  for (let k = 0; k < w.length; k++) {
    const v = w[k];
    w[k] = v > 0 ? v * signInit[k] : 0; // +0, never -0
  }
  return w;
}

/** Context of the rule projections. */
export interface RuleContext {
  /** sign(W_init) [N, N] for rectified/paper-code. */
  signInit?: Float32Array;
}

/**
 * The rule context of `cfg`: for rectified/paper-code, signInit = sign(W_init), which by
 * construction of the initialisation (E columns > 0, I columns < 0) is +1 on E columns and -1 on
 * I columns; it does not depend on the current weights, so fine-tuning uses the same signs.
 */
export function ruleContext(cfg: ModelConfig): RuleContext {
  if (cfg.rule !== 'rectified' || cfg.fidelity !== 'paper-code') return {};
  const N = cfg.nHidden;
  const s = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) s[i * N + j] = j < cfg.nExc ? 1 : -1;
  return { signInit: s };
}

/**
 * Apply the rule's projection to params.wHh in place: conventional nothing; dale
 * {@link daleProject}; rectified/paper-code {@link rectifiedPaperCodeProject}; rectified/corrected
 * nothing (the parameterisation |W~|·D enforces the signs).
 */
export function applyRuleProjection(cfg: ModelConfig, params: Params, ctx: RuleContext): void {
  switch (cfg.rule) {
    case 'conventional':
      return;
    case 'dale':
      daleProject(params.wHh, cfg.nHidden, cfg.nExc);
      return;
    case 'rectified':
      if (cfg.fidelity === 'paper-code') {
        if (ctx.signInit === undefined) throw new MaskShapeError('rectified/paper-code needs ctx.signInit (see ruleContext)');
        rectifiedPaperCodeProject(params.wHh, ctx.signInit);
      }
      return;
  }
}

function mulInPlace(t: Float32Array, m: Float32Array | undefined, name: string): void {
  if (m === undefined) return;
  if (m.length !== t.length) throw new MaskShapeError(`masks.${name} has length ${m.length}, expected ${t.length}`);
  // Where both are views of one optimiser memory (rnn/optim.ts placeParams, placeMasks), the
  // mask kernel (the same bits; 4.9 → 0.6 ms for W_hh at N = 1440; split over the threads when shared).
  const mem = updateKernelsOf(t);
  let from = 0;
  if (mem !== null && mem.holds(m)) {
    const job = mem.maskJob(t, m);
    parallelUpdate(mem, job, MASK_WORK * t.length);
    from = job.args[2];
  }
  for (let k = from; k < t.length; k++) if (m[k] === 0) t[k] = 0; else t[k] *= m[k];
}

/**
 * Multiply params by the fixed masks in place: wHh by masks.recurrent [N, N], wIn by
 * masks.input [N, nIn], wOut by masks.readout [nOut, N]. Entries where the mask is 0 become
 * exactly +0 (whatever the weight, even non-finite); other entries are multiplied by the mask.
 */
export function applyMasks(params: Params, masks: ModelMasks | undefined): void {
  if (masks === undefined) return;
  mulInPlace(params.wHh, masks.recurrent, 'recurrent');
  mulInPlace(params.wIn, masks.input, 'input');
  mulInPlace(params.wOut, masks.readout, 'readout');
}

/** Zero the gradient entries of masked parameters (keeps optimiser state of pruned weights 0). */
export function maskGrads(grads: Params, masks: ModelMasks | undefined): void {
  applyMasks(grads, masks);
}
