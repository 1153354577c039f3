import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../rnn/model-js.js';
import { effectiveRecurrent } from '../rnn/init.js';
import { train } from '../rnn/train.js';
import type { ModelMasks, Params } from '../rnn/types.js';
import { CelltypeDataError } from '../celltype/data.js';
import { celltypeTask, CelltypeTaskError } from './celltype.js';

test('task shape: sizes, defaults, frozen readouts, per-population readout init, zero biases', async () => {
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 3, dataSource: 'synthetic', syntheticSamples: 20, latentScaling: 1 });
  assert.equal(t.cfg.nHidden, 90);
  assert.equal(t.cfg.nExc, 72);
  assert.equal(t.cfg.head, 'linear');
  assert.equal(t.train.nIn, 18);
  assert.equal(t.train.T, 15);
  assert.deepEqual([...t.frozen].sort(), ['bHh', 'bIn', 'bOut', 'wOut']);
  const p = t.initParams();
  assert.ok(p.bIn.every((v) => v === 0) && p.bHh.every((v) => v === 0));
  const N = t.layout.N;
  for (const pop of t.layout.populations) {
    const k = 1 / Math.sqrt(pop.size);
    for (let j = 0; j < N; j++) {
      const v = p.wOut[pop.index * N + j];
      if (j >= pop.internalStart && j < pop.internalEnd) assert.ok(Math.abs(v) <= k && v !== 0);
      else assert.equal(v, 0);
    }
    assert.ok(Math.abs(p.bOut[pop.index]) <= k);
  }
  const half = await celltypeTask({ condition: 'novel_omission_half', seed: 3, dataSource: 'synthetic', syntheticSamples: 20, latentScaling: 1 });
  assert.equal(half.train.T, 7);
});

test('task errors name what is missing', async () => {
  await assert.rejects(celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'files' }), CelltypeTaskError);
  await assert.rejects(celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'files', dataDir: '/nonexistent-celltype' }), CelltypeDataError);
});

/** Assert the invariants of a CelltypeRNN's parameters. */
function checkInvariants(what: string, p: Params, init: Params, masks: ModelMasks, nExc: number, N: number): void {
  assert.deepEqual(p.wOut, init.wOut, `${what}: readout weights changed`);
  assert.deepEqual(p.bOut, init.bOut, `${what}: readout biases changed`);
  assert.ok(p.bIn.every((v) => v === 0) && p.bHh.every((v) => v === 0), `${what}: biases not zero`);
  for (let k = 0; k < p.wIn.length; k++) if (masks.input![k] === 0) assert.equal(p.wIn[k], 0, `${what}: input weight ${k} outside its channel`);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const v = p.wHh[i * N + j];
      if (j < nExc) assert.ok(v >= 0, `${what}: E column ${j} has ${v}`);
      else assert.ok(v <= 0, `${what}: I column ${j} has ${v}`);
      if (masks.recurrent !== undefined && masks.recurrent[i * N + j] === 0) assert.equal(v, 0, `${what}: pruned (${i}, ${j}) is ${v}`);
    }
  }
}

test('dense training, pruning and fine-tuning with the generic train keep every constraint', async () => {
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 5, dataSource: 'synthetic', syntheticSamples: 40, latentScaling: 1 });
  const N = t.layout.N;
  const init = t.initParams();
  const dense = t.masks();
  let epochs = 0;
  const d = train({
    cfg: t.cfg,
    params: init,
    backend: jsBackend,
    train: t.train,
    test: t.test,
    epochs: 3,
    batchSize: 10,
    seed: 5,
    masks: dense,
    frozen: t.frozen,
    onEpoch: (_r, p) => {
      epochs++;
      checkInvariants(`dense epoch ${epochs}`, p, init, dense, t.cfg.nExc, N);
    },
  });
  assert.equal(epochs, 3);
  assert.ok(d.records[2].trainLoss < d.records[0].trainLoss, `loss ${d.records.map((r) => r.trainLoss).join(' -> ')}`);
  const pr = t.prune(effectiveRecurrent(t.cfg, d.params), 7);
  assert.ok(pr.mask.some((v) => v === 1) && pr.mask.some((v) => v === 0));
  const pruned: Params = { ...d.params, wHh: pr.weights };
  let ft = 0;
  const f = train({
    cfg: t.cfg,
    params: pruned,
    backend: jsBackend,
    train: t.train,
    epochs: 2,
    batchSize: 10,
    seed: 6,
    masks: pr.masks,
    frozen: t.frozen,
    onEpoch: (_r, p) => {
      ft++;
      checkInvariants(`fine-tune epoch ${ft}`, p, init, pr.masks, t.cfg.nExc, N);
    },
  });
  assert.equal(ft, 2);
  // Fine-tuning changed the kept weights (it trained) but nothing outside the mask.
  let changed = 0;
  for (let k = 0; k < N * N; k++) if (f.params.wHh[k] !== pruned.wHh[k]) changed++;
  assert.ok(changed > 0);
});

test('paper-code: the input mask is a no-op, other constraints hold', async () => {
  const t = await celltypeTask({ condition: 'novel_change_half', seed: 1, dataSource: 'synthetic', syntheticSamples: 20, latentScaling: 1, fidelity: 'paper-code' });
  assert.ok(t.masks().input!.every((v) => v === 1));
  const init = t.initParams();
  const r = train({ cfg: t.cfg, params: init, backend: jsBackend, train: t.train, epochs: 1, batchSize: 10, seed: 1, masks: t.masks(), frozen: t.frozen });
  checkInvariants('paper-code dense', r.params, init, t.masks(), t.cfg.nExc, t.layout.N);
  // Inputs are dense: some unit receives a channel other than its population's.
  let cross = 0;
  for (let i = 0; i < t.layout.N; i++) for (let k = 0; k < 18; k++) if (k !== t.layout.popOfInternal[i] && r.params.wIn[i * 18 + k] !== 0) cross++;
  assert.ok(cross > 0);
});
