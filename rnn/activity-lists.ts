/**
 * The JavaScript forms of the activity-sparse products' list kernels (rnn/model-js.ts,
 * rnn/activity-kernels.ts): each step's active units counted, and listed per row by residue (the
 * forward product). (The column lists of the backward product and the W_hh gradient are made
 * from the row lists by SimdGemm.columnLists only: the activity-sparse path runs on the SIMD
 * kernels.)
 */

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
