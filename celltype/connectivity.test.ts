import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../rnn/rng.js';
import {
  connectionProbability,
  buildCelltypeMasks,
  interAreaMask,
  intraAreaBlocks,
  INTER_AREA_BANDS,
  populationConnectionProbabilities,
  pruneCelltype,
} from './connectivity.js';
import { celltypeLayout, population, type CelltypeLayout } from './populations.js';

/** Random Dale-signed weights in internal order (E columns > 0, I columns < 0), none zero. */
function daleWeights(L: CelltypeLayout, seed: number): Float32Array {
  const rng = new Rng(seed, 'test:weights');
  const w = new Float32Array(L.N * L.N);
  for (let i = 0; i < L.N; i++) {
    for (let j = 0; j < L.N; j++) {
      const v = 0.001 + rng.uniform() / Math.sqrt(L.N);
      w[i * L.N + j] = j < L.nExc ? v : -v;
    }
  }
  return w;
}

test('Table 1 entries (rows post, columns pre), checked by hand against the paper', () => {
  // Row "L2/3 Pyr", column "L4 SST" = 0.33; row "L2/3 SST", column "L2/3 Pyr" = 0.3.
  assert.equal(connectionProbability('L23', 'Pyr', 'L4', 'Sst'), 0.33);
  assert.equal(connectionProbability('L23', 'Sst', 'L23', 'Pyr'), 0.3);
  assert.equal(connectionProbability('L23', 'Pyr', 'L23', 'Sst'), 0.23);
  // Row "L4 SST", column "L5 ViP" = 0.2; row "L5 ViP", column "L4 Pyr" = 0.11; row L5 Pyr, col L5 Pyr = 0.04.
  assert.equal(connectionProbability('L4', 'Sst', 'L5', 'Vip'), 0.2);
  assert.equal(connectionProbability('L5', 'Vip', 'L4', 'Pyr'), 0.11);
  assert.equal(connectionProbability('L5', 'Pyr', 'L5', 'Pyr'), 0.04);
  assert.equal(connectionProbability('L4', 'Pyr', 'L23', 'Vip'), 0); // row L4 Pyr, column L2/3 ViP = 0.00
});

test('population probabilities: Table 1 in both areas, 0.3 bands, zero elsewhere', () => {
  const L = celltypeLayout(1);
  const P = populationConnectionProbabilities(L);
  const at = (post: number, pre: number): number => P[post * 18 + pre];
  const idx = (a: 'V1' | 'LM', l: 'L4' | 'L23' | 'L5', t: 'Pyr' | 'Sst' | 'Vip'): number => population(L, a, l, t).index;
  assert.equal(at(idx('V1', 'L23', 'Pyr'), idx('V1', 'L4', 'Sst')), 0.33);
  assert.equal(at(idx('LM', 'L23', 'Pyr'), idx('LM', 'L4', 'Sst')), 0.33);
  for (const t of ['Pyr', 'Sst', 'Vip'] as const) {
    assert.equal(at(idx('LM', 'L4', t), idx('V1', 'L23', 'Pyr')), 0.3);
    assert.equal(at(idx('V1', 'L23', t), idx('LM', 'L5', 'Pyr')), 0.3);
    assert.equal(at(idx('V1', 'L5', t), idx('LM', 'L5', 'Pyr')), 0.3);
    // Not a band: V1 L2/3 Sst -> LM L4, LM L4 Pyr -> V1 L2/3.
    assert.equal(at(idx('LM', 'L4', t), idx('V1', 'L23', 'Sst')), 0);
    assert.equal(at(idx('V1', 'L23', t), idx('LM', 'L4', 'Pyr')), 0);
  }
  let inter = 0;
  for (const post of L.populations) for (const pre of L.populations) if (post.area !== pre.area && at(post.index, pre.index) > 0) inter++;
  assert.equal(inter, 9);
});

test('intra-area block list covers both areas with sparsity 1 - p in internal coordinates', () => {
  const L = celltypeLayout();
  const blocks = intraAreaBlocks(L);
  assert.equal(blocks.length, 162);
  const b = blocks.find((x) => x.post.label === 'LM L2/3 Vip' && x.pre.label === 'LM L4 Sst')!;
  assert.equal(b.p, 0.21);
  assert.ok(Math.abs(b.sparsity - 0.79) < 1e-12);
  assert.deepEqual(b.rows, [population(L, 'LM', 'L23', 'Vip').internalStart, population(L, 'LM', 'L23', 'Vip').internalEnd]);
  assert.deepEqual(b.cols, [population(L, 'LM', 'L4', 'Sst').internalStart, population(L, 'LM', 'L4', 'Sst').internalEnd]);
  let area = 0;
  for (const x of blocks) area += (x.rows[1] - x.rows[0]) * (x.cols[1] - x.cols[0]);
  assert.equal(area, 2 * 720 * 720);
});

test('input and readout masks: own channel / own population (paper-code input mask is all ones)', () => {
  const L = celltypeLayout(1);
  const m = buildCelltypeMasks(L, 3, 'corrected');
  const pc = buildCelltypeMasks(L, 3, 'paper-code');
  assert.ok(pc.input.every((v) => v === 1));
  for (let i = 0; i < L.N; i++) {
    const pop = L.popOfInternal[i];
    for (let k = 0; k < 18; k++) {
      assert.equal(m.input[i * 18 + k], k === pop ? 1 : 0);
      assert.equal(m.readout[k * L.N + i], k === pop ? 1 : 0);
    }
  }
  assert.deepEqual(pc.readout, m.readout);
});

test('inter-area mask: ones within areas, Bernoulli(0.3) in the 3 bands only, seeded', () => {
  const L = celltypeLayout(4);
  const m = interAreaMask(L, 11);
  assert.deepEqual(interAreaMask(L, 11), m);
  assert.notDeepEqual(interAreaMask(L, 12), m);
  const N = L.N;
  const bandPairs = new Set<string>();
  for (const b of INTER_AREA_BANDS) {
    const pre = population(L, b.pre.area, b.pre.layer, b.pre.type);
    for (const t of b.post.types) bandPairs.add(`${population(L, b.post.area, b.post.layer, t).index}:${pre.index}`);
  }
  let bandOnes = 0;
  let bandSize = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const post = L.populations[L.popOfInternal[i]];
      const pre = L.populations[L.popOfInternal[j]];
      const v = m[i * N + j];
      if (post.area === pre.area) assert.equal(v, 1);
      else if (bandPairs.has(`${post.index}:${pre.index}`)) {
        assert.ok(pre.type === 'Pyr');
        bandSize++;
        bandOnes += v;
      } else assert.equal(v, 0, `(${post.label} <- ${pre.label}) must be 0`);
    }
  }
  assert.equal(bandSize, 3 * 60 * 48);
  const sd = Math.sqrt(bandSize * 0.3 * 0.7);
  assert.ok(Math.abs(bandOnes - 0.3 * bandSize) < 4 * sd, `band ones ${bandOnes} vs ${0.3 * bandSize} ± ${4 * sd}`);
});

test('pruneCelltype (corrected, N = 1440): every intra-area block within 4 binomial SDs of Table 1', () => {
  const L = celltypeLayout();
  const w = daleWeights(L, 1);
  const r = pruneCelltype(L, w, 5, 9, 'corrected');
  const N = L.N;
  for (const b of r.blocks) {
    const mean = b.p * b.size;
    const sd = Math.sqrt(b.size * b.p * (1 - b.p));
    if (b.p === 0) assert.equal(b.kept, 0, `${b.post} <- ${b.pre} has p = 0`);
    else assert.ok(Math.abs(b.kept - mean) <= 4 * sd + 1e-9, `${b.post} <- ${b.pre}: kept ${b.kept}, expected ${mean} ± ${4 * sd}`);
    assert.ok(Math.abs(b.expectedKept - mean) < 1e-6 * b.size + 1e-9);
  }
  // Inter-area entries equal the band mask; the pruned weights are w ⊙ mask with signs kept.
  const inter = interAreaMask(L, 9);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const k = i * N + j;
      if (L.populations[L.popOfInternal[i]].area !== L.populations[L.popOfInternal[j]].area) assert.equal(r.mask[k], inter[k]);
      assert.equal(r.weights[k], r.mask[k] === 1 ? w[k] : 0);
    }
  }
  // Reproducible from the seeds.
  assert.deepEqual(pruneCelltype(L, w, 5, 9, 'corrected').mask, r.mask);
});

test('pruneCelltype (paper-code) zeroes p = 0 blocks and the non-band inter-area blocks', () => {
  const L = celltypeLayout(2);
  const r = pruneCelltype(L, daleWeights(L, 2), 1, 1, 'paper-code');
  for (const b of r.blocks) if (b.p === 0) assert.equal(b.kept, 0);
  const P = populationConnectionProbabilities(L);
  const N = L.N;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (P[L.popOfInternal[i] * 18 + L.popOfInternal[j]] === 0) assert.equal(r.mask[i * N + j], 0);
    }
  }
});
