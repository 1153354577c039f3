/**
 * The float64 reference of the model (tests only): the forward pass and BPTT of rnn/types.ts
 * written as plainly as possible, which the gradient tests of every backend compare with
 * (model-js.test.ts, backend-tfjs.test.ts).
 */
import type { Batch, ModelConfig, Params } from './types.js';
import { rectifiesState, usesAbsParam } from './model-js.js';

/** Parameters in float64, same names and shapes as {@link Params}. */
export interface Params64 {
  wIn: Float64Array;
  bIn: Float64Array;
  wHh: Float64Array;
  bHh: Float64Array;
  wOut: Float64Array;
  bOut: Float64Array;
}

/** Float64 copy of float32 params. */
export function toParams64(p: Params): Params64 {
  return {
    wIn: Float64Array.from(p.wIn),
    bIn: Float64Array.from(p.bIn),
    wHh: Float64Array.from(p.wHh),
    bHh: Float64Array.from(p.bHh),
    wOut: Float64Array.from(p.wOut),
    bOut: Float64Array.from(p.bOut),
  };
}

/**
 * Straightforward float64 forward pass and BPTT of the model in rnn/types.ts (slow; for tests).
 * Returns the loss, the correct count (softmax-last), the minimum distance |a - threshold| over
 * all hidden activations (to detect the rectification kink), and the gradients when `withGrad`.
 */
export function referenceLossAndGrad(
  cfg: ModelConfig,
  p: Params64,
  batch: Batch,
  withGrad: boolean,
): { loss: number; correct?: number; kinkDistance: number; grads?: Params64 } {
  const N = cfg.nHidden;
  const nIn = cfg.nInput;
  const nOut = cfg.nOutput;
  const { B, T, x } = batch;
  const rect = rectifiesState(cfg);
  const th = cfg.threshold;
  const absParam = usesAbsParam(cfg);
  const D = (j: number): number => (j < cfg.nExc ? 1 : -1);
  const W = (i: number, j: number): number => (absParam ? Math.abs(p.wHh[i * N + j]) * D(j) : p.wHh[i * N + j]);
  const softmax = cfg.head === 'softmax-last';
  const A: number[][][] = []; // [t][b][i]
  const R: number[][][] = [];
  const DZ: number[][][] = []; // [t][b][o]
  let loss = 0;
  let correct = 0;
  let kink = Infinity;
  for (let t = 0; t < T; t++) {
    A.push([]);
    R.push([]);
    DZ.push([]);
    for (let b = 0; b < B; b++) {
      const at: number[] = [];
      const rt: number[] = [];
      for (let i = 0; i < N; i++) {
        let s = p.bIn[i] + p.bHh[i];
        for (let k = 0; k < nIn; k++) s += p.wIn[i * nIn + k] * x[(b * T + t) * nIn + k];
        if (t > 0) for (let j = 0; j < N; j++) s += W(i, j) * R[t - 1][b][j];
        const v = Math.tanh(s);
        kink = Math.min(kink, Math.abs(v - th));
        at.push(v);
        rt.push(rect ? (v > th ? v : 0) : v);
      }
      A[t].push(at);
      R[t].push(rt);
      const z: number[] = [];
      for (let o = 0; o < nOut; o++) {
        let s = p.bOut[o];
        for (let i = 0; i < N; i++) s += p.wOut[o * N + i] * at[i];
        z.push(s);
      }
      const dzt = new Array<number>(nOut).fill(0);
      if (!softmax) {
        for (let o = 0; o < nOut; o++) {
          const y = cfg.head === 'tanh' ? Math.tanh(z[o]) : z[o];
          const e = y - batch.target[(b * T + t) * nOut + o];
          loss += (e * e) / (B * T * nOut);
          dzt[o] = ((2 * e) / (B * T * nOut)) * (cfg.head === 'tanh' ? 1 - y * y : 1);
        }
      } else if (t === T - 1) {
        const mx = Math.max(...z);
        const lse = mx + Math.log(z.reduce((acc, v) => acc + Math.exp(v - mx), 0));
        const lab = batch.labels![b];
        loss += (lse - z[lab]) / B;
        if (z.indexOf(mx) === lab) correct++;
        for (let o = 0; o < nOut; o++) dzt[o] = (Math.exp(z[o] - lse) - (o === lab ? 1 : 0)) / B;
      }
      DZ[t].push(dzt);
    }
  }
  const out: { loss: number; correct?: number; kinkDistance: number; grads?: Params64 } = { loss, kinkDistance: kink };
  if (softmax) out.correct = correct;
  if (!withGrad) return out;
  const g: Params64 = {
    wIn: new Float64Array(N * nIn),
    bIn: new Float64Array(N),
    wHh: new Float64Array(N * N),
    bHh: new Float64Array(N),
    wOut: new Float64Array(nOut * N),
    bOut: new Float64Array(nOut),
  };
  for (let b = 0; b < B; b++) {
    let drNext = new Array<number>(N).fill(0); // dLoss/dr_t from step t+1
    for (let t = T - 1; t >= 0; t--) {
      const dpre = new Array<number>(N).fill(0);
      for (let i = 0; i < N; i++) {
        let da = 0;
        for (let o = 0; o < nOut; o++) da += DZ[t][b][o] * p.wOut[o * N + i];
        const v = A[t][b][i];
        da += (rect ? (v > th ? 1 : 0) : 1) * drNext[i];
        dpre[i] = da * (1 - v * v);
      }
      for (let o = 0; o < nOut; o++) {
        g.bOut[o] += DZ[t][b][o];
        for (let i = 0; i < N; i++) g.wOut[o * N + i] += DZ[t][b][o] * A[t][b][i];
      }
      const dr = new Array<number>(N).fill(0);
      for (let i = 0; i < N; i++) {
        g.bIn[i] += dpre[i];
        g.bHh[i] += dpre[i];
        for (let k = 0; k < nIn; k++) g.wIn[i * nIn + k] += dpre[i] * x[(b * T + t) * nIn + k];
        if (t > 0) {
          for (let j = 0; j < N; j++) {
            const w = p.wHh[i * N + j];
            const dWeff = dpre[i] * R[t - 1][b][j];
            g.wHh[i * N + j] += absParam ? dWeff * D(j) * Math.sign(w) : dWeff;
            dr[j] += W(i, j) * dpre[i];
          }
        }
      }
      drNext = dr;
    }
  }
  out.grads = g;
  return out;
}
