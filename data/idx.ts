/**
 * IDX files (the MNIST / Fashion-MNIST format): magic 0x0000 0x08 <ndim> (unsigned bytes; e.g.
 * 0x00000801 for labels, 0x00000803 for images), then ndim big-endian uint32 dimensions, then the
 * data. Gzipped files (gzip magic 0x1f 0x8b) are inflated with node:zlib.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

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
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'IdxError';
  }
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
  const count = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - headerLen;
  if (have < count) throw new IdxError(file, 'truncated', `truncated IDX data: dims [${dims.join(', ')}] need ${count} bytes, file has ${have}`);
  if (have > count) throw new IdxError(file, 'size-mismatch', `IDX data has ${have} bytes, dims [${dims.join(', ')}] need ${count}`);
  return { dims, data: new Uint8Array(buf.subarray(headerLen)) };
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
