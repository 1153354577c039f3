/**
 * The 1-bit flip-flop task (SCIENCE.md §5): T = 50 steps; at each step a pulse arrives with
 * probability 0.05, its sign ±1 equally likely, else the input is 0; the target holds the sign of
 * the last pulse, 0 before the first. nIn = 1, nOut = 1, head `tanh`, MSE.
 */
import { ArrayDataset, type Dataset } from '../rnn/dataset.js';
import { Rng } from '../rnn/rng.js';

/** Which split to generate; each split draws from its own stream. */
export type Split = 'train' | 'test';

/** Flip-flop generation options. */
export interface FlipFlopOptions {
  /** Number of sequences. @default 6000 for train, 1000 for test */
  n?: number;
  /** Steps per sequence. @default 50 */
  T?: number;
  /** Pulse probability per step. @default 0.05 */
  pulseProb?: number;
}

/** Thrown on invalid flip-flop options. */
export class FlipFlopOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlipFlopOptionsError';
  }
}

/** Model sizes implied by the task. */
export const FLIPFLOP_SHAPE = { nInput: 1, nOutput: 1, head: 'tanh' } as const;

/**
 * Generate the flip-flop split deterministically from (seed, split), drawing from
 * `new Rng(seed, 'data:flipflop:' + split)`: per sample, per step, one uniform for the pulse and,
 * when there is one, one for its sign.
 * @returns a {@link Dataset} with x [n, T, 1] and target [n, T, 1]
 */
export function flipFlopDataset(seed: number, split: Split, opts: FlipFlopOptions = {}): ArrayDataset {
  const n = opts.n ?? (split === 'train' ? 6000 : 1000);
  const T = opts.T ?? 50;
  const p = opts.pulseProb ?? 0.05;
  if (!Number.isInteger(n) || n < 1) throw new FlipFlopOptionsError(`flip-flop n must be a positive integer, got ${n}`);
  if (!Number.isInteger(T) || T < 1) throw new FlipFlopOptionsError(`flip-flop T must be a positive integer, got ${T}`);
  if (!(p >= 0 && p <= 1)) throw new FlipFlopOptionsError(`flip-flop pulseProb must be in [0, 1], got ${p}`);
  const rng = new Rng(seed, `data:flipflop:${split}`);
  const x = new Float32Array(n * T);
  const y = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    let state = 0;
    for (let t = 0; t < T; t++) {
      if (rng.bernoulli(p)) {
        const s = rng.bernoulli(0.5) ? 1 : -1;
        x[i * T + t] = s;
        state = s;
      }
      y[i * T + t] = state;
    }
  }
  return new ArrayDataset(n, T, 1, 1, x, y);
}

export type { Dataset };
