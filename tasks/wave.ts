/**
 * The wave-reconstruction task (SCIENCE.md §5), as the authors' notebooks set it up:
 *
 * - One pair of waveforms per run (seed), sampled at t = 0, 0.2, ..., 499.8 (2,500 samples):
 *     E(t) = 1.5 sin(a π t / 50) + 0.5 sin(b π t / 50)
 *     I(t) = 0.75 sin(c π t / 50 + φ) + 1.875 sin(d π t / 50 + φ)
 *   with a, b, c, d uniform in 1..5 and φ = -k π / 6, k uniform in 4..6. The second term of each
 *   wave (amplitudes amp/3 and amp/0.8 with amp = 1.5, as written in the authors' code) is the
 *   sinusoid the authors meant to add but dropped (a Python line-continuation slip): it is added
 *   under `corrected` and dropped under `paper-code`. a, b, c, d, k are drawn in both modes so the
 *   first terms are the same for a seed.
 * - Samples are windows of length T = 500 starting at a uniform integer s in [0, 2500 - 500);
 *   the input is the two waves at steps s..s+T-1, x_t = (E, I), and the target the next sample,
 *   y_t = (E, I) at s+1..s+T (next-sample prediction). Train and test windows are drawn
 *   independently from the same waveform (as the authors do). Under `corrected` both waves of a
 *   sample share its start; under `paper-code` the I window has its own uniform start s_I, as the
 *   authors cut each wave into chunks separately (x_t = (E[s + t], I[s_I + t]), targets likewise).
 * - nIn = 2, nOut = 2, head `wave-ei`: readout row 0 reads the E units, row 1 the I units (under
 *   `paper-code` initialised as the authors' two Linear layers, fan-in nExc and N - nExc: rnn/init.ts). The
 *   input mask (corrected) sends input 0 (E wave) to the E units only and input 1 (I wave) to the I
 *   units only; the authors' mask multiply is not in place, so under `paper-code` there is none.
 *
 * Random streams: `new Rng(seed, 'data:wave:params')` for a, b, c, d, k (in that order, each
 * `1 + int(5)` / `4 + int(3)`), `'data:wave:train'` / `'data:wave:test'` for the window starts
 * (the E starts under `paper-code`), `'data:wave:train:inh'` / `'data:wave:test:inh'` for the
 * I starts under `paper-code`.
 */
import type { Dataset } from '../rnn/dataset.js';
import { allocBatch } from '../rnn/dataset.js';
import { Rng } from '../rnn/rng.js';
import type { Batch, Fidelity, ModelMasks } from '../rnn/types.js';

/** Wave task options. */
export interface WaveOptions {
  /** @default 'corrected' */
  fidelity?: Fidelity;
  /** Training windows. @default 1000 */
  nTrain?: number;
  /** Test windows. @default 1000 */
  nTest?: number;
  /** Window length (steps). @default 500 */
  T?: number;
  /** Duration of the waveform in time units. @default 500 */
  duration?: number;
  /** Sampling step. @default 0.2 */
  dt?: number;
}

/** Thrown on invalid wave options. */
export class WaveOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaveOptionsError';
  }
}

/** The random parameters of one run's waveforms. */
export interface WaveParams {
  a: number;
  b: number;
  c: number;
  d: number;
  k: number;
  /** φ = -k π / 6. */
  phi: number;
}

/** Amplitudes: E first/second term, I first/second term (authors' amp = 1.5: amp, amp/3, amp/2, amp/0.8). */
export const WAVE_AMPLITUDES = { e1: 1.5, e2: 0.5, i1: 0.75, i2: 1.875 } as const;

/** Model sizes implied by the task. */
export const WAVE_SHAPE = { nInput: 2, nOutput: 2, head: 'wave-ei' } as const;

/** Draws the waveform parameters of a seed. */
export function waveParams(seed: number): WaveParams {
  const rng = new Rng(seed, 'data:wave:params');
  const a = 1 + rng.int(5);
  const b = 1 + rng.int(5);
  const c = 1 + rng.int(5);
  const d = 1 + rng.int(5);
  const k = 4 + rng.int(3);
  return { a, b, c, d, k, phi: (-k * Math.PI) / 6 };
}

/** E and I waves at time t (time units; period of sin(a π t / 50) is 100 / a). */
export function waveValues(p: WaveParams, t: number, fidelity: Fidelity = 'corrected'): { e: number; i: number } {
  const w = Math.PI / 50;
  let e = WAVE_AMPLITUDES.e1 * Math.sin(p.a * w * t);
  let i = WAVE_AMPLITUDES.i1 * Math.sin(p.c * w * t + p.phi);
  if (fidelity === 'corrected') {
    e += WAVE_AMPLITUDES.e2 * Math.sin(p.b * w * t);
    i += WAVE_AMPLITUDES.i2 * Math.sin(p.d * w * t + p.phi);
  }
  return { e, i };
}

/** Windows of a sampled waveform pair, assembled lazily into batches. */
export class WaveDataset implements Dataset {
  readonly nIn = 2;
  readonly nOut = 2;
  readonly classification = false;
  readonly n: number;
  /** Window starts of the I wave, [n]; the same array as `starts` unless given separately. */
  readonly startsI: Int32Array;

  /**
   * @param series interleaved samples [L, 2] (E, I) of the waveform
   * @param starts window starts of the E wave (and of the I wave when `startsI` is absent), [n], each in [0, L - T)
   * @param T window length
   * @param startsI window starts of the I wave, [n], each in [0, L - T) (`paper-code`)
   */
  constructor(
    readonly series: Float32Array,
    readonly starts: Int32Array,
    readonly T: number,
    startsI?: Int32Array,
  ) {
    this.n = starts.length;
    this.startsI = startsI ?? starts;
    if (this.startsI.length !== this.n) throw new WaveOptionsError(`${this.startsI.length} I window starts for ${this.n} E window starts`);
    const L = series.length / 2;
    for (const a of [starts, this.startsI]) for (const s of a) if (!(s >= 0 && s + T + 1 <= L)) throw new WaveOptionsError(`window start ${s} leaves no room for ${T} + 1 samples in ${L}`);
  }

  batch(indices: ArrayLike<number>, out?: Batch): Batch {
    const B = indices.length;
    const T = this.T;
    const b = out !== undefined && out.B === B && out.T === T ? out : allocBatch(this, B);
    for (let q = 0; q < B; q++) {
      const i = indices[q];
      if (!(i >= 0 && i < this.n)) throw new RangeError(`sample index ${i} outside [0, ${this.n})`);
      const s = this.starts[i];
      const sI = this.startsI[i];
      if (sI === s) {
        b.x.set(this.series.subarray(2 * s, 2 * (s + T)), q * T * 2);
        b.target.set(this.series.subarray(2 * (s + 1), 2 * (s + 1 + T)), q * T * 2);
      } else {
        const o = q * T * 2;
        for (let t = 0; t < T; t++) {
          b.x[o + 2 * t] = this.series[2 * (s + t)];
          b.x[o + 2 * t + 1] = this.series[2 * (sI + t) + 1];
          b.target[o + 2 * t] = this.series[2 * (s + t + 1)];
          b.target[o + 2 * t + 1] = this.series[2 * (sI + t + 1) + 1];
        }
      }
    }
    return b;
  }
}

/** The train and test sets of a seed, and the waveform they come from. */
export interface WaveTask {
  train: WaveDataset;
  test: WaveDataset;
  params: WaveParams;
  /** Interleaved (E, I) samples [L, 2]. */
  series: Float32Array;
}

function posInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new WaveOptionsError(`wave ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Builds the wave task of a seed (see the module comment).
 * @returns datasets with x [n, T, 2] and target [n, T, 2]
 */
export function waveTask(seed: number, opts: WaveOptions = {}): WaveTask {
  const fidelity = opts.fidelity ?? 'corrected';
  const T = posInt(opts.T ?? 500, 'T');
  const nTrain = posInt(opts.nTrain ?? 1000, 'nTrain');
  const nTest = posInt(opts.nTest ?? 1000, 'nTest');
  const duration = opts.duration ?? 500;
  const dt = opts.dt ?? 0.2;
  if (!(duration > 0 && dt > 0)) throw new WaveOptionsError(`wave duration and dt must be positive, got ${duration}, ${dt}`);
  const L = Math.round(duration / dt);
  if (L - T < 1) throw new WaveOptionsError(`wave window T = ${T} does not fit in ${L} samples (duration / dt)`);
  const params = waveParams(seed);
  const series = new Float32Array(2 * L);
  for (let s = 0; s < L; s++) {
    const v = waveValues(params, s * dt, fidelity);
    series[2 * s] = v.e;
    series[2 * s + 1] = v.i;
  }
  const starts = (stream: string, n: number): Int32Array => {
    const rng = new Rng(seed, `data:wave:${stream}`);
    const out = new Int32Array(n);
    for (let q = 0; q < n; q++) out[q] = rng.int(L - T);
    return out;
  };
  const dataset = (split: 'train' | 'test', n: number): WaveDataset =>
    new WaveDataset(series, starts(split, n), T, fidelity === 'paper-code' ? starts(`${split}:inh`, n) : undefined);
  return { train: dataset('train', nTrain), test: dataset('test', nTest), params, series };
}

/**
 * The wave task's fixed masks for N hidden units of which the first nExc are excitatory:
 * readout [2, N] (row 0 = 1 on E units, row 1 = 1 on I units) and, under `corrected`, input
 * [N, 2] (column 0 = 1 on E units, column 1 = 1 on I units); no input mask under `paper-code`.
 */
export function waveMasks(N: number, nExc: number, fidelity: Fidelity = 'corrected'): ModelMasks {
  if (!Number.isInteger(N) || N < 1 || !Number.isInteger(nExc) || nExc < 0 || nExc > N) {
    throw new WaveOptionsError(`wave masks need integers 0 <= nExc <= N, got N = ${N}, nExc = ${nExc}`);
  }
  const readout = new Float32Array(2 * N);
  for (let j = 0; j < N; j++) readout[(j < nExc ? 0 : 1) * N + j] = 1;
  const masks: ModelMasks = { readout };
  if (fidelity === 'corrected') {
    const input = new Float32Array(N * 2);
    for (let j = 0; j < N; j++) input[j * 2 + (j < nExc ? 0 : 1)] = 1;
    masks.input = input;
  }
  return masks;
}
