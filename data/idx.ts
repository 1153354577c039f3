/**
 * IDX files (the MNIST / Fashion-MNIST format): magic 0x0000 0x08 <ndim> (unsigned bytes; e.g.
 * 0x00000801 for labels, 0x00000803 for images), then ndim big-endian uint32 dimensions, then the
 * data. Gzipped files (gzip magic 0x1f 0x8b) are inflated with node:zlib.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

/** A uint8 IDX array: row-major data of the product of `dims` elements. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** What is wrong with an IDX file. */
export type IdxProblem = 'wrong-magic' | 'truncated' | 'bad-gzip' | 'size-mismatch';

/** An IDX file that cannot be read; the message names the file. */
export class IdxError extends Error {
  constructor(
    readonly file: string,
    readonly problem: IdxProblem,
    /** What is wrong, without the file name. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'IdxError';
  }
}

/**
 * Parses and checks the header of (uncompressed) IDX bytes: the unsigned-byte magic, 1 to 4
 * dimensions, and the big-endian dimensions themselves.
 * @param buf the uncompressed file, or at least its first 4 + 4 ndim bytes
 * @param file name for error messages
 * @returns the dimensions and the header's length in bytes
 * @throws IdxError for a wrong magic number or a truncated header
 */
export function parseIdxHeader(buf: Uint8Array, file = '<buffer>'): { dims: number[]; headerLen: number } {
  if (buf.length < 4) throw new IdxError(file, 'truncated', `truncated IDX file: ${buf.length} bytes, the header needs at least 4`);
  const ndim = buf[3];
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08 || ndim < 1 || ndim > 4) {
    const magic = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new IdxError(file, 'wrong-magic', `not an unsigned-byte IDX file: magic 0x${magic}, expected 0x00000801 (labels) or 0x00000803 (images)`);
  }
  const headerLen = 4 + 4 * ndim;
  if (buf.length < headerLen) throw new IdxError(file, 'truncated', `truncated IDX header: ${buf.length} bytes, needs ${headerLen}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  return { dims, headerLen };
}

/** Throws unless `have` data bytes are exactly what `dims` need. */
function checkIdxSize(file: string, dims: readonly number[], have: number): void {
  const count = dims.reduce((a, b) => a * b, 1);
  if (have < count) throw new IdxError(file, 'truncated', `truncated IDX data: dims [${dims.join(', ')}] need ${count} bytes, file has ${have}`);
  if (have > count) throw new IdxError(file, 'size-mismatch', `IDX data has ${have} bytes, dims [${dims.join(', ')}] need ${count}`);
}

/**
 * Parses IDX bytes (gzipped or not) of unsigned-byte data (type code 0x08).
 * @param bytes the file contents
 * @param file name for error messages
 * @throws IdxError for a wrong magic number, a truncated file, a corrupt gzip stream or extra data
 */
export function parseIdx(bytes: Uint8Array, file = '<buffer>'): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      const msg = (err as Error).message;
      const truncated = /unexpected end|incomplete|Z_BUF_ERROR/i.test(msg) || (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR';
      throw new IdxError(file, truncated ? 'truncated' : 'bad-gzip', `${truncated ? 'truncated gzip stream' : 'corrupt gzip stream'} (${msg})`);
    }
  }
  const { dims, headerLen } = parseIdxHeader(buf, file);
  checkIdxSize(file, dims, buf.length - headerLen);
  return { dims, data: new Uint8Array(buf.subarray(headerLen)) };
}

/** Compressed bytes {@link readIdxHeaderSync} inflates at most (a gzip header plus a few blocks). */
const GZIP_PREFIX_BYTES = 64 * 1024;

/**
 * Reads and checks only the header of an IDX file (gzipped or not): the magic and the dimensions,
 * and for an uncompressed file that its length matches them. Reads at most 64 KiB whatever the
 * file's size, so many files can be checked before any is read.
 * @returns the dimensions and whether the file is gzipped
 * @throws IdxError for a wrong magic, a truncated header or data, a corrupt gzip start; fs errors
 *   (ENOENT, EISDIR...) propagate
 */
export function readIdxHeaderSync(path: string): { dims: number[]; gzipped: boolean } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, GZIP_PREFIX_BYTES));
    readSync(fd, head, 0, head.length, 0);
    const gzipped = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (!gzipped) {
      const { dims, headerLen } = parseIdxHeader(head, path);
      checkIdxSize(path, dims, size - headerLen);
      return { dims, gzipped };
    }
    let inflated: Uint8Array;
    try {
      // Z_SYNC_FLUSH: return what the prefix inflates to instead of failing on the missing end.
      inflated = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (err) {
      throw new IdxError(path, 'bad-gzip', `corrupt gzip stream (${(err as Error).message})`);
    }
    return { dims: parseIdxHeader(inflated, path).dims, gzipped };
  } finally {
    closeSync(fd);
  }
}

/** Reads an IDX file (gzipped or not). @throws IdxError; fs errors (ENOENT...) propagate */
export function readIdxSync(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}

/** Encodes a uint8 array as (uncompressed) IDX bytes. */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const ndim = arr.dims.length;
  const out = new Uint8Array(4 + 4 * ndim + arr.data.length);
  out[2] = 0x08;
  out[3] = ndim;
  const view = new DataView(out.buffer);
  arr.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(arr.data, 4 + 4 * ndim);
  return out;
}
