import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, IdxError, readIdxHeaderSync, readIdxSync } from './idx.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function idxProblem(path: string): string {
  try {
    readIdxSync(path);
  } catch (err) {
    assert.ok(err instanceof IdxError, `expected IdxError, got ${String(err)}`);
    assert.ok(err.message.startsWith(path), `message names the file: ${err.message}`);
    return err.problem;
  }
  assert.fail('expected an IdxError');
}

const images = { dims: [3, 2, 4], data: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256) };
const labels = { dims: [3], data: Uint8Array.from([7, 0, 9]) };

test('IDX images and labels are read, plain and gzipped, with big-endian dims', () => {
  withDir((dir) => {
    const raw = encodeIdx(images);
    assert.deepEqual(Array.from(raw.subarray(0, 8)), [0, 0, 8, 3, 0, 0, 0, 3]);
    writeFileSync(join(dir, 'img'), raw);
    writeFileSync(join(dir, 'img.gz'), gzipSync(raw));
    writeFileSync(join(dir, 'lbl.gz'), gzipSync(encodeIdx(labels)));
    for (const f of ['img', 'img.gz']) {
      const a = readIdxSync(join(dir, f));
      assert.deepEqual(a.dims, [3, 2, 4]);
      assert.deepEqual(a.data, images.data);
    }
    const l = readIdxSync(join(dir, 'lbl.gz'));
    assert.deepEqual(l.dims, [3]);
    assert.deepEqual(Array.from(l.data), [7, 0, 9]);
    // A large first dimension is read big-endian.
    const big = new Uint8Array(8 + 258);
    big.set([0, 0, 8, 1, 0, 0, 1, 2]);
    writeFileSync(join(dir, 'big'), big);
    assert.deepEqual(readIdxSync(join(dir, 'big')).dims, [258]);
  });
});

test('truncated, wrong-magic, corrupt-gzip and oversized IDX files fail naming the file', () => {
  withDir((dir) => {
    const raw = encodeIdx(images);
    const write = (name: string, b: Uint8Array): string => {
      writeFileSync(join(dir, name), b);
      return join(dir, name);
    };
    assert.equal(idxProblem(write('short-data', raw.subarray(0, raw.length - 5))), 'truncated');
    assert.equal(idxProblem(write('short-header', raw.subarray(0, 9))), 'truncated');
    assert.equal(idxProblem(write('tiny', raw.subarray(0, 2))), 'truncated');
    const gz = gzipSync(raw);
    assert.equal(idxProblem(write('short.gz', gz.subarray(0, gz.length - 10))), 'truncated');
    const floatIdx = raw.slice();
    floatIdx[2] = 0x0d; // float data: not supported
    assert.equal(idxProblem(write('float', floatIdx)), 'wrong-magic');
    assert.equal(idxProblem(write('text', new TextEncoder().encode('definitely not idx'))), 'wrong-magic');
    assert.match(String((() => { try { readIdxSync(join(dir, 'text')); } catch (e) { return (e as Error).message; } return ''; })()), /expected 0x00000801 \(labels\) or 0x00000803 \(images\)/);
    const extra = new Uint8Array(raw.length + 1);
    extra.set(raw);
    assert.equal(idxProblem(write('extra', extra)), 'size-mismatch');
  });
});

test('readIdxHeaderSync: dims of plain and gzipped files from the first bytes only; bad magic, short plain data and a corrupt gzip start are named', () => {
  withDir((dir) => {
    const raw = encodeIdx(images);
    const write = (name: string, b: Uint8Array): string => {
      writeFileSync(join(dir, name), b);
      return join(dir, name);
    };
    assert.deepEqual(readIdxHeaderSync(write('img', raw)), { dims: [3, 2, 4], gzipped: false });
    assert.deepEqual(readIdxHeaderSync(write('lbl.gz', gzipSync(encodeIdx(labels)))), { dims: [3], gzipped: true });
    // A large gzipped file is checked from its first 64 KiB (its header inflates from the first
    // block), even when the rest is cut off (which readIdxSync reports as truncated).
    const pixels = new Uint8Array(1300 * 784);
    for (let i = 0, x = 2463534242; i < pixels.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      pixels[i] = x & 0xff; // xorshift32: incompressible
    }
    const many = gzipSync(encodeIdx({ dims: [1300, 28, 28], data: pixels }));
    assert.ok(many.length > 512 * 1024);
    const cut = write('many.gz', many.subarray(0, 200_000));
    assert.deepEqual(readIdxHeaderSync(cut).dims, [1300, 28, 28]);
    assert.equal(idxProblem(cut), 'truncated');
    const headerProblem = (path: string): string => {
      try {
        readIdxHeaderSync(path);
      } catch (err) {
        assert.ok(err instanceof IdxError && err.message === `${path}: ${err.detail}`, String(err));
        return err.problem;
      }
      return 'none';
    };
    assert.equal(headerProblem(write('text', new TextEncoder().encode('definitely not idx'))), 'wrong-magic');
    assert.equal(headerProblem(write('short-data', raw.subarray(0, raw.length - 1))), 'truncated');
    const extra = new Uint8Array(raw.length + 3);
    extra.set(raw);
    assert.equal(headerProblem(write('extra', extra)), 'size-mismatch');
    assert.equal(headerProblem(write('empty', new Uint8Array(0))), 'truncated');
    const badGz = gzipSync(raw);
    badGz.fill(0xff, 10, 20); // the deflate stream's first bytes
    assert.equal(headerProblem(write('bad.gz', badGz)), 'bad-gzip');
    assert.throws(() => readIdxHeaderSync(join(dir, 'absent')), /ENOENT/);
  });
});
