/**
 * Minimal PNG reader for checking exported charts: header size and 8-bit RGB/RGBA pixels
 * (non-interlaced, as canvas.toDataURL writes them), decoded with node:zlib.
 */
import { inflateSync } from 'node:zlib';

/** The bytes are not a PNG this reader supports. */
export class PngDecodeError extends Error {
  override name = 'PngDecodeError';
}

/** Decoded image: `data` is `[height, width, channels]` row-major. */
export interface DecodedPng {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** Width and height from the IHDR chunk. */
export function pngSize(buf: Buffer): { width: number; height: number } {
  if (buf.length < 24 || !buf.subarray(0, 8).equals(SIGNATURE) || buf.toString('latin1', 12, 16) !== 'IHDR') {
    throw new PngDecodeError('not a PNG file (bad signature or missing IHDR)');
  }
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG. */
export function decodePng(buf: Buffer): DecodedPng {
  const { width, height } = pngSize(buf);
  const depth = buf[24];
  const colorType = buf[25];
  const interlace = buf[28];
  if (depth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) {
    throw new PngDecodeError(`unsupported PNG (bit depth ${depth}, colour type ${colorType}, interlace ${interlace}); expected 8-bit RGB/RGBA, non-interlaced`);
  }
  const channels = colorType === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let o = 8; o < buf.length; ) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    if (type === 'IDAT') idat.push(buf.subarray(o + 8, o + 8 + len));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new PngDecodeError(`PNG data has ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[row + x - channels] : 0;
      const b = y > 0 ? out[row - stride + x] : 0;
      const c = x >= channels && y > 0 ? out[row - stride + x - channels] : 0;
      let pred: number;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new PngDecodeError(`bad PNG filter type ${filter} on row ${y}`);
      }
      out[row + x] = (raw[src + x] + pred) & 255;
    }
  }
  return { width, height, channels, data: out };
}

/** Number of distinct colours (capped at `cap`) among pixels with alpha > 0. */
export function distinctColours(img: DecodedPng, cap = 1000): number {
  const seen = new Set<number>();
  for (let i = 0; i < img.data.length && seen.size < cap; i += img.channels) {
    if (img.channels === 4 && img.data[i + 3] === 0) continue;
    seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  }
  return seen.size;
}
