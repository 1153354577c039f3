/**
 * Planning benchmark: parse, validate and plan a realistic ~10,000-stage sweep (3 tasks × 3 rules
 * × 2 pruning methods × 14 sparsities × 10 seeds, one-shot pruning with evaluation before and
 * after fine-tuning), and plan 10,000 noop stages. Reports wall time, heap growth and peak RSS.
 * Targets: < 2 s and < 200 MB for the realistic sweep.
 *
 *   node dist/bench/plan.js        (or through bench/main.ts)
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseSpec } from '../sweeps/spec.js';
import { noopSweep, planSweep } from '../sweeps/plan.js';
import { summarizePlan } from '../sweeps/plan-summary.js';

export const name = 'plan';

/** YAML text of the realistic sweep. */
export function realisticSweepYaml(seeds = 10): string {
  const sparsities = Array.from({ length: 14 }, (_, i) => 1 - (0.01 + (i * 0.99) / 13));
  return [
    'name: bench-plan',
    'axes:',
    '  task: [flipflop, wave, smnist]',
    '  rule: [conventional, rectified, dale]',
    '  pruning: [random, top-prob]',
    `  sparsity: [${sparsities.join(', ')}]`,
    `  seed: [${Array.from({ length: seeds }, (_, i) => i).join(', ')}]`,
    '',
  ].join('\n');
}

export interface PlanBenchResult {
  stages: number;
  rows: number;
  planMs: number;
  heapDeltaMB: number;
  peakRssMB: number;
  planJsonMB: number;
  noopStages: number;
  noopPlanMs: number;
  targetsMet: boolean;
}

function heapMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Runs the benchmark once and returns its figures. @param opts.seeds seeds of the sweep (10 → 10,260 stages) */
export async function run(opts: { seeds?: number } = {}): Promise<PlanBenchResult> {
  const text = realisticSweepYaml(opts.seeds ?? 10);
  const heap0 = heapMB();
  const t0 = performance.now();
  const plan = planSweep(parseSpec(text, 'bench-plan.yaml'), { codeVersion: 'bench' });
  const summary = summarizePlan(plan);
  const planMs = performance.now() - t0;
  const heapDeltaMB = heapMB() - heap0;
  const planJsonMB = Buffer.byteLength(JSON.stringify(plan)) / 2 ** 20;
  const t1 = performance.now();
  const noop = noopSweep(10_000, { codeVersion: 'bench' });
  const noopPlanMs = performance.now() - t1;
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  await Promise.resolve();
  return {
    stages: summary.stages,
    rows: summary.rows,
    planMs: Math.round(planMs),
    heapDeltaMB: Math.round(heapDeltaMB * 10) / 10,
    peakRssMB: Math.round(peakRssMB),
    planJsonMB: Math.round(planJsonMB * 10) / 10,
    noopStages: noop.stages.length,
    noopPlanMs: Math.round(noopPlanMs),
    targetsMet: planMs < 2000 && heapDeltaMB < 200 && peakRssMB < 200,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
