import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, NpyError, parseNpy, readNpy, readNpyHeaderSync, readNpySync, writeNpy } from './npy.js';

/** Builds a .npy v1.0 file by hand with an arbitrary header and body. */
function handMade(header: string, body: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  const h = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const out = new Uint8Array(total + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[pre + i] = h.charCodeAt(i);
  out.set(body, total);
  return out;
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NpyError, `expected NpyError, got ${String(err)}`);
    assert.match(err.message, /^f\.npy: /);
    return err.problem;
  }
  assert.fail('expected an NpyError');
}

test('encode/parse round trip: float32, float64, int32, uint8, any rank, header aligned to 64', () => {
  const cases = [
    { data: Float32Array.from([1.5, -2, 3.25, 0, 1e-30, -7]), shape: [2, 3] },
    { data: Float64Array.from([Math.PI, -1e300, 5e-324, 0]), shape: [4] },
    { data: Int32Array.from([1, -2, 3, 2147483647, -2147483648, 0, 7, 8]), shape: [2, 2, 2] },
    { data: Uint8Array.from([255]), shape: [] },
    { data: new Float32Array(0), shape: [0, 5] },
  ];
  for (const c of cases) {
    const bytes = encodeNpy(c);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLen) % 64, 0);
    assert.equal(bytes[10 + headerLen - 1], 0x0a);
    const back = parseNpy(bytes);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(back.data, c.data);
  }
  const b = parseNpy(encodeNpy({ data: Uint8Array.from([0, 1, 1]), shape: [3], dtype: 'bool' }));
  assert.equal(b.dtype, 'bool');
  const i64 = parseNpy(encodeNpy({ data: BigInt64Array.from([1n, -5n]), shape: [2] }));
  assert.deepEqual(i64.data, BigInt64Array.from([1n, -5n]));
});

test('big-endian data, v2.0 and v3.0 headers, and Python-2 style long shapes are read', () => {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  view.setFloat64(0, 1.25, false);
  view.setFloat64(8, -3.5, false);
  const be = parseNpy(handMade("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }", body));
  assert.deepEqual(Array.from(be.data as Float64Array), [1.25, -3.5]);
  const f32 = new Uint8Array(4);
  new DataView(f32.buffer).setFloat32(0, 0.5, false);
  assert.deepEqual(Array.from(parseNpy(handMade("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", f32)).data as Float32Array), [0.5]);
  const le = new Uint8Array(Float32Array.from([2, 4]).buffer);
  for (const v of [2, 3]) {
    const a = parseNpy(handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }", le, v));
    assert.deepEqual(Array.from(a.data as Float32Array), [2, 4]);
  }
});

test('typed errors: not .npy, truncated, unsupported dtype, fortran order, size mismatch, version', () => {
  const good = encodeNpy({ data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] });
  assert.equal(problem(() => parseNpy(new TextEncoder().encode('hello, this is text'), 'f.npy')), 'not-npy');
  assert.equal(problem(() => parseNpy(good.subarray(0, good.length - 3), 'f.npy')), 'truncated');
  assert.equal(problem(() => parseNpy(good.subarray(0, 40), 'f.npy')), 'truncated');
  const extra = new Uint8Array(good.length + 4);
  extra.set(good);
  assert.equal(problem(() => parseNpy(extra, 'f.npy')), 'size-mismatch');
  assert.equal(problem(() => parseNpy(handMade("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), 'f.npy')), 'unsupported-dtype');
  assert.equal(problem(() => parseNpy(handMade("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(12)), 'f.npy')), 'unsupported-dtype');
  assert.equal(problem(() => parseNpy(handMade("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), 'f.npy')), 'unsupported-dtype');
  assert.equal(problem(() => parseNpy(handMade("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16)), 'f.npy')), 'fortran-order');
  const v9 = good.slice();
  v9[6] = 9;
  assert.equal(problem(() => parseNpy(v9, 'f.npy')), 'unsupported-version');
  assert.throws(() => encodeNpy({ data: new Float32Array(3), shape: [2, 2] }), NpyError);
});

test('writeNpy writes atomically and readNpy/readNpySync read it back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-'));
  try {
    const p = join(dir, 'a.npy');
    await writeNpy(p, { data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2] });
    assert.deepEqual(readdirSync(dir), ['a.npy']);
    const a = await readNpy(p);
    assert.equal(a.dtype, 'float64');
    assert.deepEqual(a.shape, [3, 2]);
    assert.deepEqual(readNpySync(p).data, a.data);
    await assert.rejects(writeNpy(join(dir, 'missing', 'b.npy'), { data: new Float32Array(1), shape: [1] }), /ENOENT/);
    assert.deepEqual(readdirSync(dir), ['a.npy']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('numpy interop: files written by numpy (v1, v3, big-endian) are read, files written here load in numpy', { skip: hasNumpy ? false : 'python3 with numpy is not available (pip install numpy)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-numpy-'));
  try {
    const py = `
import numpy as np, sys, json
d = sys.argv[1]
a = (np.arange(12, dtype=np.float64).reshape(3, 4) * 0.37 - 1.5)
np.save(d + '/np_f32.npy', a.astype(np.float32))
with open(d + '/np_f64_v3.npy', 'wb') as f:
    np.lib.format.write_array(f, a.reshape(2, 3, 2), version=(3, 0))
np.save(d + '/np_be.npy', a.astype('>f8'))
np.save(d + '/np_i32.npy', np.arange(6, dtype=np.int32).reshape(2, 3) - 2)
np.save(d + '/np_fortran.npy', np.asfortranarray(a))
`;
    const r = spawnSync('python3', ['-c', py, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const expect = Array.from({ length: 12 }, (_, i) => i * 0.37 - 1.5);
    const f32 = readNpySync(join(dir, 'np_f32.npy'));
    assert.equal(f32.dtype, 'float32');
    assert.deepEqual(f32.shape, [3, 4]);
    assert.deepEqual(Array.from(f32.data as Float32Array), expect.map(Math.fround));
    const v3 = readNpySync(join(dir, 'np_f64_v3.npy'));
    assert.deepEqual(v3.shape, [2, 3, 2]);
    assert.deepEqual(Array.from(v3.data as Float64Array), expect);
    assert.deepEqual(Array.from(readNpySync(join(dir, 'np_be.npy')).data as Float64Array), expect);
    assert.deepEqual(Array.from(readNpySync(join(dir, 'np_i32.npy')).data as Int32Array), [-2, -1, 0, 1, 2, 3]);
    assert.throws(() => readNpySync(join(dir, 'np_fortran.npy')), /Fortran/);

    writeFileSync(join(dir, 'ts_f32.npy'), encodeNpy({ data: Float32Array.from(expect), shape: [4, 3] }));
    writeFileSync(join(dir, 'ts_f64.npy'), encodeNpy({ data: Float64Array.from(expect), shape: [2, 2, 3] }));
    const check = `
import numpy as np, sys, json
d = sys.argv[1]
a = np.load(d + '/ts_f32.npy'); b = np.load(d + '/ts_f64.npy')
print(json.dumps({'a': [str(a.dtype), list(a.shape), a.ravel().tolist()], 'b': [str(b.dtype), list(b.shape), b.ravel().tolist()]}))
`;
    const c = spawnSync('python3', ['-c', check, dir], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    const out = JSON.parse(c.stdout) as { a: [string, number[], number[]]; b: [string, number[], number[]] };
    assert.deepEqual(out.a, ['float32', [4, 3], expect.map(Math.fround)]);
    assert.deepEqual(out.b, ['float64', [2, 2, 3], expect]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readNpyHeaderSync reads only the header: dtype, shape, data offset; a length that does not match the shape is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-header-'));
  try {
    const bytes = encodeNpy({ data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2] });
    const p = join(dir, 'a.npy');
    writeFileSync(p, bytes);
    const h = readNpyHeaderSync(p);
    assert.deepEqual([h.dtype, h.shape, h.dataOffset, h.dataBytes, h.bigEndian], ['float64', [3, 2], bytes.length - 48, 48, false]);
    // A large array: the header says (2000, 15) float32 and the file has that length (sparse, so
    // nothing but the header is written or read).
    const big = join(dir, 'big.npy');
    const h2 = handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (2000, 15), }", new Uint8Array(0));
    writeFileSync(big, h2);
    truncateSync(big, h2.length + 2000 * 15 * 4);
    assert.deepEqual(readNpyHeaderSync(big).shape, [2000, 15]);
    // The same problems as parseNpy, named by file.
    const headerProblem = (name: string, content: Uint8Array): string => {
      const f = join(dir, name);
      writeFileSync(f, content);
      try {
        readNpyHeaderSync(f);
      } catch (err) {
        assert.ok(err instanceof NpyError && err.message === `${f}: ${err.detail}`, String(err));
        return err.problem;
      }
      return 'none';
    };
    assert.equal(headerProblem('short.npy', bytes.subarray(0, bytes.length - 8)), 'truncated');
    assert.equal(headerProblem('header-only.npy', bytes.subarray(0, 30)), 'truncated');
    const extra = new Uint8Array(bytes.length + 1);
    extra.set(bytes);
    assert.equal(headerProblem('long.npy', extra), 'size-mismatch');
    assert.equal(headerProblem('text.npy', new TextEncoder().encode('not numpy at all')), 'not-npy');
    assert.equal(headerProblem('empty.npy', new Uint8Array(0)), 'not-npy');
    assert.equal(headerProblem('int.npy', encodeNpy({ data: new Int32Array(2), shape: [2] })), 'none');
    assert.throws(() => readNpyHeaderSync(join(dir, 'absent.npy')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
