/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): a reader for C-ordered arrays of
 * float32/float64/int8/int16/int32/int64/uint8/uint16/uint32/bool in either byte order, and a
 * writer (little-endian, v1.0, or v2.0 when the header does not fit) that pads the header to 64
 * bytes as numpy does. Data are returned in native (little-endian) typed arrays.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Element types read and written. `int64` data are `BigInt64Array`. */
export type NpyDtype = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'bool';

/** The typed array of each dtype (`bool` is a `Uint8Array` of 0/1). */
export type NpyData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array;

/** An array: row-major (C order) data of the product of `shape` elements. */
export interface NpyArray {
  dtype: NpyDtype;
  /** Dimensions; `[]` for a scalar (one element). */
  shape: number[];
  data: NpyData;
}

/** What is wrong with a file. */
export type NpyProblem = 'not-npy' | 'unsupported-version' | 'bad-header' | 'truncated' | 'unsupported-dtype' | 'fortran-order' | 'size-mismatch';

/** A `.npy` file (or buffer) that cannot be read or an array that cannot be written. */
export class NpyError extends Error {
  constructor(
    readonly file: string,
    readonly problem: NpyProblem,
    /** What is wrong, without the file name. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'NpyError';
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
  make(buf: ArrayBuffer, n: number): NpyData;
}

const KINDS: Record<string, DtypeInfo> = {
  f4: { dtype: 'float32', size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f8: { dtype: 'float64', size: 8, make: (b, n) => new Float64Array(b, 0, n) },
  i1: { dtype: 'int8', size: 1, make: (b, n) => new Int8Array(b, 0, n) },
  i2: { dtype: 'int16', size: 2, make: (b, n) => new Int16Array(b, 0, n) },
  i4: { dtype: 'int32', size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  i8: { dtype: 'int64', size: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  u1: { dtype: 'uint8', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  u2: { dtype: 'uint16', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  u4: { dtype: 'uint32', size: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  b1: { dtype: 'bool', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
};

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  bool: '|b1',
};

function parseHeader(text: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (descr === null || fortran === null || shape === null) {
    const descrList = /['"]descr['"]\s*:\s*\[/.test(text);
    if (descrList) throw new NpyError(file, 'unsupported-dtype', 'structured (record) dtype is not supported; expected a plain numeric dtype such as <f4 or <f8');
    throw new NpyError(file, 'bad-header', `header is not a numpy dict with descr, fortran_order and shape: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const dims = shape[1]
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d.length > 0)
    .map((d) => {
      const v = Number(d.replace(/L$/, ''));
      if (!Number.isSafeInteger(v) || v < 0) throw new NpyError(file, 'bad-header', `shape entry '${d}' is not a non-negative integer`);
      return v;
    });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/** What a `.npy` header says: the array's type and shape and where its data lie. */
export interface NpyHeader {
  dtype: NpyDtype;
  /** Dimensions; `[]` for a scalar. */
  shape: number[];
  /** Byte offset of the data (after magic, version, length and header). */
  dataOffset: number;
  /** Bytes the data take: product(shape) x item size. */
  dataBytes: number;
  /** Whether the data are big-endian (`>` in descr) with items wider than a byte. */
  bigEndian: boolean;
}

/** Largest header {@link readNpyHeaderSync} reads (numpy writes a few hundred bytes). */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

/**
 * Parses and checks the header of a `.npy` file: magic, version, the header dict, a supported
 * dtype in C order, and a data size that matches the shape. Used by {@link parseNpy} and, on the
 * first bytes of a file only, by {@link readNpyHeaderSync}.
 * @param bytes the file, or at least its magic, version, length and header
 * @param file name used in error messages
 * @param totalLength the length of the whole file in bytes @default bytes.length
 * @throws NpyError naming `file` and the problem
 */
export function parseNpyHeader(bytes: Uint8Array, file = '<buffer>', totalLength = bytes.length): NpyHeader {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new NpyError(file, 'not-npy', bytes.length < 6 ? 'not a .npy file (too short for the \\x93NUMPY magic)' : 'not a .npy file (missing the \\x93NUMPY magic)');
  }
  const major = bytes[6];
  const minor = bytes[7];
  let headerLen: number;
  let start: number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(file, 'truncated', 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new NpyError(file, 'unsupported-version', `unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  }
  if (start + headerLen > bytes.length) throw new NpyError(file, 'truncated', `truncated .npy header (needs ${headerLen} bytes, file has ${totalLength - start})`);
  const headerBytes = bytes.subarray(start, start + headerLen);
  const text = major === 3 ? new TextDecoder('utf-8').decode(headerBytes) : new TextDecoder('latin1').decode(headerBytes);
  const h = parseHeader(text, file);
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(h.descr);
  const info = m === null ? undefined : KINDS[`${m[2]}${m[3]}`];
  if (m === null || info === undefined) {
    throw new NpyError(file, 'unsupported-dtype', `unsupported dtype '${h.descr}' (supported: float32, float64, int8/16/32/64, uint8/16/32, bool)`);
  }
  if (h.fortran) throw new NpyError(file, 'fortran-order', 'array is stored in Fortran (column-major) order; save it in C order (np.ascontiguousarray) first');
  const count = h.shape.reduce((a, b) => a * b, 1);
  const dataOffset = start + headerLen;
  const need = count * info.size;
  const have = totalLength - dataOffset;
  if (have < need) throw new NpyError(file, 'truncated', `truncated data: shape (${h.shape.join(', ')}) of ${h.descr} needs ${need} bytes, file has ${have}`);
  if (have > need) throw new NpyError(file, 'size-mismatch', `data size ${have} bytes does not match shape (${h.shape.join(', ')}) of ${h.descr} (${need} bytes)`);
  return { dtype: info.dtype, shape: h.shape, dataOffset, dataBytes: need, bigEndian: m[1] === '>' && info.size > 1 };
}

/**
 * Parses the bytes of a `.npy` file.
 * @param bytes the whole file
 * @param file name used in error messages
 * @throws NpyError naming `file` and the problem
 */
export function parseNpy(bytes: Uint8Array, file = '<buffer>'): NpyArray {
  const h = parseNpyHeader(bytes, file);
  const info = Object.values(KINDS).find((k) => k.dtype === h.dtype)!;
  const need = h.dataBytes;
  const count = need / info.size;
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(h.dataOffset, h.dataOffset + need));
  if (h.bigEndian) {
    for (let off = 0; off < need; off += info.size) {
      for (let a = off, b = off + info.size - 1; a < b; a++, b--) {
        const t = copy[a];
        copy[a] = copy[b];
        copy[b] = t;
      }
    }
  }
  const data = info.make(copy.buffer, count);
  if (info.dtype === 'bool') for (let k = 0; k < count; k++) if (copy[k] > 1) copy[k] = 1;
  return { dtype: info.dtype, shape: h.shape, data };
}

/**
 * Reads and checks only the header of a `.npy` file (a few hundred bytes, whatever the array's
 * size), and that the file's length matches the shape: cheap enough to check many files before
 * reading any.
 * @throws NpyError for bad content (a header over {@link MAX_NPY_HEADER_BYTES} is 'bad-header');
 *   the fs error (ENOENT, EISDIR...) for an unreadable file
 */
export function readNpyHeaderSync(path: string): NpyHeader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const pre = new Uint8Array(Math.min(size, 12));
    readSync(fd, pre, 0, pre.length, 0);
    let want = pre.length;
    if (pre.length >= 10 && MAGIC.every((b, i) => pre[i] === b)) {
      const view = new DataView(pre.buffer);
      const len = pre[6] === 1 ? 10 + view.getUint16(8, true) : pre.length >= 12 && (pre[6] === 2 || pre[6] === 3) ? 12 + view.getUint32(8, true) : pre.length;
      if (len - 12 > MAX_NPY_HEADER_BYTES) throw new NpyError(path, 'bad-header', `header of ${len - 12} bytes is larger than ${MAX_NPY_HEADER_BYTES} (not a file numpy wrote)`);
      want = Math.min(size, len);
    }
    const head = new Uint8Array(want);
    head.set(pre.subarray(0, Math.min(want, pre.length)));
    if (want > pre.length) readSync(fd, head, pre.length, want - pre.length, pre.length);
    return parseNpyHeader(head, path, size);
  } finally {
    closeSync(fd);
  }
}

/** Reads a `.npy` file. @throws NpyError for bad content; the fs error (ENOENT...) for an unreadable file */
export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFile(path), path);
}

/** Synchronous {@link readNpy}. */
export function readNpySync(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  return 'uint8';
}

/**
 * Encodes an array as `.npy` bytes: little-endian, C order, v1.0 (v2.0 if the header exceeds
 * 65535 bytes), header padded with spaces and a newline so that the data start at a multiple of 64.
 * @param arr data and shape; `dtype` defaults to the typed array's type (`Uint8Array` is uint8
 * unless dtype 'bool' is given)
 */
export function encodeNpy(arr: { data: NpyData; shape: readonly number[]; dtype?: NpyDtype }, file = '<buffer>'): Uint8Array {
  const dtype = arr.dtype ?? dtypeOf(arr.data);
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) throw new NpyError(file, 'size-mismatch', `shape (${arr.shape.join(', ')}) has ${count} elements but data has ${arr.data.length}`);
  const shapeStr = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let version = 1;
  let pre = 10;
  let total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  if (total - pre > 65535) {
    version = 2;
    pre = 12;
    total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - pre;
  const header = dict + ' '.repeat(headerLen - dict.length - 1) + '\n';
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(total + body.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}

/**
 * Writes a `.npy` file atomically: to a temporary file in the same folder, then renamed over
 * `path`, so a failure leaves no half-written file.
 */
export async function writeNpy(path: string, arr: { data: NpyData; shape: readonly number[]; dtype?: NpyDtype }): Promise<void> {
  const bytes = encodeNpy(arr, path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
