import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, writeNpy } from '../io/npy.js';
import { Rng } from '../rnn/rng.js';
import { bootstrapResponses, CelltypeDataError, checkCelltypeFiles, conditionFileNames, gaussianFilter1d, readCelltypeCondition, splitCelltypeData } from './data.js';
import { generateSyntheticDataset, SYNTHETIC_FEEDFORWARD_GAIN, syntheticCelltypeData } from './synthetic.js';
import { CelltypeConditionError } from './conditions.js';
import { populationIndex } from './populations.js';

/** Fixture folder (source tree): one condition written by numpy, see testdata/README.md. */
const FIXTURES = fileURLToPath(new URL('../../celltype/testdata/', import.meta.url));

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'celltype-data-'));
}

test('file names follow dff_{area}_{layer}_{type}_{cond}_{split}.npy', () => {
  const names = conditionFileNames('familiar_no_change');
  assert.equal(names.length, 18);
  assert.equal(names[0].train, 'dff_V1_L4_pyr_familiar_no_change_train.npy');
  assert.equal(names[4].test, 'dff_V1_L23_sst_familiar_no_change_test.npy');
  assert.equal(names[17].train, 'dff_LM_L5_vip_familiar_no_change_train.npy');
});

test('gaussianFilter1d matches scipy.ndimage.gaussian_filter1d (reflect, truncate 4)', () => {
  // Reference values computed with scipy 1.17.1: gaussian_filter1d(x, sigma).
  const x = [0.3, -1.2, 2.5, 0.0, 4.1, 3.3, -0.7, 1.9, 2.2, -3.0, 0.5, 1.1, 0.9, -0.4, 2.0];
  const g1 = [
    -0.016274435026196937, 0.22861383915823225, 0.9602543228987672, 1.7089145916431838, 2.5347949040796096, 2.262067167197668,
    1.3062410986292434, 1.1576808756269181, 0.6208781611282248, -0.38025964139796886, -0.0860797448232628, 0.6131637652206824,
    0.6592159864361448, 0.7096744415161989, 1.221114667712555,
  ];
  const g25 = [0.6648317607428611, 0.8429864038488909, 1.1359157132455395, 1.4344242586837868, 1.6218418634789205];
  const g1short = [-0.23157834317706116, -0.6684216568229387];
  const close = (a: ArrayLike<number>, b: number[]): void => {
    assert.equal(a.length, b.length);
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-12, `[${i}] ${a[i]} vs ${b[i]}`);
  };
  close(gaussianFilter1d(x, 1), g1);
  close(gaussianFilter1d(x.slice(0, 5), 2.5), g25); // radius 10 > length: repeated reflection
  close(gaussianFilter1d(x.slice(0, 2), 1), g1short);
});

test('bootstrapResponses: mean of draws, input = frames 0..L-2, target = frames 1..L-1', () => {
  const rng = new Rng(1, 'test');
  const L = 16;
  const exps = Array.from({ length: 7 }, (_, e) => Float64Array.from({ length: L }, (_, t) => Math.sin(t + e) + e));
  // Unfiltered: test row is the train row shifted by one frame, and each value is a mean of
  // draws, so it lies within the per-frame range of the experiments.
  const b = bootstrapResponses(exps, 20, rng, 100, 0);
  assert.equal(b.T, 15);
  for (let s = 0; s < 20; s++) {
    for (let t = 0; t < 14; t++) assert.equal(b.test[s * 15 + t], b.train[s * 15 + t + 1]);
    for (let t = 0; t < 15; t++) {
      const col = exps.map((r) => r[t]);
      assert.ok(b.train[s * 15 + t] >= Math.min(...col) - 1e-12 && b.train[s * 15 + t] <= Math.max(...col) + 1e-12);
    }
  }
  // One experiment: every sample is that response, filtered (σ = 1) in two halves.
  const one = bootstrapResponses([exps[3]], 2, new Rng(2, 'test'), 5, 1);
  const a = gaussianFilter1d(exps[3].subarray(0, 15), 1);
  const c = gaussianFilter1d(exps[3].subarray(1, 16), 1);
  for (let t = 0; t < 15; t++) {
    assert.ok(Math.abs(one.train[t] - a[t]) < 1e-12); // mean of 5 equal draws: equal up to rounding
    assert.ok(Math.abs(one.test[15 + t] - c[t]) < 1e-12);
  }
  assert.ok(Math.abs(one.test[0] - one.train[1]) > 1e-6, 'test is filtered on its own, so at the ends it is not train shifted');
  assert.throws(() => bootstrapResponses([new Float64Array(16), new Float64Array(15)], 1, rng), /response 1 has 15 frames, expected 16/);
});

test('reads files written by numpy (float32 and float64) exactly and pairs train -> input, test -> target', async () => {
  // Fixture value of population k, split si (0 train, 1 test), sample s, frame t: 1000k + 100si + 15s + t + 0.25;
  // even k are float32 files, odd k float64.
  const full = await readCelltypeCondition(FIXTURES, 'familiar_omission_full');
  assert.equal(full.n, 3);
  assert.equal(full.T, 15);
  for (let s = 0; s < 3; s++) {
    for (let t = 0; t < 15; t++) {
      for (let k = 0; k < 18; k++) {
        const o = (s * 15 + t) * 18 + k;
        assert.equal(full.x[o], 1000 * k + 15 * s + t + 0.25);
        assert.equal(full.target[o], 1000 * k + 100 + 15 * s + t + 0.25);
      }
    }
  }
  const half = await readCelltypeCondition(FIXTURES, 'familiar_omission_half');
  assert.equal(half.T, 7);
  for (let s = 0; s < 3; s++) {
    for (let t = 0; t < 7; t++) assert.equal(half.x[(s * 7 + t) * 18 + 5], 5000 + 15 * s + (t + 7) + 0.25); // frames 7..13 = [:, 7:-1]
  }
});

test('reader lists every missing file by name', async () => {
  const dir = await tempDir();
  try {
    for (const f of await readdir(FIXTURES)) if (f.endsWith('.npy')) await copyFile(join(FIXTURES, f), join(dir, f));
    await unlink(join(dir, 'dff_V1_L23_sst_familiar_omission_test.npy'));
    await unlink(join(dir, 'dff_LM_L5_pyr_familiar_omission_train.npy'));
    await assert.rejects(readCelltypeCondition(dir, 'familiar_omission_full'), (e: unknown) => {
      assert.ok(e instanceof CelltypeDataError);
      assert.deepEqual(e.missing, ['dff_V1_L23_sst_familiar_omission_test.npy', 'dff_LM_L5_pyr_familiar_omission_train.npy']);
      assert.match(e.message, /2 of 36 files missing: dff_V1_L23_sst_familiar_omission_test\.npy, dff_LM_L5_pyr_familiar_omission_train\.npy/);
      return true;
    });
    await assert.rejects(readCelltypeCondition(dir, 'novel_change_full'), /36 of 36 files missing/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('reader rejects a wrong shape, a wrong dtype and a sample-count mismatch, naming the files', async () => {
  const dir = await tempDir();
  try {
    for (const f of await readdir(FIXTURES)) if (f.endsWith('.npy')) await copyFile(join(FIXTURES, f), join(dir, f));
    await writeNpy(join(dir, 'dff_V1_L4_vip_familiar_omission_train.npy'), { data: new Float32Array(3 * 16), shape: [3, 16] });
    await writeNpy(join(dir, 'dff_LM_L4_sst_familiar_omission_test.npy'), { data: new Int32Array(3 * 15), shape: [3, 15] });
    await assert.rejects(readCelltypeCondition(dir, 'familiar_omission_full'), (e: unknown) => {
      assert.ok(e instanceof CelltypeDataError);
      assert.deepEqual(e.invalid.map((v) => v.file), ['dff_V1_L4_vip_familiar_omission_train.npy', 'dff_LM_L4_sst_familiar_omission_test.npy']);
      assert.match(e.message, /dff_V1_L4_vip_familiar_omission_train\.npy: shape \(3, 16\), expected \(samples, 15\)/);
      assert.match(e.message, /dff_LM_L4_sst_familiar_omission_test\.npy: dtype int32, expected float32 or float64/);
      return true;
    });
    await writeNpy(join(dir, 'dff_V1_L4_vip_familiar_omission_train.npy'), { data: new Float32Array(4 * 15), shape: [4, 15] });
    await writeNpy(join(dir, 'dff_LM_L4_sst_familiar_omission_test.npy'), { data: new Float64Array(3 * 15), shape: [3, 15] });
    await assert.rejects(readCelltypeCondition(dir, 'familiar_omission_full'), /dff_V1_L4_vip_familiar_omission_train\.npy: 4 samples, but dff_V1_L4_pyr_familiar_omission_train\.npy has 3/);
    await assert.rejects(readCelltypeCondition(FIXTURES, 'familiar_omission_full', { samples: 2000 }), /expected \(2000, 15\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('synthetic dataset round-trips through the reader and equals the in-memory generator', async () => {
  const dir = await tempDir();
  try {
    const opts = { seed: 4, nSamples: 12, nDraws: 10 };
    const written = await generateSyntheticDataset(dir, { ...opts, conditions: ['novel_omission_full', 'novel_omission_half'], dtype: 'float32' });
    assert.equal(written.length, 36);
    const read = await readCelltypeCondition(dir, 'novel_omission_half', { samples: 12 });
    const mem = syntheticCelltypeData('novel_omission_half', opts);
    assert.equal(read.T, 7);
    assert.deepEqual(read.x, mem.x); // float32 files = float32 dataset values
    assert.deepEqual(read.target, mem.target);
    assert.ok(read.x.every(Number.isFinite));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('synthetic change and no change differ only downstream of the feedforward band: same V1 and LM L5, LM L4 about 10x larger on change', () => {
  const opts = { seed: 1, nSamples: 30, nDraws: 20 };
  const change = syntheticCelltypeData('familiar_change_full', opts);
  const same = syntheticCelltypeData('familiar_no_change_full', opts);
  const omission = syntheticCelltypeData('familiar_omission_full', opts);
  // Mean input of a population's channel at frame t.
  const at = (d: typeof change, t: number, area: 'V1' | 'LM', layer: 'L4' | 'L23' | 'L5'): number => {
    const k = populationIndex(area, layer, 'Pyr');
    let s = 0;
    for (let b = 0; b < d.n; b++) s += d.x[(b * d.T + t) * 18 + k];
    return s / d.n;
  };
  // Equal up to the noise of different draws: 10 % plus 0.01 ΔF/F.
  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 0.1 * Math.max(Math.abs(a), Math.abs(b)) + 0.01, `${what}: ${a} vs ${b}`);
  // The same visual drive (second image at frames 7-8 on change and on no change, none on omission).
  close(at(change, 9, 'V1', 'L4'), at(same, 9, 'V1', 'L4'), 'V1 L4 Pyr, frame 9');
  assert.ok(at(omission, 9, 'V1', 'L4') < 0.5 * at(same, 9, 'V1', 'L4'));
  // Everything the feedback bands see is the same: V1 L2/3 and L5, LM L5 Pyr.
  for (const t of [5, 11]) {
    close(at(change, t, 'V1', 'L23'), at(same, t, 'V1', 'L23'), `V1 L2/3 Pyr, frame ${t}`);
    close(at(change, t, 'V1', 'L5'), at(same, t, 'V1', 'L5'), `V1 L5 Pyr, frame ${t}`);
    close(at(change, t, 'LM', 'L5'), at(same, t, 'LM', 'L5'), `LM L5 Pyr, frame ${t}`);
    // LM L4 follows V1 L2/3 Pyr with the planted coupling (1 vs 0.1).
    assert.ok(at(change, t, 'LM', 'L4') > 5 * at(same, t, 'LM', 'L4'), `LM L4 Pyr, frame ${t}: ${at(change, t, 'LM', 'L4')} vs ${at(same, t, 'LM', 'L4')}`);
  }
  // The coupling is the only difference: with no change's coupling, change's LM L4 is no change's.
  const flat = syntheticCelltypeData('familiar_change_full', { ...opts, feedforwardGain: { familiar_change: SYNTHETIC_FEEDFORWARD_GAIN.no_change } });
  close(at(flat, 5, 'LM', 'L4'), at(same, 5, 'LM', 'L4'), 'LM L4 Pyr at equal couplings, frame 5');
});

test('splitCelltypeData: all samples for both by default; a disjoint held-out tail otherwise', () => {
  const d = syntheticCelltypeData('familiar_change_half', { seed: 2, nSamples: 10, nDraws: 5 });
  const a = splitCelltypeData(d);
  assert.equal(a.train.n, 10);
  assert.equal(a.test.n, 10);
  const b = splitCelltypeData(d, 6, 4);
  assert.equal(b.train.n, 6);
  assert.equal(b.test.n, 4);
  const batch = b.test.batch([0]);
  assert.deepEqual(batch.x, d.x.slice(6 * 7 * 18, 7 * 7 * 18));
  assert.throws(() => splitCelltypeData(d, 8, 4), CelltypeDataError);
});

test('reader reports a file that is not .npy at all', async () => {
  const dir = await tempDir();
  try {
    for (const f of await readdir(FIXTURES)) if (f.endsWith('.npy')) await copyFile(join(FIXTURES, f), join(dir, f));
    await writeFile(join(dir, 'dff_LM_L23_pyr_familiar_omission_test.npy'), 'not numpy');
    await assert.rejects(readCelltypeCondition(dir, 'familiar_omission_half'), /1 malformed file\(s\): dff_LM_L23_pyr_familiar_omission_test\.npy: .*not a \.npy file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('checkCelltypeFiles lists, from the .npy headers only, every missing or malformed file of a condition and what is expected', async () => {
  const dir = await tempDir();
  try {
    // The numpy fixtures (3 samples each) pass, for both windows of their file condition.
    for (const f of await readdir(FIXTURES)) if (f.endsWith('.npy')) await copyFile(join(FIXTURES, f), join(dir, f));
    assert.deepEqual(checkCelltypeFiles(dir, 'familiar_omission_full'), []);
    assert.deepEqual(checkCelltypeFiles(dir, 'familiar_omission_half', { minSamples: 3 }), []);
    // Too few samples for the runs (nTrain + nTest): every file is named.
    const few = checkCelltypeFiles(dir, 'familiar_omission_full', { minSamples: 2000 });
    assert.equal(few.length, 36);
    assert.match(few[0].problem, /^3 samples; expected at least 2000 \(the sweep's nTrain \+ nTest for condition familiar_omission_full\)$/);

    // A missing file, a wrong dtype, a wrong shape, a truncated file, text, a folder, and one
    // file with a different number of samples: each named once, with what is expected.
    const f = (pop: string, split: string) => join(dir, `dff_${pop}_familiar_omission_${split}.npy`);
    await unlink(f('V1_L23_sst', 'test'));
    await writeNpy(f('LM_L4_sst', 'test'), { data: new Int32Array(3 * 15), shape: [3, 15] });
    await writeNpy(f('V1_L4_vip', 'train'), { data: new Float32Array(3 * 16), shape: [3, 16] });
    const full = encodeNpy({ data: new Float64Array(3 * 15), shape: [3, 15] });
    await writeFile(f('LM_L5_pyr', 'train'), full.subarray(0, full.length - 8));
    await writeFile(f('LM_L23_pyr', 'test'), 'not numpy');
    await unlink(f('LM_L23_vip', 'train'));
    await mkdir(f('LM_L23_vip', 'train'));
    await writeNpy(f('V1_L5_pyr', 'test'), { data: new Float32Array(4 * 15), shape: [4, 15] });
    const problems = checkCelltypeFiles(dir, 'familiar_omission_full');
    const byFile = new Map(problems.map((p) => [p.file, p.problem]));
    assert.equal(problems.length, 7, problems.map((p) => `${p.file}: ${p.problem}`).join('\n'));
    assert.match(byFile.get(f('V1_L23_sst', 'test'))!, /^missing; expected one of the authors' cell-type files, a float32 or float64 \.npy array \(samples, 15\)/);
    assert.match(byFile.get(f('LM_L4_sst', 'test'))!, /^dtype int32, expected float32 or float64/);
    assert.match(byFile.get(f('V1_L4_vip', 'train'))!, /^shape \(3, 16\), expected \(samples, 15\)/);
    assert.match(byFile.get(f('LM_L5_pyr', 'train'))!, /^truncated data: .*; expected one of the authors' cell-type files/);
    assert.match(byFile.get(f('LM_L23_pyr', 'test'))!, /^not a \.npy file/);
    assert.match(byFile.get(f('LM_L23_vip', 'train'))!, /^is not a regular file/);
    assert.match(byFile.get(f('V1_L5_pyr', 'test'))!, /^4 samples; expected the same number as the other files of the condition \(3, e\.g\. /);

    // A missing folder is one problem, not 36.
    assert.deepEqual(checkCelltypeFiles(join(dir, 'nope'), 'novel_change_half').map((p) => p.file), [join(dir, 'nope')]);
    assert.match(checkCelltypeFiles(join(dir, 'nope'), 'novel_change_half')[0].problem, /^cell-type data folder does not exist; expected a folder holding the 36 files dff_\{V1\|LM\}_.*_novel_change_\{train\|test\}\.npy/);
    assert.throws(() => checkCelltypeFiles(dir, 'familiar_sometimes'), CelltypeConditionError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
