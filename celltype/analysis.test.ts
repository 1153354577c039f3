import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../rnn/rng.js';
import { bandMeans, blockAverages, heatmapToJSON } from './analysis.js';
import { pruneCelltype } from './connectivity.js';
import { celltypeLayout, population, type CelltypeLayout, type Population } from './populations.js';

/** Pruned, Dale-signed random weights of one "trained model" (internal order). */
function model(L: CelltypeLayout, seed: number): Float32Array {
  const rng = new Rng(seed, 'test:model');
  const w = new Float32Array(L.N * L.N);
  for (let i = 0; i < L.N; i++) {
    for (let j = 0; j < L.N; j++) {
      const v = 0.001 + rng.uniform() / Math.sqrt(L.N);
      w[i * L.N + j] = j < L.nExc ? v : -v;
    }
  }
  return pruneCelltype(L, w, seed, seed, 'corrected').weights;
}

function addToBlock(L: CelltypeLayout, w: Float32Array, post: Population, pre: Population, delta: number): void {
  for (let i = post.internalStart; i < post.internalEnd; i++) {
    for (let j = pre.internalStart; j < pre.internalEnd; j++) if (w[i * L.N + j] !== 0) w[i * L.N + j] += delta;
  }
}

test('block averages by hand: one population block, its layer block, signed vs absolute', () => {
  const L = celltypeLayout(1);
  const nest = new Float32Array(L.N * L.N);
  const post = population(L, 'V1', 'L23', 'Pyr'); // 12 neurons
  const pre = population(L, 'V1', 'L4', 'Sst'); // 2 neurons
  // Nesting coordinates: -0.5 on every entry of the (V1 L2/3 Pyr <- V1 L4 Sst) block.
  for (let i = post.start; i < post.end; i++) for (let j = pre.start; j < pre.end; j++) nest[i * L.N + j] = -0.5;
  const w = L.toInternalMatrix(nest);
  const pop = blockAverages(L, w, 'population');
  assert.equal(pop.rows.length, 18);
  assert.equal(pop.values[post.index * 18 + pre.index], 0.5);
  assert.equal(pop.values.reduce((a, b) => a + b, 0), 0.5);
  assert.equal(blockAverages(L, w, 'population', { absolute: false }).values[post.index * 18 + pre.index], -0.5);
  const lay = blockAverages(L, w, 'layer', { absolute: false });
  assert.deepEqual(lay.rows, ['V1 L4', 'V1 L2/3', 'V1 L5', 'LM L4', 'LM L2/3', 'LM L5']);
  // Layer block V1 L2/3 <- V1 L4 is 15 x 15 with 12 x 2 entries of -0.5.
  assert.ok(Math.abs(lay.values[1 * 6 + 0] - (-0.5 * 24) / 225) < 1e-12);
  const json = heatmapToJSON(lay);
  assert.equal(json.values.length, 6);
  assert.equal(json.values[1][0], lay.values[6]);
});

test('bandMeans counts masked entries as zeros and reads the band blocks only', () => {
  const L = celltypeLayout(1);
  const w = new Float32Array(L.N * L.N);
  const pre = population(L, 'LM', 'L5', 'Pyr');
  const post = population(L, 'V1', 'L5', 'Sst');
  w[post.internalStart * L.N + pre.internalStart] = 2; // one entry of the LM L5 -> V1 L5 band
  const b = bandMeans(L, w);
  assert.equal(b[0].value, 0);
  assert.equal(b[1].value, 0);
  assert.equal(b[2].value, 2 / (15 * 12));
});
