/**
 * How large a sweep can be planned. A plan holds every stage and results row in memory, and
 * `plan.json` is written as one JSON string, which V8 caps at 2^29 − 24 characters (~512 MiB):
 * each stage takes about 465 characters of it and each row about 775. The limit counts stage
 * slots before sharing (runs × the stages one run plans, {@link stagesPerRunBound}); at
 * {@link MAX_PLANNED_STAGES} the plan.json of any stage layout stays under the string cap, and
 * planning takes well under 30 s and 2 GB (bench/plan-scale.ts).
 *
 * This module imports nothing at run time from the rest of sweeps/, so that spec.ts can use it
 * ({@link sweepSizeProblem}) to refuse an over-large sweep while loading it, before resolving
 * any run; planSweep refuses one too (plan.ts `checkPlanSize`, `PlanTooLargeError`).
 */
import type { SweepSpec } from './spec.js';

/** Most stage slots (runs × stages per run, before sharing) a sweep may plan. */
export const MAX_PLANNED_STAGES = 600_000;

/** What {@link stagesPerRunBound} reads of a spec. */
export type PlanShape = Pick<SweepSpec, 'axes' | 'fixed' | 'tasks' | 'include' | 'stages'>;

/** Whether some run of the sweep may prune (a non-null pruning method anywhere in the spec). */
function mayPrune(spec: PlanShape): boolean {
  if ((spec.axes.pruning ?? []).some((m) => m !== null)) return true;
  if (spec.fixed.pruning != null) return true;
  if (Object.values(spec.tasks).some((o) => o?.pruning != null)) return true;
  return spec.include.some((e) => e.pruning != null);
}

/**
 * Most stages one run of the sweep plans (before sharing with other runs): train and its
 * evaluation, and with pruning: at-init 3 more (prune, train, evaluate); otherwise k prunes
 * (k = rounds of iterative pruning, else 1), k fine-tunes and their evaluation when fine-tuning,
 * and the evaluation without retraining when asked.
 */
export function stagesPerRunBound(spec: PlanShape): number {
  if (!mayPrune(spec)) return 2;
  const { pruneMode, rounds, finetune, evaluateWithoutRetraining } = spec.stages;
  if (pruneMode === 'at-init') return 5;
  const k = pruneMode === 'iterative' ? rounds : 1;
  return 2 + k + (finetune ? k + 1 : 0) + (evaluateWithoutRetraining ? 1 : 0);
}

/** Upper bound of a sweep's runs without expanding it: the product of its axes plus its include entries. */
export function runsUpperBound(spec: Pick<SweepSpec, 'axes' | 'include'>): number {
  let product = 1;
  for (const values of Object.values(spec.axes)) product *= values?.length ?? 1;
  return product + spec.include.length;
}

/**
 * Why a sweep of `runs` runs of up to `stagesPerRun` stages each cannot be planned, or null when
 * it can (runs × stagesPerRun ≤ {@link MAX_PLANNED_STAGES}).
 */
export function planSizeProblem(runs: number, stagesPerRun: number): string | null {
  if (runs * stagesPerRun <= MAX_PLANNED_STAGES) return null;
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const maxRuns = Math.floor(MAX_PLANNED_STAGES / stagesPerRun);
  return (
    `the sweep expands to ${fmt(runs)} runs of up to ${stagesPerRun} stages each (${fmt(runs * stagesPerRun)} before sharing); ` +
    `a plan holds at most ${fmt(MAX_PLANNED_STAGES)} (${fmt(maxRuns)} runs of this sweep): split it into smaller sweeps or narrow its axes`
  );
}

/** A sweep's size, when it is too large to plan. */
export interface SweepSize {
  runs: number;
  stagesPerRun: number;
  /** {@link planSizeProblem}'s message. */
  problem: string;
}

/**
 * The size of a sweep too large to plan, or null when it can be planned. Cheap: the runs are
 * counted (by `countRuns`, e.g. iterating spec.ts `expandAssignments`) only when the upper bound
 * of {@link runsUpperBound} is over the limit.
 */
export function sweepSizeProblem(spec: PlanShape, countRuns: () => number): SweepSize | null {
  const stagesPerRun = stagesPerRunBound(spec);
  if (planSizeProblem(runsUpperBound(spec), stagesPerRun) === null) return null;
  const runs = countRuns();
  const problem = planSizeProblem(runs, stagesPerRun);
  return problem === null ? null : { runs, stagesPerRun, problem };
}
