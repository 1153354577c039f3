import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WaveOptionsError, waveMasks, waveParams, waveTask, waveValues } from './wave.js';

test('wave datasets: shapes, next-sample targets and the formulas of both fidelities', () => {
  const seed = 3;
  const t = waveTask(seed, { nTrain: 20, nTest: 10 });
  assert.equal(t.train.n, 20);
  assert.equal(t.test.n, 10);
  assert.equal(t.train.T, 500);
  assert.equal(t.train.nIn, 2);
  assert.equal(t.train.nOut, 2);
  assert.equal(t.train.classification, false);
  assert.equal(t.series.length, 2 * 2500);
  const b = t.train.batch([4, 0, 19]);
  assert.equal(b.x.length, 3 * 500 * 2);
  assert.equal(b.target.length, 3 * 500 * 2);
  const p = waveParams(seed);
  const s = t.train.starts[4];
  for (const step of [0, 1, 250, 499]) {
    const v = waveValues(p, (s + step) * 0.2);
    const next = waveValues(p, (s + step + 1) * 0.2);
    assert.ok(Math.abs(b.x[step * 2] - v.e) < 1e-5);
    assert.ok(Math.abs(b.x[step * 2 + 1] - v.i) < 1e-5);
    assert.ok(Math.abs(b.target[step * 2] - next.e) < 1e-5);
    assert.ok(Math.abs(b.target[step * 2 + 1] - next.i) < 1e-5);
    if (step < 499) assert.equal(b.target[step * 2], b.x[(step + 1) * 2], 'target is the next input sample');
  }
  // Spot-check the formulas themselves.
  const tt = 13.4;
  const corrected = waveValues(p, tt, 'corrected');
  const e = 1.5 * Math.sin((p.a * Math.PI * tt) / 50) + 0.5 * Math.sin((p.b * Math.PI * tt) / 50);
  const i = 0.75 * Math.sin((p.c * Math.PI * tt) / 50 + p.phi) + 1.875 * Math.sin((p.d * Math.PI * tt) / 50 + p.phi);
  assert.ok(Math.abs(corrected.e - e) < 1e-12 && Math.abs(corrected.i - i) < 1e-12);
  const paper = waveValues(p, tt, 'paper-code');
  assert.ok(Math.abs(paper.e - 1.5 * Math.sin((p.a * Math.PI * tt) / 50)) < 1e-12);
  assert.ok(Math.abs(paper.i - 0.75 * Math.sin((p.c * Math.PI * tt) / 50 + p.phi)) < 1e-12);
  const pc = waveTask(seed, { nTrain: 2, nTest: 2, fidelity: 'paper-code' });
  assert.ok(Math.abs(pc.series[2 * 7] - 1.5 * Math.sin((p.a * Math.PI * 7 * 0.2) / 50)) < 1e-6);
});

test('wave parameters stay in range and datasets are deterministic per seed', () => {
  const seen = { a: new Set<number>(), k: new Set<number>() };
  for (let seed = 0; seed < 200; seed++) {
    const p = waveParams(seed);
    for (const v of [p.a, p.b, p.c, p.d]) assert.ok(Number.isInteger(v) && v >= 1 && v <= 5);
    assert.ok(p.k >= 4 && p.k <= 6);
    assert.equal(p.phi, (-p.k * Math.PI) / 6);
    seen.a.add(p.a);
    seen.k.add(p.k);
  }
  assert.equal(seen.a.size, 5);
  assert.equal(seen.k.size, 3);
  const a = waveTask(9, { nTrain: 8, nTest: 8, T: 50 });
  const b = waveTask(9, { nTrain: 8, nTest: 8, T: 50 });
  const c = waveTask(10, { nTrain: 8, nTest: 8, T: 50 });
  const idx = [0, 1, 2, 3, 4, 5, 6, 7];
  assert.deepEqual(a.train.batch(idx).x, b.train.batch(idx).x);
  assert.notDeepEqual(a.train.batch(idx).x, c.train.batch(idx).x);
  assert.notDeepEqual(a.train.starts, a.test.starts, 'train and test windows differ');
  for (const s of a.train.starts) assert.ok(s >= 0 && s < 2500 - 50);
  assert.throws(() => waveTask(1, { T: 3000 }), WaveOptionsError);
  assert.throws(() => waveTask(1, { nTrain: 0 }), WaveOptionsError);
});

test('wave masks: readout row 0 reads E units, row 1 I units; input mask only when corrected', () => {
  const N = 10;
  const nExc = 8;
  const m = waveMasks(N, nExc);
  assert.deepEqual(Array.from(m.readout!), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
  const input = m.input!;
  for (let j = 0; j < N; j++) assert.deepEqual([input[j * 2], input[j * 2 + 1]], j < nExc ? [1, 0] : [0, 1]);
  const pc = waveMasks(N, nExc, 'paper-code');
  assert.equal(pc.input, undefined);
  assert.deepEqual(pc.readout, m.readout);
  assert.throws(() => waveMasks(4, 5), WaveOptionsError);
});

test('paper-code: the E and I windows start at independent random offsets (the authors chunk each wave separately)', () => {
  const seed = 4;
  const T = 50;
  const pc = waveTask(seed, { nTrain: 30, nTest: 20, T, fidelity: 'paper-code' });
  const co = waveTask(seed, { nTrain: 30, nTest: 20, T });
  for (const [ds, other] of [
    [pc.train, co.train],
    [pc.test, co.test],
  ] as const) {
    const startsI = ds.startsI;
    assert.equal(startsI.length, ds.n);
    // The E windows are the corrected ones; the I windows have their own starts in [0, L - T).
    assert.deepEqual(ds.starts, other.starts);
    assert.ok(startsI.some((s, q) => s !== ds.starts[q]), 'I starts differ from E starts');
    for (const s of startsI) assert.ok(s >= 0 && s < 2500 - T);
    const idx = Array.from({ length: ds.n }, (_, q) => q);
    const b = ds.batch(idx);
    for (let q = 0; q < ds.n; q++) {
      for (const step of [0, 17, T - 1]) {
        const o = (q * T + step) * 2;
        assert.equal(b.x[o], pc.series[2 * (ds.starts[q] + step)], 'E input from the E start');
        assert.equal(b.x[o + 1], pc.series[2 * (startsI[q] + step) + 1], 'I input from the I start');
        assert.equal(b.target[o], pc.series[2 * (ds.starts[q] + step + 1)], 'E target: next E sample');
        assert.equal(b.target[o + 1], pc.series[2 * (startsI[q] + step + 1) + 1], 'I target: next I sample');
      }
    }
    // corrected: one start per window for both waves.
    assert.deepEqual(other.startsI, other.starts);
  }
  assert.notDeepEqual(pc.train.startsI, pc.test.startsI);
});
