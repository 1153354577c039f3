/**
 * Planning at scale: parse, validate, plan and summarise the realistic sweep of bench/plan.ts
 * (3 tasks × 3 rules × 2 pruning methods × 14 sparsities = 252 runs per seed) with enough seeds
 * for a given number of runs, in a fresh Node process, so that its peak RSS is the planning's
 * alone. This is what `dalesweep plan FILE` does, less the printing.
 *
 *   node dist/bench/plan-scale.js --runs 100000     (prints one JSON object)
 *
 * A sweep over the planning limit (sweeps/plan-limits.ts) is refused by planSweep before it
 * plans anything: then `refused` holds the message and `planMs` the time to refuse.
 *
 * {@link measureInChild} runs it from another process (bench/main.ts).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseSpec, SpecError } from '../sweeps/spec.js';
import { planSweep } from '../sweeps/plan.js';
import { summarizePlan } from '../sweeps/plan-summary.js';
import { realisticSweepYaml } from './plan.js';

/** Runs of the realistic sweep per seed. */
export const RUNS_PER_SEED = 3 * 3 * 2 * 14;

/** Figures of one planning at scale. */
export interface ScaleResult {
  /** Runs (axis assignments) of the sweep. */
  runs: number;
  stages: number;
  rows: number;
  /** Wall time of parseSpec (YAML, schema, semantic checks of every run), ms. */
  parseMs: number;
  /** Wall time of planSweep (of its refusal, when refused), ms. */
  planMs: number;
  /** Wall time of summarizePlan, ms. */
  summarizeMs: number;
  /** parse + plan + summarise, ms. */
  totalMs: number;
  /** CPU time (user + system) of parse + plan + summarise, ms: steadier than wall time on a busy machine. */
  cpuMs: number;
  /** Peak resident set size of the process, MB (2^20 bytes). */
  peakRssMB: number;
  /** V8 heap in use after planning (plan still reachable), MB. */
  heapUsedMB: number;
  /** The refusal (spec loading or planSweep) of a sweep over the plan-size limit; null when planned. */
  refused: string | null;
}

/** Plans the realistic sweep with ⌊runs / 252⌋ seeds (at least 1) in this process. */
export function measure(runs: number): ScaleResult {
  const seeds = Math.max(1, Math.floor(runs / RUNS_PER_SEED));
  const text = realisticSweepYaml(seeds);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let summary: { stages: number; rows: number } = { stages: 0, rows: 0 };
  let refused: string | null = null;
  let t1 = t0;
  let t2: number;
  try {
    // A sweep too large to plan is refused while loading (spec.ts), or at the latest by planSweep.
    const spec = parseSpec(text, 'bench-plan.yaml');
    t1 = performance.now();
    const plan = planSweep(spec, { codeVersion: 'bench' });
    t2 = performance.now();
    summary = summarizePlan(plan);
  } catch (err) {
    if (!(err instanceof SpecError) || !/a plan holds at most/.test(err.message)) throw err;
    if (t1 === t0) t1 = performance.now();
    t2 = performance.now();
    refused = err.message;
  }
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const heapUsedMB = process.memoryUsage().heapUsed / 2 ** 20;
  return {
    runs: seeds * RUNS_PER_SEED,
    stages: summary.stages,
    rows: summary.rows,
    parseMs: Math.round(t1 - t0),
    planMs: Math.round(t2 - t1),
    summarizeMs: Math.round(t3 - t2),
    totalMs: Math.round(t3 - t0),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    heapUsedMB: Math.round(heapUsedMB),
    refused,
  };
}

/**
 * Runs {@link measure} in a child Node process (its own peak RSS).
 * @param runs runs of the sweep
 * @param timeoutMs kill the child after this long, ms
 * @returns the figures, or null when the child failed or timed out (reason in `error`)
 */
export function measureInChild(runs: number, timeoutMs: number): Promise<{ result: ScaleResult | null; error: string | null }> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve) => {
    execFile(process.execPath, [script, '--runs', String(runs)], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${Math.round(timeoutMs / 1000)} s` : (stderr.trim().split('\n').pop() ?? err.message);
        resolve({ result: null, error: why });
        return;
      }
      resolve({ result: JSON.parse(stdout) as ScaleResult, error: null });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--runs');
  const runs = at >= 0 ? Number(process.argv[at + 1]) : 100_000;
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs expects a positive integer (got ${process.argv[at + 1]})`);
  console.log(JSON.stringify(measure(runs)));
}
