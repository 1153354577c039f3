/**
 * Synthetic cell-type data in the authors' format (SCIENCE.md §6): per-experiment responses of
 * the 18 populations with a planted feedforward effect, bootstrapped and filtered like the
 * authors' files (`data.ts`), written as `.npy` files or returned in memory.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../rnn/rng.js';
import { writeNpy } from '../io/npy.js';
import { celltypeLayout, N_POPULATIONS, type Population } from './populations.js';
import { CELLTYPE_CONDITIONS, FULL_T, parseCondition, type CelltypeCondition, type FileCondition, type StimulusEvent } from './conditions.js';
import { assembleCondition, bootstrapResponses, dataFileName, PAPER_SAMPLES, readCelltypeCondition, type CelltypeData } from './data.js';

/** Options of the synthetic generator ({@link generateSyntheticDataset}). */
export interface SyntheticOptions {
  seed: number;
  /** Conditions to write (their file conditions are written; full and half share files). @default all 12 */
  conditions?: readonly string[];
  /** Samples per file. @default 2000 */
  nSamples?: number;
  /** Frames per file row (the reader requires 15). @default 15 */
  T?: number;
  /** Simulated experiments per population, resampled by the bootstrap. @default 40 */
  nExperiments?: number;
  /** Responses averaged per sample. @default 100 */
  nDraws?: number;
  /**
   * Coupling V1 L2/3 Pyr → LM L4 (all types) in the simulated dynamics, per file condition
   * (dimensionless: LM L4's next frame gains this times V1 L2/3 Pyr's current frame): plant a
   * difference between two conditions in the feedforward band.
   * @default {@link SYNTHETIC_FEEDFORWARD_GAIN} by event
   */
  feedforwardGain?: Partial<Record<FileCondition, number>>;
  /** dtype of the files. @default 'float64' */
  dtype?: 'float32' | 'float64';
}

/**
 * Default feedforward coupling V1 L2/3 Pyr → LM L4 of the synthetic dynamics, by event: on change
 * LM L4 follows V1 L2/3 Pyr one to one, on no change it barely does (10×), omission in between.
 */
export const SYNTHETIC_FEEDFORWARD_GAIN: Readonly<Record<StimulusEvent, number>> = { change: 1, no_change: 0.1, omission: 0.5 };

/**
 * The 36 synthetic arrays of one file condition, by file name, each [nSamples, T] row-major
 * float64: per population, `nExperiments` per-experiment responses of T + 1 frames from a small
 * linear dynamical system over the 18 populations, resampled by {@link bootstrapResponses}
 * (σ = 1), exactly as the authors' files were made from the Allen data.
 *
 * The dynamics, x_{t+1} = A x_t + g ⊙ s_t + noise, are a controlled experiment: for one data
 * seed, change and no change differ ONLY in the feedforward coupling
 * {@link SyntheticOptions.feedforwardGain} (default 1 vs 0.1), so a network trained on each must
 * drive LM L4 from V1 L2/3 Pyr about ten times harder on change, while everything the feedback
 * bands see is the same:
 *
 * - a leak per population, drawn once per data seed in [0.45, 0.8) (shared by all conditions);
 *   LM L4's leak is 0.1, so LM L4 tracks its feedforward drive frame by frame;
 * - within each layer of each area Pyr → Sst 0.3, Pyr → Vip 0.2, Sst ⊣ Pyr −0.25, Vip ⊣ Sst −0.2;
 *   in V1 the chain L4 → L2/3 → L5 Pyr (0.4 each); in LM no such chain (LM L2/3 is quiet, LM L5
 *   Pyr takes the stimulus weakly, gain 0.1), so the feedforward coupling reaches LM L4 and
 *   nothing else;
 * - feedforward V1 L2/3 Pyr → LM L4 (all types) of strength ff; feedback LM L5 Pyr → V1 L2/3 and
 *   V1 L5 (all types) of strength 0.1 in every condition;
 * - the stimulus drives V1 L4 (Pyr 1, Sst 0.5, Vip 0.3): the first image at frames 1–2 and the
 *   second at frames 7–8, of amplitude 1 on change and on no change (the same visual drive) and
 *   0 on omission (instead every Vip population gets a ramp of 0.15 per frame from frame 8); novel
 *   sets scale the stimulus and the ramp by 1.3;
 * - per experiment a gain U(0.7, 1.3) on the stimulus, innovation noise N(0, 0.02²) per frame and
 *   observation noise N(0, 0.05²); responses are the state × {@link SYNTHETIC_RESPONSE_GAIN}
 *   (peaks ≈ 1.4 ΔF/F in V1 L4 Pyr, ≈ 0.7 in LM L4 Pyr on change, ≈ 0.08 on no change).
 *
 * Draws from `new Rng(seed, 'celltype:synthetic:<file condition>')` (experiments, bootstrap) and
 * `new Rng(seed, 'celltype:synthetic:dynamics')` (the leaks).
 */
export function synthesizeFileCondition(file: FileCondition, opts: SyntheticOptions): Map<string, Float64Array> {
  const nSamples = opts.nSamples ?? PAPER_SAMPLES;
  const T = opts.T ?? FULL_T;
  const nExp = opts.nExperiments ?? 40;
  const nDraws = opts.nDraws ?? 100;
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`synthetic data: T must be an integer >= 2, got ${T}`);
  if (!Number.isInteger(nExp) || nExp < 1) throw new RangeError(`synthetic data: nExperiments must be a positive integer, got ${nExp}`);
  const layout = celltypeLayout(1);
  const rng = new Rng(opts.seed, `celltype:synthetic:${file}`);
  const event = file.slice(file.startsWith('novel') ? 'novel_'.length : 'familiar_'.length) as StimulusEvent;
  const ff = opts.feedforwardGain?.[file] ?? SYNTHETIC_FEEDFORWARD_GAIN[event];
  const responses = simulateExperiments(layout.populations, file, ff, T + 1, nExp, rng, opts.seed);
  const out = new Map<string, Float64Array>();
  for (const pop of layout.populations) {
    const b = bootstrapResponses(responses[pop.index], nSamples, rng, nDraws, 1);
    out.set(dataFileName(pop, file, 'train'), b.train);
    out.set(dataFileName(pop, file, 'test'), b.test);
  }
  return out;
}

/**
 * One condition's data from the synthetic generator, in memory (the same arrays that
 * {@link generateSyntheticDataset} writes, paired as {@link readCelltypeCondition} pairs them).
 */
export function syntheticCelltypeData(condition: string, opts: Omit<SyntheticOptions, 'conditions' | 'T' | 'dtype'>): CelltypeData {
  const { file } = parseCondition(condition);
  const arrays = synthesizeFileCondition(file, opts);
  return assembleCondition(condition as CelltypeCondition, opts.nSamples ?? PAPER_SAMPLES, (name) => arrays.get(name)!);
}

/**
 * Write a synthetic dataset in the authors' file format into `dir` (created if needed): the 36
 * files of every file condition of `opts.conditions` ({@link synthesizeFileCondition}).
 * @returns the file names written
 */
export async function generateSyntheticDataset(dir: string, opts: SyntheticOptions): Promise<string[]> {
  const conditions = opts.conditions ?? CELLTYPE_CONDITIONS;
  const files = [...new Set(conditions.map((c) => parseCondition(c).file))];
  const nSamples = opts.nSamples ?? PAPER_SAMPLES;
  const T = opts.T ?? FULL_T;
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    for (const [name, data] of synthesizeFileCondition(file, opts)) {
      await writeNpy(join(dir, name), { data: opts.dtype === 'float32' ? Float32Array.from(data) : data, shape: [nSamples, T] });
      written.push(name);
    }
  }
  return written;
}

/** Factor from the simulated state to the written responses (ΔF/F). */
export const SYNTHETIC_RESPONSE_GAIN = 1.3;

/** Per population, nExp simulated responses of L frames (see {@link synthesizeFileCondition}). */
function simulateExperiments(pops: readonly Population[], file: FileCondition, ff: number, L: number, nExp: number, rng: Rng, seed: number): number[][][] {
  const P = N_POPULATIONS;
  const idx = (area: string, layer: string, type: string): number => pops.find((p) => p.area === area && p.layer === layer && p.type === type)!.index;
  // Coupling A[post, pre].
  const A = new Float64Array(P * P);
  const shared = new Rng(seed, 'celltype:synthetic:dynamics');
  const leak = pops.map(() => 0.45 + 0.35 * shared.uniform());
  pops.forEach((p, i) => (A[i * P + i] = p.area === 'LM' && p.layer === 'L4' ? 0.1 : leak[i]));
  for (const [from, to] of [['L4', 'L23'], ['L23', 'L5']]) A[idx('V1', to, 'Pyr') * P + idx('V1', from, 'Pyr')] = 0.4;
  for (const area of ['V1', 'LM']) {
    for (const layer of ['L4', 'L23', 'L5']) {
      const pyr = idx(area, layer, 'Pyr');
      const sst = idx(area, layer, 'Sst');
      const vip = idx(area, layer, 'Vip');
      A[sst * P + pyr] = 0.3;
      A[vip * P + pyr] = 0.2;
      A[pyr * P + sst] = -0.25;
      A[sst * P + vip] = -0.2;
    }
  }
  for (const type of ['Pyr', 'Sst', 'Vip']) {
    A[idx('LM', 'L4', type) * P + idx('V1', 'L23', 'Pyr')] = ff;
    A[idx('V1', 'L23', type) * P + idx('LM', 'L5', 'Pyr')] = 0.1;
    A[idx('V1', 'L5', type) * P + idx('LM', 'L5', 'Pyr')] = 0.1;
  }
  const novel = file.startsWith('novel');
  const event = file.slice(novel ? 'novel_'.length : 'familiar_'.length) as StimulusEvent;
  const amp2 = event === 'omission' ? 0 : 1;
  const scale = novel ? 1.3 : 1;
  const stim = (t: number): number => scale * (t === 1 || t === 2 ? 1 : (t === 7 || t === 8) ? amp2 : 0);
  const gain = new Float64Array(P);
  gain[idx('V1', 'L4', 'Pyr')] = 1;
  gain[idx('V1', 'L4', 'Sst')] = 0.5;
  gain[idx('V1', 'L4', 'Vip')] = 0.3;
  gain[idx('LM', 'L5', 'Pyr')] = 0.1;
  const vips = pops.filter((p) => p.type === 'Vip').map((p) => p.index);
  const out: number[][][] = pops.map(() => []);
  const x = new Float64Array(P);
  const nx = new Float64Array(P);
  for (let e = 0; e < nExp; e++) {
    x.fill(0);
    const expGain = 0.7 + 0.6 * rng.uniform();
    const traces = pops.map(() => new Array<number>(L));
    for (let t = 0; t < L; t++) {
      for (let i = 0; i < P; i++) traces[i][t] = SYNTHETIC_RESPONSE_GAIN * (x[i] + 0.05 * rng.normal());
      for (let i = 0; i < P; i++) {
        let acc = expGain * gain[i] * stim(t) + 0.02 * rng.normal();
        for (let j = 0; j < P; j++) acc += A[i * P + j] * x[j];
        nx[i] = acc;
      }
      if (event === 'omission' && t >= 8) for (const v of vips) nx[v] += 0.15 * scale;
      x.set(nx);
    }
    traces.forEach((tr, i) => out[i].push(tr));
  }
  return out;
}
