import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.js';
import { maximumSpanningTree, mstOverlap, randomOverlapTheory, topProbOverlapLowerBound, UnionFind } from './mst.js';
import { randomMask, topProbMask } from './prune.js';

function sorted(a: Int32Array): number[] {
  return Array.from(a).sort((x, y) => x - y);
}

/** Prim's algorithm on the bipartite graph: total weight of a maximum spanning tree (dense). */
function primTotal(w: Float32Array, m: number, n: number): number {
  const V = m + n;
  const inTree = new Uint8Array(V);
  const best = new Float64Array(V).fill(-Infinity);
  best[0] = 0;
  let total = 0;
  for (let it = 0; it < V; it++) {
    let u = -1;
    for (let v = 0; v < V; v++) if (!inTree[v] && (u === -1 || best[v] > best[u])) u = v;
    inTree[u] = 1;
    total += best[u];
    for (let v = 0; v < V; v++) {
      if (inTree[v]) continue;
      let weight = -Infinity;
      if (u < m && v >= m) weight = Math.abs(w[u * n + (v - m)]);
      if (u >= m && v < m) weight = Math.abs(w[v * n + (u - m)]);
      if (weight > best[v]) best[v] = weight;
    }
  }
  return total;
}

test('union-find merges sets once', () => {
  const uf = new UnionFind(5);
  assert.equal(uf.union(0, 1), true);
  assert.equal(uf.union(1, 0), false);
  assert.equal(uf.union(2, 3), true);
  assert.equal(uf.union(0, 3), true);
  assert.equal(uf.find(2), uf.find(1));
  assert.notEqual(uf.find(4), uf.find(0));
});

test('MST of hand-checked small matrices', () => {
  // 2x2: 4 (r0,c0), 3 (r0,c1), 2 (r1,c0) join everything; 1 (r1,c1) would close the 4-cycle.
  assert.deepEqual(sorted(maximumSpanningTree(Float32Array.from([4, -3, 2, 1]), 2, 2)), [0, 1, 2]);
  // 3x3 with signs: |9| r0c0, |8| r1c0, |7| r1c1, |6| r2c1, |5| r2c2 is a path through all 6 nodes.
  const w3 = Float32Array.from([9, -1, 1, -8, 7, 1, 1, -6, 5]);
  assert.deepEqual(sorted(maximumSpanningTree(w3, 3, 3)), [0, 3, 4, 7, 8]);
  // Ties broken by flat index: all ones.
  assert.deepEqual(sorted(maximumSpanningTree(new Float32Array(4).fill(1), 2, 2)), [0, 1, 2]);
  assert.deepEqual(sorted(maximumSpanningTree(new Float32Array(9).fill(-1), 3, 3)), [0, 1, 2, 3, 6]);
  // Rectangular 1x3: a star.
  assert.deepEqual(sorted(maximumSpanningTree(Float32Array.from([1, 2, 3]), 1, 3)), [0, 1, 2]);
});

test('MST: 2N - 1 edges for dense N x N, the maximum total weight (vs Prim), a forest with a zero row', () => {
  for (const [m, n, seed] of [
    [16, 16, 1],
    [5, 9, 2],
    [12, 7, 3],
  ]) {
    const w = new Rng(seed, 'test:mst').fillUniform(new Float32Array(m * n), -1, 1);
    const edges = maximumSpanningTree(w, m, n);
    assert.equal(edges.length, m + n - 1);
    const total = Array.from(edges).reduce((a, e) => a + Math.abs(w[e]), 0);
    assert.ok(Math.abs(total - primTotal(w, m, n)) < 1e-9, `${m}x${n}: Kruskal ${total} vs Prim ${primTotal(w, m, n)}`);
  }
  const N = 8;
  const w = new Rng(4, 'test').fillUniform(new Float32Array(N * N), 0.1, 1);
  for (let i = 0; i < N; i++) w[3 * N + i] = 0; // row 3 has no edges
  assert.equal(maximumSpanningTree(w, N, N).length, 2 * N - 2);
});

test('overlap of random pruning averages 1 - s (200 draws, within 4 standard errors)', () => {
  const N = 32;
  const w = new Rng(1, 'test:w').fillUniform(new Float32Array(N * N), 0, 1);
  const edges = maximumSpanningTree(w, N, N);
  for (const s of [0.5, 0.9]) {
    const rng = new Rng(Math.round(s * 100), 'test:random');
    const vals: number[] = [];
    for (let d = 0; d < 200; d++) vals.push(mstOverlap(edges, randomMask(w, N, N, s, rng).mask));
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1));
    const se = sd / Math.sqrt(vals.length);
    const th = randomOverlapTheory(N, s);
    assert.ok(Math.abs(th.fraction - (1 - s)) < 1e-12);
    assert.ok(Math.abs(th.expectedCount - (2 * N - 1) * (1 - s)) < 1e-9);
    assert.ok(Math.abs(mean - th.fraction) <= 4 * se, `s = ${s}: mean ${mean}, theory ${th.fraction}, se ${se}`);
  }
});

test('top-prob overlaps the MST more than random at s = 0.9, and the App. 10.1 bound is below it', () => {
  const N = 32;
  const w = new Rng(2, 'test:w').fillUniform(new Float32Array(N * N), 0, 1);
  const edges = maximumSpanningTree(w, N, N);
  const draws = 60;
  for (const s of [0.1, 0.5, 0.9]) {
    const rng = new Rng(Math.round(s * 100), 'test:top');
    let top = 0;
    let rnd = 0;
    for (let d = 0; d < draws; d++) {
      top += mstOverlap(edges, topProbMask(w, N, N, s, rng).mask) / draws;
      rnd += mstOverlap(edges, randomMask(w, N, N, s, rng).mask) / draws;
    }
    const bound = topProbOverlapLowerBound(w, N, s);
    assert.ok(bound.fraction > 0 && bound.fraction <= top, `s = ${s}: bound ${bound.fraction} vs top-prob ${top}`);
    assert.ok(Math.abs(bound.fraction * (2 * N - 1) - bound.expectedCount) < 1e-9);
    if (s === 0.9) assert.ok(top > rnd + 0.05, `top-prob ${top} vs random ${rnd}`);
  }
  const pc = topProbOverlapLowerBound(w, N, 0.9, { fidelity: 'paper-code' });
  assert.ok(pc.fraction > 0 && pc.fraction < 1);
});

test('overlap matches by index (corrected) or by weight value (paper-code)', () => {
  // MST of [[4,3],[2,1]] is {0,1,2}; the pruned matrix keeps entries 0 and 3.
  const w = Float32Array.from([4, 3, 2, 1]);
  const edges = maximumSpanningTree(w, 2, 2);
  const mask = Float32Array.from([1, 0, 0, 1]);
  assert.equal(mstOverlap(edges, mask), 1 / 3);
  assert.equal(mstOverlap(edges, mask, { fidelity: 'paper-code', w }), 1 / 3);
  // Duplicated values: entry 3 has the same |w| as MST edge 2, so value matching counts edge 2.
  const wd = Float32Array.from([4, 3, 2, -2]);
  const ed = maximumSpanningTree(wd, 2, 2);
  assert.deepEqual(sorted(ed), [0, 1, 2]);
  assert.equal(mstOverlap(ed, mask), 1 / 3);
  assert.equal(mstOverlap(ed, mask, { fidelity: 'paper-code', w: wd }), 2 / 3);
  assert.throws(() => mstOverlap(ed, mask, { fidelity: 'paper-code' }), /pass the dense weights/);
  // Python: int((1 - 0.55) * 10**2) = int(44.99999999999999) = 44, the authors' nSampled.
  assert.equal(randomOverlapTheory(10, 0.55, { fidelity: 'paper-code' }).fraction, 44 / 100);
});

test('random theory counts exact zeros: the corrected pruners keep (1 - s)N² of the N² - z0 non-zeros (Monte Carlo, 15 % zeros)', () => {
  const N = 32;
  const rng = new Rng(7, 'test:zeros');
  const w = rng.fillUniform(new Float32Array(N * N), 0.01, 1);
  // Exactly z0 zeros at uniformly chosen places (partial Fisher-Yates).
  const z0 = Math.round(0.15 * N * N);
  const idx = Int32Array.from({ length: N * N }, (_, k) => k);
  for (let i = 0; i < z0; i++) {
    const j = i + rng.int(N * N - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
    w[idx[i]] = 0;
  }
  const edges = maximumSpanningTree(w, N, N);
  const draws = 400;
  for (const s of [0.5, 0.8]) {
    for (const variant of ['bernoulli', 'exact'] as const) {
      const draw = new Rng(Math.round(100 * s), `test:zeros:${variant}`);
      const vals: number[] = [];
      for (let d = 0; d < draws; d++) vals.push(mstOverlap(edges, randomMask(w, N, N, s, draw, { variant }).mask));
      const mean = vals.reduce((a, b) => a + b, 0) / draws;
      const se = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws - 1) / draws);
      const th = randomOverlapTheory(N, s, { zeros: z0, variant }).fraction;
      const expected = variant === 'bernoulli' ? ((1 - s) * N * N) / (N * N - z0) : Math.round((1 - s) * N * N) / (N * N - z0);
      assert.ok(Math.abs(th - expected) < 1e-12, `s = ${s} ${variant}: theory ${th}, expected ${expected}`);
      assert.ok(Math.abs(mean - th) <= 4 * se, `s = ${s} ${variant}: Monte Carlo mean ${mean}, theory ${th}, se ${se}`);
      // 1 - s, the zero-blind line, is far outside the Monte Carlo error (18 % low at s = 0.8).
      assert.ok(Math.abs(mean - (1 - s)) > 8 * se, `s = ${s} ${variant}: 1 - s = ${1 - s} should be off, mean ${mean}, se ${se}`);
    }
  }
  // Without zeros it is 1 - s; zeros beyond the target keep every non-zero (fraction 1).
  assert.ok(Math.abs(randomOverlapTheory(N, 0.8, { zeros: 0 }).fraction - 0.2) < 1e-12);
  assert.equal(randomOverlapTheory(N, 0.3, { zeros: Math.round(0.8 * N * N) }).fraction, 1);
  // paper-code: the authors' subset size int((1 - s) N²) / N², zeros or not (their pruner keeps zeros too).
  assert.equal(randomOverlapTheory(10, 0.55, { fidelity: 'paper-code', zeros: 30 }).fraction, 44 / 100);
});

test('top-prob lower bound in both named variants: the printed kappa |w_(k)| and the renormalised min(1, p_(k)) of Alg. 3 (numpy references)', () => {
  // numpy: N = 8; w = (1 / (1 + ((arange(64) * 29) % 64)) ** 1.5).astype(float32); kappa = (1 - s) N² / sum|w|;
  // p = kappa |w| ("formula") or Alg. 3 renormalised then min(1, .) ("renormalised"); order by |w| descending;
  // (sum_{k<=3} p_(k) + sum_{k=4}^{N-1} p_(k) (N - k + 1)² / (N² - k + 1)) / (2N - 1).
  const N = 8;
  const w = Float32Array.from({ length: N * N }, (_, k) => 1 / (1 + ((k * 29) % 64)) ** 1.5);
  const refs: [number, number, number][] = [
    [0.5, 1.4760414307084697, 0.25986737482421146],
    [0.9, 0.2952082861416939, 0.18657806916614575],
  ];
  for (const [s, formula, renormalised] of refs) {
    const f = topProbOverlapLowerBound(w, N, s, { probabilities: 'formula' });
    const r = topProbOverlapLowerBound(w, N, s, { probabilities: 'renormalised' });
    assert.ok(Math.abs(f.fraction - formula) < 1e-12, `s = ${s} formula: ${f.fraction} vs ${formula}`);
    assert.ok(Math.abs(r.fraction - renormalised) < 1e-12, `s = ${s} renormalised: ${r.fraction} vs ${renormalised}`);
    assert.equal(topProbOverlapLowerBound(w, N, s).fraction, r.fraction, 'renormalised is the default');
  }
  // The printed formula is not a bound when kappa |w| > 1 (here above 1 itself); the renormalised one is.
  assert.ok(topProbOverlapLowerBound(w, N, 0.5, { probabilities: 'formula' }).fraction > 1);
});
