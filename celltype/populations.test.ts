import { test } from 'node:test';
import assert from 'node:assert/strict';
import { celltypeLayout, CelltypeLayoutError, population, populationIndex } from './populations.js';

test('paper layout: 18 populations of 192/32/16 in area x layer x type order, 1440 neurons', () => {
  const L = celltypeLayout();
  assert.equal(L.N, 1440);
  assert.equal(L.nExc, 6 * 192);
  assert.equal(L.populations.length, 18);
  const labels = L.populations.map((p) => p.label);
  assert.deepEqual(labels.slice(0, 6), ['V1 L4 Pyr', 'V1 L4 Sst', 'V1 L4 Vip', 'V1 L2/3 Pyr', 'V1 L2/3 Sst', 'V1 L2/3 Vip']);
  assert.equal(labels[9], 'LM L4 Pyr');
  assert.equal(labels[17], 'LM L5 Vip');
  // Nesting ranges are contiguous, 240 per layer.
  let pos = 0;
  for (const p of L.populations) {
    assert.equal(p.start, pos);
    assert.equal(p.size, p.type === 'Pyr' ? 192 : p.type === 'Sst' ? 32 : 16);
    assert.equal(p.sign, p.type === 'Pyr' ? 1 : -1);
    pos = p.end;
  }
  // Hand-checked: V1 L2/3 Pyr starts after V1 L4 (240); LM L5 Pyr at 1440 - 240.
  assert.equal(population(L, 'V1', 'L23', 'Pyr').start, 240);
  assert.equal(population(L, 'LM', 'L5', 'Pyr').start, 1200);
  assert.equal(population(L, 'LM', 'L5', 'Vip').end, 1440);
  assert.equal(populationIndex('LM', 'L23', 'Sst'), 13);
  assert.equal(population(L, 'V1', 'L4', 'Pyr').fileKey, 'V1_L4_pyr');
  assert.equal(population(L, 'LM', 'L23', 'Vip').fileKey, 'LM_L23_vip');
});

test('internal order puts every Pyr population first, each population contiguous', () => {
  const L = celltypeLayout();
  for (const p of L.populations) {
    assert.equal(p.internalEnd - p.internalStart, p.size);
    if (p.sign === 1) assert.ok(p.internalEnd <= L.nExc, `${p.label} must be among the first nExc`);
    else assert.ok(p.internalStart >= L.nExc, `${p.label} must come after the E units`);
  }
  assert.equal(population(L, 'V1', 'L23', 'Pyr').internalStart, 192);
  assert.equal(population(L, 'V1', 'L4', 'Sst').internalStart, 1152);
  // Permutations are inverse bijections.
  const seen = new Uint8Array(L.N);
  for (let i = 0; i < L.N; i++) {
    assert.equal(L.toInternal[L.toNesting[i]], i);
    seen[L.toNesting[i]]++;
    assert.equal(L.populations[L.popOfInternal[i]].internalStart <= i && i < L.populations[L.popOfInternal[i]].internalEnd, true);
  }
  assert.ok(seen.every((c) => c === 1));
});

test('matrix permutation round-trips and moves entries to their populations', () => {
  const L = celltypeLayout(1);
  assert.equal(L.N, 90);
  const w = new Float32Array(L.N * L.N).map((_, k) => k);
  assert.deepEqual(L.toInternalMatrix(L.toNestingMatrix(w)), w);
  // An entry at (nesting) post = first V1 L4 Sst neuron, pre = first LM L5 Pyr neuron.
  const post = population(L, 'V1', 'L4', 'Sst');
  const pre = population(L, 'LM', 'L5', 'Pyr');
  const nest = new Float32Array(L.N * L.N);
  nest[post.start * L.N + pre.start] = 7;
  const internal = L.toInternalMatrix(nest);
  assert.equal(internal[post.internalStart * L.N + pre.internalStart], 7);
  assert.equal(internal.reduce((a, b) => a + b, 0), 7);
});

test('invalid latent scaling is rejected with its value', () => {
  assert.throws(() => celltypeLayout(0), CelltypeLayoutError);
  assert.throws(() => celltypeLayout(1.5), /latentScaling must be a positive integer.*1\.5/);
});
