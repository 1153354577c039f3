import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, IdxError, readIdxSync } from './idx.js';

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
