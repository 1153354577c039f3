/**
 * Seeded pseudo-random numbers: every random draw in dalesweep goes through {@link Rng}.
 *
 * The generator is xoshiro128** (32-bit state words, fast in JS), seeded through splitmix32 from
 * a numeric seed and a stream name, so that independent consumers (initialisation, data,
 * pruning, batch order) draw from independent streams and adding a draw in one place never
 * shifts the numbers of another.
 */

/** FNV-1a 32-bit hash of a string, used to turn a stream name into seed material. */
export function hashString32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seeded random stream. Not cryptographic. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  /**
   * @param seed integer seed (any safe integer; the low and high 32 bits are both used)
   * @param stream name of the stream, e.g. `"init"`, `"data:train"`, `"prune"`
   */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const st = { s: (lo ^ Math.imul(hi, 0x9e3779b1) ^ hashString32(stream)) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float64 in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float64 in [lo, hi). */
  uniformRange(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n) without modulo bias. */
  int(n: number): number {
    if (!(n > 0) || n > 4294967296) throw new RangeError(`int(n) needs 0 < n <= 2^32, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box-Muller, polar form). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * m;
    return u * m;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /**
   * Moves the stream `steps` draws of {@link nextU32} ahead in O(log steps) time (xoshiro128** is
   * linear over GF(2): the state is multiplied by the step matrix raised to `steps`, from cached
   * powers M^(2^i)). The numbers drawn afterwards are exactly those `steps` calls of nextU32 would
   * have left; a pending spare normal (from {@link normal}) is kept.
   * @param steps non-negative safe integer
   */
  advance(steps: number): void {
    if (!Number.isSafeInteger(steps) || steps < 0) throw new RangeError(`advance(steps) needs a non-negative safe integer, got ${steps}`);
    let v = [this.a | 0, this.b | 0, this.c | 0, this.d | 0];
    let k = steps;
    for (let i = 0; k > 0; i++, k = Math.floor(k / 2)) {
      if (k % 2 === 1) v = applyMatrix(stepMatrixPower(i), v);
    }
    [this.a, this.b, this.c, this.d] = v;
  }

  /**
   * Skips the draws of `count` calls of {@link permutation}(n): each consumes exactly
   * 2·max(n − 1, 0) draws of nextU32 (Fisher-Yates with {@link int}, two words per uniform), so
   * the next permutation is the one the (count + 1)-th call would have returned.
   */
  skipPermutations(n: number, count: number): void {
    this.advance(2 * Math.max(n - 1, 0) * count);
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** Fill `out` with U(lo, hi) draws (float32). */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }
}

/** The state transition of nextU32 on (a, b, c, d) alone (the output is not needed). */
function stepState(v: number[]): number[] {
  let [a, b, c, d] = v;
  const t = b << 9;
  c ^= a;
  d ^= b;
  b ^= c;
  a ^= d;
  c ^= t;
  d = rotl(d, 11);
  return [a | 0, b | 0, c | 0, d | 0];
}

/**
 * A 128×128 matrix over GF(2) as its 128 columns, column k = 4 words: the image of state bit k
 * (word k >> 5, bit k & 31).
 */
type Gf2Matrix = Int32Array;

function applyMatrix(m: Gf2Matrix, v: number[]): number[] {
  let r0 = 0, r1 = 0, r2 = 0, r3 = 0;
  for (let w = 0; w < 4; w++) {
    let x = v[w];
    for (let bit = 0; x !== 0; bit++, x >>>= 1) {
      if ((x & 1) === 0) continue;
      const o = ((w << 5) + bit) * 4;
      r0 ^= m[o]; r1 ^= m[o + 1]; r2 ^= m[o + 2]; r3 ^= m[o + 3];
    }
  }
  return [r0, r1, r2, r3];
}

/** M^(2^i) for i = 0, 1, …: the step matrix and its repeated squares, made on first use. */
const stepPowers: Gf2Matrix[] = [];

function stepMatrixPower(i: number): Gf2Matrix {
  if (stepPowers.length === 0) {
    const m = new Int32Array(128 * 4);
    for (let k = 0; k < 128; k++) {
      const e = [0, 0, 0, 0];
      e[k >> 5] = 1 << (k & 31);
      m.set(stepState(e), k * 4);
    }
    stepPowers.push(m);
  }
  while (stepPowers.length <= i) {
    const p = stepPowers[stepPowers.length - 1];
    const sq = new Int32Array(128 * 4);
    for (let k = 0; k < 128; k++) sq.set(applyMatrix(p, Array.from(p.subarray(k * 4, k * 4 + 4))), k * 4);
    stepPowers.push(sq);
  }
  return stepPowers[i];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
