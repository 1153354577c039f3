/**
 * The lists the activity-sparse products of the `js` backend read (rnn/model-js.ts,
 * rnn/activity-kernels.ts): per step, each row's active units by residue (the forward product),
 * each column's active rows (the backward product), and over all steps each column's active
 * samples by chunk (the W_hh gradient). Plain JavaScript over typed arrays of the kernel memory.
 */
import { TN_CHUNK } from './model-js-simd.js';

/** How many of the n floats a[off …] are greater than th: the entries {@link buildRowLists} would list. */
export function countAbove(a: Float32Array, off: number, n: number, th: number): number {
  let c = 0;
  for (let k = off; k < off + n; k++) if (a[k] > th) c++;
  return c;
}

/**
 * Row lists of the active units of one step for SimdGemm.spFwdJob: for each row b < B of
 * the [B, N] block of `a` at element offset `off`, the columns k with a[b, k] > th (where the
 * rectified state r is nonzero), as byte offsets 4k into idx[idxOff …] and the states r[b, k] at
 * the same places of `vals`, grouped by k mod 4 (each group in increasing k): group l of row b is idx[idxOff + starts[stOff + 4b + l] …
 * idxOff + starts[stOff + 4b + l + 1]). Returns the number of entries.
 */
export function buildRowLists(
  a: Float32Array, r: Float32Array, off: number, B: number, N: number, th: number,
  idx: Int32Array, vals: Float32Array, idxOff: number, starts: Int32Array, stOff: number,
): number {
  let e = idxOff;
  for (let b = 0; b < B; b++) {
    const ro = off + b * N;
    const so = stOff + 4 * b;
    for (let l = 0; l < 4; l++) {
      starts[so + l] = e - idxOff;
      for (let k = l; k < N; k += 4) {
        if (a[ro + k] > th) {
          idx[e] = 4 * k;
          vals[e++] = r[ro + k];
        }
      }
    }
  }
  e -= idxOff;
  starts[stOff + 4 * B] = e;
  return e;
}

/**
 * Column lists of one step's row lists (see {@link buildRowLists}) for SimdGemm.spBwdJob: for
 * each column j, the rows b listed with j, in increasing b, as byte offsets b·N·4 in
 * out[cs[j] … cs[j + 1]). `pos` is scratch of N entries.
 */
export function buildColumnLists(idx: Int32Array, idxOff: number, starts: Int32Array, stOff: number, B: number, N: number, out: Int32Array, cs: Int32Array, pos: Int32Array): void {
  const nnz = starts[stOff + 4 * B];
  cs.fill(0, 0, N + 1);
  for (let e = 0; e < nnz; e++) cs[(idx[idxOff + e] >> 2) + 1]++;
  for (let j = 0; j < N; j++) cs[j + 1] += cs[j];
  pos.set(cs.subarray(0, N));
  for (let b = 0; b < B; b++) {
    const row = b * N * 4;
    const e1 = idxOff + starts[stOff + 4 * b + 4];
    for (let e = idxOff + starts[stOff + 4 * b]; e < e1; e++) out[pos[idx[e] >> 2]++] = row;
  }
}

/**
 * Sample lists of steps 0 … steps − 1 (each with row lists, see {@link buildRowLists}, at
 * idx[t·B·N …] and starts[t·(4B + 1) …]) for SimdGemm.spDwJob: sample q = t·B + b, chunk
 * c = ⌊q / TN_CHUNK⌋; for each chunk c and column j, the samples of the chunk listed with j in
 * increasing q, as byte offsets q·rowBytes and their states in outVals, at
 * out[cs[c·N + j] … cs[c·N + j + 1]). `cs` and `pos` have nC·N + 1 entries. Returns nC.
 */
export function buildSampleLists(
  idx: Int32Array, vals: Float32Array, starts: Int32Array, steps: number, B: number, N: number, rowBytes: number,
  out: Int32Array, outVals: Float32Array, cs: Int32Array, pos: Int32Array,
): number {
  const nC = Math.ceil((steps * B) / TN_CHUNK);
  const BN = B * N;
  const S = 4 * B + 1;
  cs.fill(0, 0, nC * N + 1);
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < B; b++) {
      const c = Math.floor((t * B + b) / TN_CHUNK) * N + 1;
      const e1 = t * BN + starts[t * S + 4 * b + 4];
      for (let e = t * BN + starts[t * S + 4 * b]; e < e1; e++) cs[c + (idx[e] >> 2)]++;
    }
  }
  for (let x = 0; x < nC * N; x++) cs[x + 1] += cs[x];
  pos.set(cs.subarray(0, nC * N));
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < B; b++) {
      const q = t * B + b;
      const c = Math.floor(q / TN_CHUNK) * N;
      const row = q * rowBytes;
      const e1 = t * BN + starts[t * S + 4 * b + 4];
      for (let e = t * BN + starts[t * S + 4 * b]; e < e1; e++) {
        const at = pos[c + (idx[e] >> 2)]++;
        out[at] = row;
        outVals[at] = vals[e];
      }
    }
  }
  return nC;
}
