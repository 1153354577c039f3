/**
 * Gradient-check helpers shared by the backend tests: central finite differences of the float64
 * reference loss, and a closeness assertion in norm and per entry.
 */
import assert from 'node:assert/strict';
import { referenceLossAndGrad, type Params64 } from './reference-testing.js';
import { PARAM_NAMES, type Batch, type ModelConfig } from './types.js';

/**
 * Central differences (step h) of the float64 reference loss for every parameter entry: the
 * model's exact gradient up to O(h²). `p64` is perturbed in place and restored.
 */
export function fdGrad(cfg: ModelConfig, p64: Params64, batch: Batch, h = 1e-6): Params64 {
  const g = {} as Params64;
  for (const k of PARAM_NAMES) {
    g[k] = new Float64Array(p64[k].length);
    for (let i = 0; i < p64[k].length; i++) {
      const v = p64[k][i];
      p64[k][i] = v + h;
      const lp = referenceLossAndGrad(cfg, p64, batch, false).loss;
      p64[k][i] = v - h;
      const lm = referenceLossAndGrad(cfg, p64, batch, false).loss;
      p64[k][i] = v;
      g[k][i] = (lp - lm) / (2 * h);
    }
  }
  return g;
}

/**
 * Asserts relative error in norm ≤ `rel` (or an absolute norm error ≤ 1e-7) and every entry within
 * max(atolScale · max|want|, 1e-7).
 */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel: number, atolScale: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let num = 0;
  let den = 0;
  let mx = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
    mx = Math.max(mx, Math.abs(want[i]));
  }
  const relErr = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  assert.ok(relErr <= rel || Math.sqrt(num) <= 1e-7, `${what}: relative error ${relErr} > ${rel}`);
  const atol = Math.max(atolScale * mx, 1e-7);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= atol, `${what}[${i}]: got ${got[i]}, want ${want[i]} (atol ${atol})`);
  }
}
