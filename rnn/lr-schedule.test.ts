import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTHORS_COSINE, cosineRecursive, learningRateAt, LrScheduleError, validateLrSchedule, type LrSchedule } from './lr-schedule.js';

const close = (a: number, b: number, rel = 1e-12): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

test("cosine schedule = PyTorch's closed form eta_min + (eta_max - eta_min)(1 + cos(pi t / T_max)) / 2, cycling past T_max", () => {
  const s: LrSchedule = { kind: 'cosine', ...AUTHORS_COSINE };
  assert.deepEqual(AUTHORS_COSINE, { tMax: 10, etaMin: 1e-4 });
  // Hand values for eta_max = 1e-3, T_max = 10, eta_min = 1e-4 (the authors' setting).
  const want: [number, number][] = [
    [0, 1e-3], // first epoch: the optimiser's own lr
    [1, 1e-4 + 9e-4 * (1 + Math.cos(Math.PI / 10)) / 2],
    [5, 5.5e-4], // cos(pi/2) = 0
    [10, 1e-4], // T_max: eta_min
    [11, 1e-4 + 9e-4 * (1 - Math.cos(Math.PI / 10)) / 2], // climbing again (no restart, no clamp)
    [15, 5.5e-4],
    [20, 1e-3], // 2 T_max: back at eta_max
    [25, 5.5e-4],
    [30, 1e-4],
    [37, 1e-4 + 9e-4 * (1 + Math.cos((3 * Math.PI) / 10)) / 2], // 37 = 2 T_max + 17, cos(17 pi / 10) = cos(3 pi / 10)
  ];
  for (const [t, lr] of want) assert.ok(close(learningRateAt(1e-3, s, t), lr), `t = ${t}: ${learningRateAt(1e-3, s, t)} vs ${lr}`);
  // Periodic with period 2 T_max, symmetric about T_max.
  for (let t = 0; t < 20; t++) {
    assert.ok(close(learningRateAt(1e-3, s, t), learningRateAt(1e-3, s, t + 20)), `period at ${t}`);
    assert.ok(close(learningRateAt(1e-3, s, t), learningRateAt(1e-3, s, 20 - t)), `symmetry at ${t}`);
  }
  // Never outside [eta_min, eta_max].
  for (let t = 0; t < 100; t++) {
    const v = learningRateAt(1e-3, s, t);
    assert.ok(v >= 1e-4 - 1e-18 && v <= 1e-3 + 1e-18, `t = ${t}: ${v}`);
  }
});

test("PyTorch's recursive form (what scheduler.step() evaluates, special case at t = T_max + 1 + 2kT_max included) agrees with the closed form", () => {
  for (const [lr, tMax, etaMin] of [[1e-3, 10, 1e-4], [0.01, 3, 0], [5e-4, 1, 1e-5], [1e-3, 7, 2e-4]] as const) {
    const rec = cosineRecursive(lr, tMax, etaMin, 5 * tMax + 3);
    rec.forEach((v, t) => assert.ok(close(v, learningRateAt(lr, { kind: 'cosine', tMax, etaMin }, t), 1e-13) || Math.abs(v - etaMin) < 1e-18, `lr ${lr} T ${tMax} eta_min ${etaMin} t ${t}: recursive ${v} vs closed ${learningRateAt(lr, { kind: 'cosine', tMax, etaMin }, t)}`));
  }
});

test('constant schedule and validation', () => {
  assert.equal(learningRateAt(0.003, { kind: 'constant' }, 17), 0.003);
  assert.throws(() => validateLrSchedule({ kind: 'cosine', tMax: 0, etaMin: 0 }), LrScheduleError);
  assert.throws(() => validateLrSchedule({ kind: 'cosine', tMax: 2.5, etaMin: 0 }), /tMax must be an integer/);
  assert.throws(() => validateLrSchedule({ kind: 'cosine', tMax: 10, etaMin: -1 }), /etaMin/);
  validateLrSchedule({ kind: 'constant' });
});
