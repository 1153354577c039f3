/**
 * Parameter initialisation (SCIENCE.md §1), the default model configuration and the effective
 * recurrent matrix that every consumer (pruning, MST, analysis) reads.
 */
import { Rng } from './rng.js';
import type { ModelConfig, Params } from './types.js';
import { usesAbsParam } from './model-js.js';

/** Thrown when a model configuration is not usable. */
export class ModelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

/** Fraction of excitatory hidden units in the paper's networks (SCIENCE.md §2). */
export const DEFAULT_EXC_FRACTION = 0.8;

/** Number of excitatory units among N (the first ones in the hidden order): round(fraction · N). */
export function excitatoryCount(N: number, fraction: number = DEFAULT_EXC_FRACTION): number {
  return Math.round(fraction * N);
}

/**
 * A full {@link ModelConfig} from the fields given: nExc defaults to round(0.8 N), threshold to
 * 0, fidelity to `corrected`, rule to `dale`, head to `linear`, nInput and nOutput to 1,
 * nHidden to 128. Validates the result.
 * @throws ModelConfigError when a size is not a positive integer or nExc is outside [0, N]
 */
export function defaultModelConfig(partial: Partial<ModelConfig>): ModelConfig {
  const nHidden = partial.nHidden ?? 128;
  const cfg: ModelConfig = {
    nInput: partial.nInput ?? 1,
    nHidden,
    nOutput: partial.nOutput ?? (partial.head === 'wave-ei' ? 2 : 1),
    nExc: partial.nExc ?? excitatoryCount(nHidden),
    rule: partial.rule ?? 'dale',
    head: partial.head ?? 'linear',
    threshold: partial.threshold ?? 0,
    fidelity: partial.fidelity ?? 'corrected',
  };
  validateModelConfig(cfg);
  return cfg;
}

/** @throws ModelConfigError naming the invalid field */
export function validateModelConfig(cfg: ModelConfig): void {
  for (const k of ['nInput', 'nHidden', 'nOutput'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new ModelConfigError(`${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!Number.isInteger(cfg.nExc) || cfg.nExc < 0 || cfg.nExc > cfg.nHidden) {
    throw new ModelConfigError(`nExc must be an integer in [0, nHidden=${cfg.nHidden}], got ${cfg.nExc}`);
  }
  if (!Number.isFinite(cfg.threshold)) throw new ModelConfigError(`threshold must be finite, got ${cfg.threshold}`);
  if (cfg.head === 'wave-ei' && cfg.nOutput !== 2) throw new ModelConfigError(`head wave-ei needs nOutput = 2, got ${cfg.nOutput}`);
}

/**
 * Initial parameters for `cfg` from `new Rng(seed, 'init')`, drawn in the fixed order
 * wIn, bIn, wHh, bHh, wOut, bOut (row-major within each tensor, one uniform per entry).
 *
 * - W_hh [N, N]: E columns (j < nExc) U(0, 1/√N), I columns U(-1/√N, 0), for every rule, so the
 *   initial effective matrix is identical across rules at the same seed. For rectified/corrected
 *   the stored W~ is |W_init| (then |W~|·D = W_init).
 * - wIn, bIn, bHh: PyTorch `nn.RNN` defaults U(-1/√N, 1/√N) (nn.RNN uses 1/√hidden_size for all
 *   its weights and biases).
 * - wOut [nOut, N], bOut: PyTorch `nn.Linear(N, nOut)` defaults U(-1/√fan_in, 1/√fan_in) with
 *   fan_in = N. Head `wave-ei` under `paper-code`: the authors' two readouts, `nn.Linear(nExc, 1)`
 *   on the E units (row 0, bOut[0]) and `nn.Linear(N - nExc, 1)` on the I units (row 1, bOut[1]),
 *   so fan_in = nExc and N - nExc (102 and 26 at N = 128; bound 0 for an empty population, as
 *   PyTorch); a row's entries outside its population are 0 (the readout mask's zeros). The same
 *   uniforms are drawn in the same order as for fan_in N, so every other tensor is unchanged.
 */
export function initParams(cfg: ModelConfig, seed: number): Params {
  validateModelConfig(cfg);
  const rng = new Rng(seed, 'init');
  const N = cfg.nHidden;
  const k = 1 / Math.sqrt(N);
  const wIn = rng.fillUniform(new Float32Array(N * cfg.nInput), -k, k);
  const bIn = rng.fillUniform(new Float32Array(N), -k, k);
  const wHh = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const u = rng.uniform() * k;
      wHh[i * N + j] = j < cfg.nExc ? u : -u;
    }
  }
  if (usesAbsParam(cfg)) for (let q = 0; q < wHh.length; q++) wHh[q] = Math.abs(wHh[q]);
  const bHh = rng.fillUniform(new Float32Array(N), -k, k);
  if (cfg.head === 'wave-ei' && cfg.fidelity === 'paper-code') {
    const { wOut, bOut } = waveReadoutsPaperCode(rng, N, cfg.nExc);
    return { wIn, bIn, wHh, bHh, wOut, bOut };
  }
  const wOut = rng.fillUniform(new Float32Array(cfg.nOutput * N), -k, k);
  const bOut = rng.fillUniform(new Float32Array(cfg.nOutput), -k, k);
  return { wIn, bIn, wHh, bHh, wOut, bOut };
}

/**
 * The authors' wave readouts (see {@link initParams}): row 0 of wOut [2, N] reads the E units
 * j < nExc, row 1 the I units, each with its PyTorch `nn.Linear` bound 1/√fan_in; one uniform
 * per entry of wOut (row-major, entries outside the row's population drawn and set to 0), then
 * one per bias.
 */
function waveReadoutsPaperCode(rng: Rng, N: number, nExc: number): { wOut: Float32Array; bOut: Float32Array } {
  const bound = (fanIn: number): number => (fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
  const bounds = [bound(nExc), bound(N - nExc)];
  const wOut = new Float32Array(2 * N);
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < N; j++) {
      const u = rng.uniform();
      if ((j < nExc ? 0 : 1) === r) wOut[r * N + j] = -bounds[r] + 2 * bounds[r] * u;
    }
  }
  const bOut = new Float32Array(2);
  for (let r = 0; r < 2; r++) bOut[r] = -bounds[r] + 2 * bounds[r] * rng.uniform();
  return { wOut, bOut };
}

/**
 * The recurrent matrix the network actually uses, [N, N] row-major [post, pre]: |W~|·D for
 * rectified/corrected (D = +1 on E columns, -1 on I columns), otherwise a copy of W_hh.
 */
export function effectiveRecurrent(cfg: ModelConfig, params: Params): Float32Array {
  const N = cfg.nHidden;
  if (params.wHh.length !== N * N) throw new ModelConfigError(`params.wHh has length ${params.wHh.length}, expected N*N = ${N * N}`);
  const out = Float32Array.from(params.wHh);
  if (usesAbsParam(cfg)) {
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const v = Math.abs(out[i * N + j]);
        out[i * N + j] = j < cfg.nExc ? v : -v;
      }
    }
  }
  return out;
}

/** Deep copy of params. */
export function cloneParams(p: Params): Params {
  return {
    wIn: p.wIn.slice(),
    bIn: p.bIn.slice(),
    wHh: p.wHh.slice(),
    bHh: p.bHh.slice(),
    wOut: p.wOut.slice(),
    bOut: p.bOut.slice(),
  };
}

/** Zero-filled params of the same shapes as `p` (e.g. a gradient buffer). */
export function zerosLike(p: Params): Params {
  return {
    wIn: new Float32Array(p.wIn.length),
    bIn: new Float32Array(p.bIn.length),
    wHh: new Float32Array(p.wHh.length),
    bHh: new Float32Array(p.bHh.length),
    wOut: new Float32Array(p.wOut.length),
    bOut: new Float32Array(p.bOut.length),
  };
}
