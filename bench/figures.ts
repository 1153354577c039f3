/**
 * Output helpers shared by the `npm run bench` modules: an aligned text table for people, and one
 * JSON line per figure for machines (`grep '^{' | jq`).
 */

/** One measured figure. */
export interface Figure {
  /** Benchmark module name (e.g. `model`). */
  bench: string;
  /** What is measured, snake_case (e.g. `steps_per_s`). */
  figure: string;
  value: number | string | boolean;
  /** Unit of `value` (e.g. `steps/s`, `MB`). */
  unit?: string;
  /** Labels of the measurement (task, backend, ...). */
  [label: string]: number | string | boolean | undefined;
}

/**
 * True when the benchmarks should run short: `--quick` on the command line or
 * `DALESWEEP_BENCH_QUICK=1` in the environment.
 */
export function isQuick(): boolean {
  return process.argv.includes('--quick') || process.env.DALESWEEP_BENCH_QUICK === '1';
}

/** Rows of cells as text columns: first column left-aligned, the others right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The JSON line of a figure. */
export function jsonLine(f: Figure): string {
  return JSON.stringify(f);
}

/** Print figures as JSON lines. */
export function printJsonLines(figures: Figure[]): void {
  for (const f of figures) console.log(jsonLine(f));
}

/** Median of a non-empty list (the mean of the two middle values for an even length). */
export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
