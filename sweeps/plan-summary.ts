/**
 * What `dalesweep plan FILE` reports about a {@link Plan}: stage counts per kind and queue,
 * results rows, what sharing identical stages saves, and the estimated work in multiply-adds
 * (the stages' relative costs), as a record and as printed lines.
 */
import type { Plan, StageKind } from './types.js';

/** What `dalesweep plan FILE` prints. */
export interface PlanSummary {
  name: string;
  sweepId: string;
  /** Distinct stages. */
  stages: number;
  byKind: Record<StageKind, number>;
  byQueue: Record<string, number>;
  /** Results rows (evaluations). */
  rows: number;
  /** Stages an expansion without sharing would run: one full chain per results row. */
  unsharedStages: number;
  /** unsharedStages − stages. */
  savedBySharing: number;
  /** Estimated work of the plan, multiply-adds (sum of stage costs). */
  cost: number;
  /** Estimated work without sharing, multiply-adds. */
  unsharedCost: number;
}

/** Counts and estimated work of a plan. */
export function summarizePlan(plan: Plan): PlanSummary {
  const byKind: Record<StageKind, number> = { train: 0, prune: 0, finetune: 0, evaluate: 0, noop: 0 };
  const byQueue: Record<string, number> = {};
  const cost = new Map<string, number>();
  let total = 0;
  for (const s of plan.stages) {
    byKind[s.kind]++;
    byQueue[s.queue] = (byQueue[s.queue] ?? 0) + 1;
    cost.set(s.id, s.cost);
    total += s.cost;
  }
  let unsharedStages = 0;
  let unsharedCost = 0;
  for (const r of plan.rows) {
    unsharedStages += r.stageIds.length;
    for (const id of r.stageIds) unsharedCost += cost.get(id) ?? 0;
  }
  if (plan.rows.length === 0) {
    unsharedStages = plan.stages.length;
    unsharedCost = total;
  }
  return {
    name: plan.name,
    sweepId: plan.sweepId,
    stages: plan.stages.length,
    byKind,
    byQueue,
    rows: plan.rows.length,
    unsharedStages,
    savedBySharing: unsharedStages - plan.stages.length,
    cost: total,
    unsharedCost,
  };
}

/** `n` with an SI prefix (k, M, G, …), 3 significant digits. */
function si(n: number): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toPrecision(3)}${units[i]}`;
}

/** Human-readable lines of a plan summary. */
export function formatPlanSummary(s: PlanSummary): string {
  const kinds = (Object.keys(s.byKind) as StageKind[]).filter((k) => s.byKind[k] > 0).map((k) => `${k} ${s.byKind[k]}`);
  const queues = Object.entries(s.byQueue).map(([q, n]) => `${q} ${n}`);
  return [
    `sweep ${s.name} (${s.sweepId.slice(0, 12)})`,
    `stages: ${s.stages} (${kinds.join(', ')}); queues: ${queues.join(', ')}`,
    `results rows: ${s.rows}`,
    `sharing: ${s.unsharedStages} stages without sharing, ${s.savedBySharing} saved`,
    `estimated work: ${si(s.cost)} multiply-adds (${si(s.unsharedCost)} without sharing)`,
  ].join('\n');
}
