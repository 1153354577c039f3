/**
 * Reading and grouping result rows, shared by the aggregation steps: a row's parameter values
 * (absent = null), its phase, group keys and their canonical strings, the order of axis levels,
 * grouping in first-seen order, and the mean ± SEM {@link Band} of samples.
 */
import { mean, sem } from './stats.js';
import type { Band, ParamValue, ResultRow } from './types.js';

/** Invalid aggregation input (message names the row / field). */
export class AggregateError extends Error {
  override name = 'AggregateError';
}

/** The seed parameter: runs that differ only in it are replicates. */
export const SEED = 'seed';

/** Values of some parameters: a group's key. */
export type Key = Record<string, ParamValue>;

/** Human label of a key (only the parameters that vary in the sweep), with `extra` appended. */
export type KeyLabel = (k: Key, extra?: string) => string;

/** Value of parameter `name` in `row`; null when the row does not have it. */
export function pv(row: ResultRow, name: string): ParamValue {
  const v = row.params[name];
  return v === undefined ? null : v;
}

/** The row's phase: its `phase` parameter, else `dense` without a pruning method and `pruned` with one. */
export function phaseOf(row: ResultRow): string {
  const p = pv(row, 'phase');
  if (typeof p === 'string') return p;
  return pv(row, 'pruning') === null ? 'dense' : 'pruned';
}

/** The key of `row` over `names`. */
export function pick(row: ResultRow, names: string[]): Key {
  const k: Key = {};
  for (const n of names) k[n] = pv(row, n);
  return k;
}

/** Canonical string of a key (parameter order does not matter). */
export function keyString(k: Key): string {
  return JSON.stringify(Object.keys(k).sort().map((n) => [n, k[n]]));
}

/** Order of axis levels: null first, numbers numerically, else by string. */
export function compareLevels(a: ParamValue, b: ParamValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/** True for a finite number. */
export function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** `v`, or null when it is not finite (JSON has no NaN or Infinity). */
export function nullable(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Groups items by a string key, keeping first-seen order. */
export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}

/** Mean ± SEM per position of `samples[i]` (null where too few samples: mean needs 1, SEM 2). */
export function band(samples: number[][]): Band {
  return {
    mean: samples.map((s) => (s.length ? nullable(mean(s)) : null)),
    sem: samples.map((s) => (s.length >= 2 ? nullable(sem(s)) : null)),
    n: samples.map((s) => s.length),
  };
}

/** The row's sparsity when it is a finite number, else null. */
export function numericSparsity(r: ResultRow): number | null {
  const s = pv(r, 'sparsity');
  return typeof s === 'number' && Number.isFinite(s) ? s : null;
}

/** The sub-key of `k` over `names` (absent = null). */
export function pickKey(k: Key, names: string[]): Key {
  const o: Key = {};
  for (const n of names) o[n] = k[n] === undefined ? null : k[n];
  return o;
}
