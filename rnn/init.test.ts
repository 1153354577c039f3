import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelConfigError, defaultModelConfig, effectiveRecurrent, initParams } from './init.js';
import type { Fidelity, Rule } from './types.js';

const VARIANTS: { rule: Rule; fidelity: Fidelity }[] = [
  { rule: 'conventional', fidelity: 'corrected' },
  { rule: 'dale', fidelity: 'corrected' },
  { rule: 'rectified', fidelity: 'corrected' },
  { rule: 'rectified', fidelity: 'paper-code' },
  { rule: 'dale', fidelity: 'paper-code' },
];

test('identical initial effective W_hh for all rules at the same seed; different seeds differ', () => {
  const mats = VARIANTS.map((v) => {
    const cfg = defaultModelConfig({ nHidden: 20, ...v });
    return { cfg, p: initParams(cfg, 42) };
  });
  const w0 = effectiveRecurrent(mats[0].cfg, mats[0].p);
  for (const { cfg, p } of mats) {
    assert.deepEqual(effectiveRecurrent(cfg, p), w0);
    assert.deepEqual(p.wIn, mats[0].p.wIn);
    assert.deepEqual(p.wOut, mats[0].p.wOut);
  }
  const other = initParams(mats[0].cfg, 43);
  assert.notDeepEqual(effectiveRecurrent(mats[0].cfg, other), w0);
});

test('init ranges: E columns in [0, 1/sqrt N), I columns in (-1/sqrt N, 0]; others within 1/sqrt N', () => {
  const cfg = defaultModelConfig({ nHidden: 50, nInput: 3, nOutput: 4, rule: 'dale' });
  assert.equal(cfg.nExc, 40);
  const p = initParams(cfg, 7);
  const k = 1 / Math.sqrt(50);
  for (let i = 0; i < 50; i++) {
    for (let j = 0; j < 50; j++) {
      const w = p.wHh[i * 50 + j];
      if (j < 40) assert.ok(w >= 0 && w < k);
      else assert.ok(w <= 0 && w > -k);
    }
  }
  for (const t of [p.wIn, p.bIn, p.bHh, p.wOut, p.bOut]) for (const v of t) assert.ok(Math.abs(v) <= k);
  // Not degenerate: both halves of the range are used.
  assert.ok(p.wIn.some((v) => v > k / 2) && p.wIn.some((v) => v < -k / 2));
});

test('rectified/corrected stores W~ = |W_init| (non-negative) and W_eff = |W~| D', () => {
  const cfg = defaultModelConfig({ nHidden: 10, rule: 'rectified', fidelity: 'corrected' });
  const p = initParams(cfg, 1);
  assert.ok(p.wHh.every((v) => v >= 0));
  const w = effectiveRecurrent(cfg, p);
  for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) assert.equal(w[i * 10 + j], j < cfg.nExc ? p.wHh[i * 10 + j] : -p.wHh[i * 10 + j]);
});

test('defaultModelConfig validates its fields', () => {
  assert.throws(() => defaultModelConfig({ nHidden: 0 }), ModelConfigError);
  assert.throws(() => defaultModelConfig({ nHidden: 4, nExc: 5 }), ModelConfigError);
  assert.throws(() => defaultModelConfig({ head: 'wave-ei', nOutput: 3 }), ModelConfigError);
  assert.equal(defaultModelConfig({ nHidden: 128 }).nExc, 102);
});

test('wave-ei readouts, paper-code: PyTorch Linear init with fan-in nExc (E readout) and N - nExc (I readout), not N', () => {
  // The authors' readouts are nn.Linear(round(0.8 N), 1) on the E units and nn.Linear(round(0.2 N), 1)
  // on the I units: weights and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in 102 and 26 at N = 128.
  const N = 128;
  const base = { nInput: 2, nHidden: N, nOutput: 2, head: 'wave-ei' as const, rule: 'dale' as const };
  const pc = initParams(defaultModelConfig({ ...base, fidelity: 'paper-code' }), 5);
  const co = initParams(defaultModelConfig({ ...base, fidelity: 'corrected' }), 5);
  const nExc = 102;
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-6 * Math.max(1e-3, Math.abs(b));
  // Same uniforms, scaled: u (2/sqrt(fan_in)) - 1/sqrt(fan_in), so w sqrt(fan_in) is the same for both.
  for (let j = 0; j < N; j++) {
    const e = pc.wOut[j];
    const i = pc.wOut[N + j];
    if (j < nExc) {
      assert.ok(close(e * Math.sqrt(nExc), co.wOut[j] * Math.sqrt(N)), `E readout ${j}: ${e}`);
      assert.equal(i, 0, 'the I readout has no weight on E units');
    } else {
      assert.ok(close(i * Math.sqrt(N - nExc), co.wOut[N + j] * Math.sqrt(N)), `I readout ${j}: ${i}`);
      assert.equal(e, 0, 'the E readout has no weight on I units');
    }
  }
  assert.ok(close(pc.bOut[0] * Math.sqrt(nExc), co.bOut[0] * Math.sqrt(N)));
  assert.ok(close(pc.bOut[1] * Math.sqrt(N - nExc), co.bOut[1] * Math.sqrt(N)));
  // The I readout really uses the wider range 1/sqrt(26) > 1/sqrt(128).
  assert.ok(pc.wOut.subarray(N + nExc).some((v) => Math.abs(v) > 1 / Math.sqrt(N)));
  // Everything else is drawn as in corrected (same stream).
  assert.deepEqual(pc.wIn, co.wIn);
  assert.deepEqual(pc.wHh, co.wHh);
  assert.deepEqual(pc.bHh, co.bHh);
  // Other heads and corrected wave-ei keep fan-in N.
  const lin = initParams(defaultModelConfig({ ...base, head: 'linear', fidelity: 'paper-code' }), 5);
  assert.deepEqual(lin.wOut, co.wOut);
});
