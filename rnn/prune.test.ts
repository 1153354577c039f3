import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.js';
import {
  blockwiseTopProbMask,
  iterativeSchedule,
  PruneError,
  pruneMatrix,
  randomMask,
  renormalizeProbabilities,
  topProbMask,
  topProbProbabilities,
} from './prune.js';

function uniformMatrix(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed, 'test:w').fillUniform(new Float32Array(n), lo, hi);
}

function withZeros(w: Float32Array, frac: number, seed: number): number {
  const rng = new Rng(seed, 'test:zeros');
  let z = 0;
  for (let k = 0; k < w.length; k++) {
    if (rng.uniform() < frac) {
      w[k] = 0;
      z++;
    }
  }
  return z;
}

test('renormalisation (Alg. 3) clips to 1, spreads the excess and preserves the sum', () => {
  const p = Float64Array.from([1.5, 0.2, 0.3, 0]);
  const it = renormalizeProbabilities(p);
  assert.equal(it, 1);
  const expect = [1, 0.2 + 0.5 / 3, 0.3 + 0.5 / 3, 0.5 / 3];
  expect.forEach((v, i) => assert.ok(Math.abs(p[i] - v) < 1e-12, `p[${i}] = ${p[i]}, expected ${v}`));
  // Ineligible entries (pre-existing zeros) keep p = 0.
  const q = Float64Array.from([1.5, 0.2, 0.3, 0]);
  renormalizeProbabilities(q, Uint8Array.from([1, 1, 1, 0]));
  assert.deepEqual(Array.from(q, (v) => Math.round(v * 1e12) / 1e12), [1, 0.45, 0.55, 0]);
  // A cascade: the first spread pushes another entry over 1.
  const c = Float64Array.from([3, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  const sumBefore = c.reduce((a, b) => a + b, 0);
  assert.ok(renormalizeProbabilities(c) >= 2);
  assert.ok(Math.abs(c.reduce((a, b) => a + b, 0) - sumBefore) < 1e-12);
  assert.ok(c.every((v) => v <= 1));
});

for (const s of [0.1, 0.5, 0.9, 0.99]) {
  test(`top-prob on 128x128 at s = ${s}: probabilities <= 1, expected count exact, kept count within 4 SD`, () => {
    const N = 128;
    const w = uniformMatrix(N * N, 7);
    const pr = topProbProbabilities(w, N, N, s);
    let max = 0;
    let sum = 0;
    let variance = 0;
    for (const p of pr.p) {
      max = Math.max(max, p);
      sum += p;
      variance += p * (1 - p);
    }
    assert.ok(max <= 1, `max p = ${max}`);
    const target = (1 - s) * N * N;
    assert.ok(Math.abs(sum - target) / target < 1e-6, `sum p = ${sum}, target ${target}`);
    if (s === 0.1) assert.ok(pr.renormIterations > 0, 'renormalisation must have been needed at s = 0.1 (kappa max|w| = 1.8)');
    const res = topProbMask(w, N, N, s, new Rng(11, 'test:prune'));
    const kept = res.mask.reduce((a, b) => a + b, 0);
    assert.equal(kept, res.kept);
    assert.ok(Math.abs(kept - target) <= 4 * Math.sqrt(variance) + 1e-9, `kept ${kept}, target ${target}, sd ${Math.sqrt(variance)}`);
    assert.equal(res.achievedSparsity, 1 - kept / (N * N));
    assert.equal(res.targetSparsity, s);
    // Larger weights are kept with higher probability.
    let hiKept = 0;
    let hiN = 0;
    let loKept = 0;
    let loN = 0;
    for (let k = 0; k < w.length; k++) {
      if (Math.abs(w[k]) > 0.75) {
        hiN++;
        hiKept += res.mask[k];
      } else if (Math.abs(w[k]) < 0.25) {
        loN++;
        loKept += res.mask[k];
      }
    }
    assert.ok(hiKept / hiN > loKept / loN);
  });
}

test('top-prob accounts for pre-existing zeros (30% zeros, s = 0.6) and never keeps a zero', () => {
  const N = 128;
  const w = uniformMatrix(N * N, 3);
  const z0 = withZeros(w, 0.3, 3);
  const pr = topProbProbabilities(w, N, N, 0.6);
  assert.equal(pr.z0, z0);
  assert.ok(Math.abs(pr.adjustedSparsity - (0.6 * N * N - z0) / (N * N - z0)) < 1e-12);
  assert.ok(Math.abs(pr.expectedKept - 0.4 * N * N) < 1e-6 * N * N);
  let variance = 0;
  for (const p of pr.p) variance += p * (1 - p);
  const res = topProbMask(w, N, N, 0.6, new Rng(5, 'test'));
  for (let k = 0; k < w.length; k++) if (w[k] === 0) assert.equal(res.mask[k], 0, `zero at ${k} was kept`);
  assert.ok(Math.abs(res.kept - 0.4 * N * N) <= 4 * Math.sqrt(variance), `achieved ${res.achievedSparsity}`);
  assert.ok(Math.abs(res.achievedSparsity - 0.6) < 0.02);
});

test('top-prob keeps every non-zero when the zeros already exceed the target, and says so', () => {
  const N = 32;
  const w = uniformMatrix(N * N, 4);
  const z0 = withZeros(w, 0.7, 4);
  const res = topProbMask(w, N, N, 0.5, new Rng(1, 'test'));
  assert.equal(res.keptAllNonZeros, true);
  assert.equal(res.kept, N * N - z0);
  for (let k = 0; k < w.length; k++) assert.equal(res.mask[k], w[k] === 0 ? 0 : 1);
});

test('paper-code top-prob: z0 = #zeros + min(m, n), 1e-25 added, kappa over all entries, zeros can be kept', () => {
  const m = 40;
  const n = 30;
  const dense = uniformMatrix(m * n, 8, 0, 1);
  const pr = topProbProbabilities(dense, m, n, 0.5, { fidelity: 'paper-code' });
  assert.equal(pr.z0, Math.min(m, n));
  const sAdj = (0.5 * m * n - 30) / (m * n - 30);
  assert.ok(Math.abs(pr.adjustedSparsity - sAdj) < 1e-12);
  assert.ok(Math.abs(pr.expectedKept - (1 - sAdj) * m * n) < 1e-6);
  // Half zeros, low sparsity: the authors' variant spreads the excess onto the former zeros.
  const w = uniformMatrix(m * n, 9, 0, 1);
  withZeros(w, 0.5, 9);
  const pc = topProbMask(w, m, n, 0.2, new Rng(2, 'test'), { fidelity: 'paper-code' });
  let keptZeros = 0;
  for (let k = 0; k < w.length; k++) if (w[k] === 0 && pc.mask[k] === 1) keptZeros++;
  assert.ok(keptZeros > 0, 'paper-code keeps some former zeros');
  const co = topProbMask(w, m, n, 0.2, new Rng(2, 'test'));
  assert.equal(co.keptAllNonZeros, true);
  assert.ok(pc.achievedSparsity < co.achievedSparsity);
});

for (const variant of ['bernoulli', 'exact'] as const) {
  test(`random pruning (${variant}) reaches the target and never keeps a pre-existing zero`, () => {
    const N = 128;
    const w = uniformMatrix(N * N, 12);
    for (const s of [0.3, 0.9]) {
      const r = randomMask(w, N, N, s, new Rng(s * 10, 'test'), { variant });
      const target = (1 - s) * N * N;
      if (variant === 'exact') assert.equal(r.kept, Math.round(target));
      else assert.ok(Math.abs(r.kept - target) <= 4 * Math.sqrt(N * N * s * (1 - s)), `kept ${r.kept}`);
    }
    const wz = uniformMatrix(N * N, 13);
    const z0 = withZeros(wz, 0.3, 13);
    const r = randomMask(wz, N, N, 0.6, new Rng(3, 'test'), { variant });
    for (let k = 0; k < wz.length; k++) if (wz[k] === 0) assert.equal(r.mask[k], 0);
    const q = (0.4 * N * N) / (N * N - z0);
    if (variant === 'exact') assert.equal(r.kept, Math.round(0.4 * N * N));
    else assert.ok(Math.abs(r.kept - 0.4 * N * N) <= 4 * Math.sqrt((N * N - z0) * q * (1 - q)));
  });
}

test('paper-code random pruning keeps each entry with probability 1 - s, zeros included', () => {
  const N = 64;
  const w = new Float32Array(N * N); // all zeros
  const r = randomMask(w, N, N, 0.5, new Rng(1, 'test'), { fidelity: 'paper-code' });
  assert.ok(Math.abs(r.kept - 0.5 * N * N) <= 4 * Math.sqrt(N * N * 0.25));
  const c = randomMask(w, N, N, 0.5, new Rng(1, 'test'));
  assert.equal(c.kept, 0);
});

test('block-wise top-prob: each block within 4 SD of its own target, outside blocks zeroed', () => {
  const m = 96;
  const n = 80;
  const w = uniformMatrix(m * n, 21);
  const blocks = [
    { rows: [0, 48] as const, cols: [0, 40] as const, sparsity: 0.2 },
    { rows: [0, 48] as const, cols: [40, 80] as const, sparsity: 0.9 },
    { rows: [48, 96] as const, cols: [0, 40] as const, sparsity: 0.5 },
    { rows: [48, 72] as const, cols: [40, 80] as const, sparsity: 1 },
  ];
  for (const fidelity of ['corrected', 'paper-code'] as const) {
    const res = blockwiseTopProbMask(w, m, n, blocks, new Rng(4, 'test'), { fidelity });
    res.blocks.forEach((b, i) => {
      const sd = Math.sqrt(b.size * 0.25); // p(1-p) <= 1/4
      if (blocks[i].sparsity === 1) assert.equal(b.kept, 0);
      else if (fidelity === 'corrected') {
        assert.ok(Math.abs(b.expectedKept - (1 - blocks[i].sparsity) * b.size) < 1e-6 * b.size);
        assert.ok(Math.abs(b.kept - (1 - blocks[i].sparsity) * b.size) <= 4 * sd, `block ${i}: kept ${b.kept} of ${b.size}`);
      } else assert.ok(Math.abs(b.kept - b.expectedKept) <= 4 * sd, `paper-code block ${i}`);
    });
    for (let r = 72; r < 96; r++) for (let c = 40; c < 80; c++) assert.equal(res.mask[r * n + c], 0, 'entry outside every block');
  }
  assert.throws(() => blockwiseTopProbMask(w, m, n, [blocks[0], { rows: [10, 20], cols: [30, 50], sparsity: 0.5 }], new Rng(1)), /overlaps/);
  assert.throws(() => blockwiseTopProbMask(w, m, n, [{ rows: [0, 200], cols: [0, 5], sparsity: 0.5 }], new Rng(1)), PruneError);
});

test('pruneMatrix is deterministic per seed and method, and validates its input', () => {
  const N = 32;
  const w = uniformMatrix(N * N, 30);
  const a = pruneMatrix(w, N, N, { method: 'top-prob', sparsity: 0.7, seed: 5 });
  const b = pruneMatrix(w, N, N, { method: 'top-prob', sparsity: 0.7, seed: 5 });
  const c = pruneMatrix(w, N, N, { method: 'top-prob', sparsity: 0.7, seed: 6 });
  assert.deepEqual(a.mask, b.mask);
  assert.notDeepEqual(a.mask, c.mask);
  const e = pruneMatrix(w, N, N, { method: 'random-exact', sparsity: 0.7, seed: 5 });
  assert.equal(e.kept, Math.round(0.3 * N * N));
  assert.throws(() => pruneMatrix(w, N, N, { method: 'top-prob', sparsity: 1, seed: 1 }), /sparsity must be in \[0, 1\)/);
  assert.throws(() => pruneMatrix(w, N, N + 1, { method: 'random', sparsity: 0.5, seed: 1 }), /does not match shape/);
  const bad = w.slice();
  bad[3] = Number.NaN;
  assert.throws(() => pruneMatrix(bad, N, N, { method: 'top-prob', sparsity: 0.5, seed: 1 }), /entry 3 is NaN/);
});

test('iterativeSchedule: k cumulative sparsities, geometric keep fraction, ending at the target', () => {
  const sched = iterativeSchedule(0.9, 4);
  assert.equal(sched.length, 4);
  assert.equal(sched[3], 0.9);
  const keep = [1, ...sched.map((s) => 1 - s)];
  const ratio = keep[1] / keep[0];
  for (let r = 1; r < keep.length; r++) assert.ok(Math.abs(keep[r] / keep[r - 1] - ratio) < 1e-12);
  assert.ok(Math.abs(ratio - Math.pow(0.1, 1 / 4)) < 1e-12);
  assert.deepEqual(iterativeSchedule(0.5, 1), [0.5]);
  assert.throws(() => iterativeSchedule(0.5, 0), PruneError);
});
