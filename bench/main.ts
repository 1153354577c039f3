/**
 * `npm run bench`: runs the benchmark modules in order and prints their figures (aligned text,
 * then one JSON line per figure).
 *
 *   node dist/bench/main.js [--quick] [--only model,plan]
 *
 * `--quick` (or DALESWEEP_BENCH_QUICK=1) shortens every module. To add a benchmark, export
 * `name` and `run(): Promise<void>` from a bench/*.ts file and append it to {@link BENCHES}.
 */
import * as model from './model.js';

/** A benchmark module. */
export interface Bench {
  name: string;
  run(): Promise<void>;
}

/** The benchmarks, in the order they run. */
export const BENCHES: Bench[] = [{ name: model.name, run: model.run }];

/** Thrown when `--only` names no known benchmark. */
export class BenchSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchSelectionError';
  }
}

/** The benchmarks selected by `--only a,b` (all when absent). */
export function selectBenches(argv: string[]): Bench[] {
  const at = argv.indexOf('--only');
  if (at < 0) return BENCHES;
  const names = (argv[at + 1] ?? '').split(',').filter((s) => s !== '');
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (names.length === 0 || unknown.length > 0) {
    throw new BenchSelectionError(`--only expects a comma-separated list of ${BENCHES.map((b) => b.name).join(', ')}; got '${argv[at + 1] ?? ''}'`);
  }
  return BENCHES.filter((b) => names.includes(b.name));
}

for (const b of selectBenches(process.argv.slice(2))) {
  console.log(`\n=== bench ${b.name} ===`);
  const t0 = performance.now();
  await b.run();
  console.log(`=== bench ${b.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s ===`);
}
