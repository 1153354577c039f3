/**
 * Data of the CelltypeRNN (SCIENCE.md §6, paper §4.1): the authors' `.npy` files and the
 * bootstrap that made them (the conditions are `conditions.ts`, the synthetic generator writing
 * the same format is `synthetic.ts`).
 *
 * Files: `dff_{V1|LM}_{L4|L23|L5}_{pyr|sst|vip}_{cond}_{train|test}.npy`, 18 populations × 2
 * splits per file condition `{cond}` ∈ {familiar, novel} × {change, no_change, omission}, each a
 * float32 or float64 array [samples (2000), 15].
 *
 * Pairing (checked in the authors' `data-processing/data-resampler.ipynb` and
 * `demo-celltypeRNN.ipynb`): each sample is the mean m[0..15] of 100 per-experiment responses of
 * 16 frames; the `train` file holds gaussian_filter1d(m[0:15]) and the `test` file
 * gaussian_filter1d(m[1:16]) (each filtered on its own, so away from the ends test[t] = train[t+1]).
 * "train is input data and test is output data": the network reads x_t = train[:, t] (one
 * channel per population, nesting order) and is trained to output target_t = test[:, t], the
 * next frame: one-step-ahead prediction at every step. The half-session conditions use the slice
 * [:, 7:-1] of both files (T = 7: frames 7..13), as the authors' training_half_session notebook.
 */
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ArrayDataset } from '../rnn/dataset.js';
import { Rng } from '../rnn/rng.js';
import { NpyError, readNpy, readNpyHeaderSync, type NpyArray, type NpyDtype, type NpyHeader } from '../io/npy.js';
import { celltypeLayout, N_POPULATIONS, type Population } from './populations.js';
import { CelltypeConditionError, FULL_T, HALF_END, HALF_START, parseCondition, type CelltypeCondition, type FileCondition } from './conditions.js';

/** Samples per file in the authors' data. */
export const PAPER_SAMPLES = 2000;

/** Thrown when data files are missing or malformed; the message names every offending file. */
export class CelltypeDataError extends Error {
  constructor(
    message: string,
    /** Files that do not exist. */
    readonly missing: readonly string[] = [],
    /** Files that exist but are wrong, with what is wrong. */
    readonly invalid: readonly { file: string; problem: string }[] = [],
  ) {
    super(message);
    this.name = 'CelltypeDataError';
  }
}

/** File name of one population's split, e.g. `dff_V1_L23_pyr_familiar_change_train.npy`. */
export function dataFileName(pop: Pick<Population, 'fileKey'>, file: FileCondition, split: 'train' | 'test'): string {
  return `dff_${pop.fileKey}_${file}_${split}.npy`;
}

/** The 36 file names of a file condition: populations in nesting order, train then test each. */
export function conditionFileNames(file: FileCondition): { pop: Population; train: string; test: string }[] {
  return celltypeLayout(1).populations.map((pop) => ({ pop, train: dataFileName(pop, file, 'train'), test: dataFileName(pop, file, 'test') }));
}

/** One condition's data: inputs and one-step-ahead targets. */
export interface CelltypeData {
  condition: CelltypeCondition;
  /** Samples. */
  n: number;
  /** Steps (15 full, 7 half). */
  T: number;
  /** Inputs x[b, t, k] = train file of population k at frame t (window applied), [n, T, 18]. */
  x: Float32Array;
  /** Targets y[b, t, k] = test file of population k at frame t, [n, T, 18]. */
  target: Float32Array;
}

/** Options of {@link readCelltypeCondition}. */
export interface ReadOptions {
  /** Required number of samples per file; any (equal across files) when omitted. */
  samples?: number;
}

/**
 * What is wrong with the type or shape of one of the authors' arrays, or null: each must be a
 * 2-D float32/float64 array [samples >= 1, 15] (with exactly `samples` rows when given).
 */
export function celltypeArrayProblem(a: { dtype: NpyDtype; shape: readonly number[] }, samples?: number): string | null {
  if (a.dtype !== 'float32' && a.dtype !== 'float64') return `dtype ${a.dtype}, expected float32 or float64`;
  if (a.shape.length !== 2 || a.shape[1] !== FULL_T || a.shape[0] < 1) return `shape (${a.shape.join(', ')}), expected (samples, ${FULL_T})`;
  if (samples !== undefined && a.shape[0] !== samples) return `shape (${a.shape.join(', ')}), expected (${samples}, ${FULL_T})`;
  return null;
}

/** Options of {@link checkCelltypeFiles}. */
export interface CheckCelltypeOptions {
  /** Samples the runs use (nTrain + nTest): every file must have at least this many rows. */
  minSamples?: number;
}

/**
 * Checks, before anything is run, the 36 files {@link readCelltypeCondition} reads for
 * `condition` (the full and half windows of a file condition read the same files), reading only
 * their `.npy` headers: the folder exists, each file exists and is a regular file holding a 2-D
 * float32/float64 array [samples, 15] whose length matches its header, all 36 have the same
 * number of samples, and at least `minSamples`.
 * @returns one entry per missing or malformed file (or the folder, when it is missing), saying
 *   what is expected; empty when every file looks right
 * @throws CelltypeConditionError for an unknown condition
 */
export function checkCelltypeFiles(dir: string, condition: string, opts: CheckCelltypeOptions = {}): { file: string; problem: string }[] {
  const { file } = parseCondition(condition);
  const expected = `expected one of the authors' cell-type files, a float32 or float64 .npy array (samples, ${FULL_T}) (condition ${condition})`;
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return [{ file: dir, problem: `cell-type data folder does not exist; expected a folder holding the 36 files dff_{V1|LM}_{L4|L23|L5}_{pyr|sst|vip}_${file}_{train|test}.npy (condition ${condition})` }];
  }
  if (!isDir) return [{ file: dir, problem: `is not a folder; expected the cell-type data folder (condition ${condition})` }];
  const problems: { file: string; problem: string }[] = [];
  const samples: { path: string; n: number }[] = [];
  for (const name of conditionFileNames(file).flatMap((f) => [f.train, f.test])) {
    const path = join(dir, name);
    let header: NpyHeader;
    try {
      if (!statSync(path).isFile()) {
        problems.push({ file: path, problem: `is not a regular file; ${expected}` });
        continue;
      }
      header = readNpyHeaderSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const what = err instanceof NpyError ? err.detail : code === 'ENOENT' ? 'missing' : `cannot be read (${code ?? (err as Error).message})`;
      problems.push({ file: path, problem: `${what}; ${expected}` });
      continue;
    }
    const bad = celltypeArrayProblem(header);
    if (bad !== null) problems.push({ file: path, problem: `${bad} (condition ${condition})` });
    else samples.push({ path, n: header.shape[0] });
  }
  if (samples.length > 0) {
    // The count most files have is the reference (the first file may be the odd one out).
    const counts = new Map<number, number>();
    for (const s of samples) counts.set(s.n, (counts.get(s.n) ?? 0) + 1);
    const n = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
    const ref = samples.find((s) => s.n === n)!;
    for (const s of samples) {
      if (s.n !== n) problems.push({ file: s.path, problem: `${s.n} samples; expected the same number as the other files of the condition (${n}, e.g. ${ref.path})` });
      else if (opts.minSamples !== undefined && s.n < opts.minSamples) {
        problems.push({ file: s.path, problem: `${s.n} samples; expected at least ${opts.minSamples} (the sweep's nTrain + nTest for condition ${condition})` });
      }
    }
  }
  return problems;
}

/**
 * Read one condition from `dir`: checks that all 36 files exist (listing every missing one),
 * that each is a 2-D float32/float64 array [samples, 15] and that all have the same number of
 * samples, then pairs them (see the module comment) and applies the window.
 * @throws CelltypeDataError naming each missing or malformed file and what was expected
 * @throws CelltypeConditionError for an unknown condition
 */
export async function readCelltypeCondition(dir: string, condition: string, opts: ReadOptions = {}): Promise<CelltypeData> {
  const { file } = parseCondition(condition);
  const names = conditionFileNames(file);
  const all = names.flatMap((f) => [f.train, f.test]);
  const missing: string[] = [];
  await Promise.all(
    all.map(async (name) => {
      try {
        const s = await stat(join(dir, name));
        if (!s.isFile()) missing.push(name);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') missing.push(name);
        else throw err;
      }
    }),
  );
  if (missing.length > 0) {
    missing.sort((a, b) => all.indexOf(a) - all.indexOf(b));
    throw new CelltypeDataError(
      `cell-type data for condition '${condition}' in ${dir}: ${missing.length} of ${all.length} files missing: ${missing.join(', ')}`,
      missing,
    );
  }
  const arrays = new Map<string, NpyArray>();
  const invalid: { file: string; problem: string }[] = [];
  for (const name of all) {
    let a: NpyArray;
    try {
      a = await readNpy(join(dir, name));
    } catch (err) {
      if (!(err instanceof NpyError)) throw err;
      invalid.push({ file: name, problem: err.message });
      continue;
    }
    const problem = celltypeArrayProblem(a, opts.samples);
    if (problem !== null) invalid.push({ file: name, problem });
    else arrays.set(name, a);
  }
  if (invalid.length === 0) {
    const n0 = arrays.get(all[0])!.shape[0];
    for (const name of all) {
      const n = arrays.get(name)!.shape[0];
      if (n !== n0) invalid.push({ file: name, problem: `${n} samples, but ${all[0]} has ${n0}; all files of a condition must have the same number` });
    }
  }
  if (invalid.length > 0) {
    throw new CelltypeDataError(
      `cell-type data for condition '${condition}' in ${dir}: ${invalid.length} malformed file(s): ${invalid.map((v) => `${v.file}: ${v.problem}`).join('; ')}`,
      [],
      invalid,
    );
  }
  const n = arrays.get(all[0])!.shape[0];
  return assembleCondition(condition as CelltypeCondition, n, (name) => arrays.get(name)!.data as Float32Array | Float64Array);
}

/**
 * Pair the 36 arrays of a condition (each [n, 15] row-major, looked up by file name) into inputs
 * and targets, applying the condition's window (see the module comment).
 */
export function assembleCondition(condition: CelltypeCondition, n: number, get: (fileName: string) => Float32Array | Float64Array): CelltypeData {
  const { file, window } = parseCondition(condition);
  const t0 = window === 'full' ? 0 : HALF_START;
  const T = window === 'full' ? FULL_T : HALF_END - HALF_START;
  const x = new Float32Array(n * T * N_POPULATIONS);
  const target = new Float32Array(n * T * N_POPULATIONS);
  for (const { pop, train, test } of conditionFileNames(file)) {
    const a = get(train);
    const b = get(test);
    if (a.length !== n * FULL_T || b.length !== n * FULL_T) {
      throw new CelltypeDataError(`${train} / ${test}: expected ${n} x ${FULL_T} values, got ${a.length} and ${b.length}`);
    }
    for (let s = 0; s < n; s++) {
      for (let t = 0; t < T; t++) {
        const o = (s * T + t) * N_POPULATIONS + pop.index;
        x[o] = a[s * FULL_T + t0 + t];
        target[o] = b[s * FULL_T + t0 + t];
      }
    }
  }
  return { condition, n, T, x, target };
}

/** Datasets from {@link CelltypeData}: see {@link splitCelltypeData}. */
export interface CelltypeSplit {
  train: ArrayDataset;
  test: ArrayDataset;
}

/**
 * Train and test datasets of one condition. With `nTest` = 0 (the default) both are all the
 * samples: the authors train on all 2000 bootstrap samples and report the training loss (there
 * is no held-out set; bootstrap means of the same experiments would not be independent anyway).
 * With nTest > 0, train = samples [0, nTrain) and test = the last nTest samples (disjoint).
 * @throws CelltypeDataError when nTrain + nTest exceeds the samples available
 */
export function splitCelltypeData(data: CelltypeData, nTrain = data.n, nTest = 0): CelltypeSplit {
  if (!Number.isInteger(nTrain) || nTrain < 1 || !Number.isInteger(nTest) || nTest < 0 || nTrain + nTest > data.n) {
    throw new CelltypeDataError(`nTrain=${nTrain} and nTest=${nTest} must be integers with nTrain >= 1, nTest >= 0 and nTrain + nTest <= ${data.n} samples of '${data.condition}'`);
  }
  const step = data.T * N_POPULATIONS;
  const make = (from: number, count: number): ArrayDataset =>
    new ArrayDataset(count, data.T, N_POPULATIONS, N_POPULATIONS, data.x.slice(from * step, (from + count) * step), data.target.slice(from * step, (from + count) * step));
  const train = make(0, nTrain);
  return { train, test: nTest === 0 ? make(0, nTrain) : make(data.n - nTest, nTest) };
}

// ---------------------------------------------------------------------------------------------
// Bootstrap and Gaussian filter (how the files were made)

/**
 * 1-D Gaussian filter with scipy.ndimage.gaussian_filter1d's defaults (order 0, mode 'reflect',
 * truncate 4.0): weights exp(-x²/(2σ²)) for integer x in [-r, r], r = floor(4σ + 0.5),
 * normalised to sum 1; 'reflect' extends the signal by mirroring about the outer edge
 * (d c b a | a b c d | d c b a). Computed in float64.
 * @param x signal, length L ≥ 1
 * @param sigma standard deviation in samples, > 0
 * @returns a new Float64Array of length L
 */
export function gaussianFilter1d(x: ArrayLike<number>, sigma = 1, truncate = 4.0): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`gaussianFilter1d: sigma must be a positive number, got ${sigma}`);
  const L = x.length;
  const r = Math.floor(truncate * sigma + 0.5);
  const w = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let k = -r; k <= r; k++) {
    w[k + r] = Math.exp((-0.5 * k * k) / (sigma * sigma));
    sum += w[k + r];
  }
  for (let k = 0; k < w.length; k++) w[k] /= sum;
  const out = new Float64Array(L);
  if (L === 0) return out;
  const period = 2 * L;
  for (let i = 0; i < L; i++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) {
      let j = (((i + k) % period) + period) % period;
      if (j >= L) j = period - 1 - j;
      acc += w[k + r] * x[j];
    }
    out[i] = acc;
  }
  return out;
}

/** Result of {@link bootstrapResponses}: the two files of one population. */
export interface BootstrapResult {
  /** Samples. */
  n: number;
  /** Frames per sample: L − 1. */
  T: number;
  /** Filtered m[0 : L−1] per sample, [n, T] row-major (the `train` file). */
  train: Float64Array;
  /** Filtered m[1 : L] per sample, [n, T] row-major (the `test` file). */
  test: Float64Array;
}

/**
 * The authors' resampling (paper §4.1, data-resampler.ipynb): for each of `nSamples` samples,
 * draw `nDraws` per-experiment responses with replacement (`rng.int` per draw, sample by sample),
 * average them into m (length L), and write gaussian_filter1d(m[0:L−1], σ) as the input row and
 * gaussian_filter1d(m[1:L], σ) as the target row.
 * @param perExperiment the per-experiment (neuron-averaged) responses of one population, each of
 *   the same length L ≥ 2 (16 frames in the authors' data)
 * @param sigma Gaussian filter σ in frames; 0 disables filtering
 */
export function bootstrapResponses(perExperiment: readonly ArrayLike<number>[], nSamples: number, rng: Rng, nDraws = 100, sigma = 1): BootstrapResult {
  const nExp = perExperiment.length;
  if (nExp < 1) throw new RangeError('bootstrapResponses: needs at least one per-experiment response');
  const L = perExperiment[0].length;
  if (L < 2) throw new RangeError(`bootstrapResponses: responses need at least 2 frames, got ${L}`);
  perExperiment.forEach((r, i) => {
    if (r.length !== L) throw new RangeError(`bootstrapResponses: response ${i} has ${r.length} frames, expected ${L} like response 0`);
  });
  if (!Number.isInteger(nSamples) || nSamples < 1) throw new RangeError(`bootstrapResponses: nSamples must be a positive integer, got ${nSamples}`);
  if (!Number.isInteger(nDraws) || nDraws < 1) throw new RangeError(`bootstrapResponses: nDraws must be a positive integer, got ${nDraws}`);
  const T = L - 1;
  const train = new Float64Array(nSamples * T);
  const test = new Float64Array(nSamples * T);
  const m = new Float64Array(L);
  for (let s = 0; s < nSamples; s++) {
    m.fill(0);
    for (let d = 0; d < nDraws; d++) {
      const r = perExperiment[rng.int(nExp)];
      for (let t = 0; t < L; t++) m[t] += r[t];
    }
    for (let t = 0; t < L; t++) m[t] /= nDraws;
    const a = m.subarray(0, T);
    const b = m.subarray(1, L);
    train.set(sigma > 0 ? gaussianFilter1d(a, sigma) : a, s * T);
    test.set(sigma > 0 ? gaussianFilter1d(b, sigma) : b, s * T);
  }
  return { n: nSamples, T, train, test };
}
