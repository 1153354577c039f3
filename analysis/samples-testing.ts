/**
 * The two deterministic samples the histogram and KL tests compare with numpy/scipy reference
 * values (the Python expressions are in histogram.test.ts). A module of their own so that
 * kl.test.ts does not import histogram.test.ts, which ran those tests a second time.
 */

/** 500 values: ((i·37) mod 101)/101 − 0.3. */
export const A: readonly number[] = Array.from({ length: 500 }, (_, i) => ((i * 37) % 101) / 101 - 0.3);
/** 400 values: (((i·53) mod 97)/97)² · 0.8 − 0.1. */
export const B: readonly number[] = Array.from({ length: 400 }, (_, i) => (((i * 53) % 97) / 97) * (((i * 53) % 97) / 97) * 0.8 - 0.1);
