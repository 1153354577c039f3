/**
 * The wall-time estimate of `dalesweep plan`: how long the stages a plan still needs take on this
 * machine with the local engine, and with K Temporal workers.
 *
 * Per stage, in order of preference:
 * 1. complete in the store: 0 (the estimate is for what remains);
 * 2. stored durations: the median wall time of stages of the same kind and shape complete in the
 *    store and written by this code version (training-like stages per epoch: same task,
 *    condition, backend, nHidden, batch size, nTrain and nTest; evaluate: same model and
 *    evaluation set size; prune: same method and model);
 * 3. calibration (`activities/calibration.ts`): epochs × (nTrain / B training steps + nTest / B
 *    test batches) of the stage's model kind; evaluate: nEval samples at the kind's evaluation
 *    rate; prune: the fixed overhead only;
 * 4. scaled: a kind calibration did not reach (its time budget ran out) gets the stage's cost in
 *    multiply-adds (`sweeps/plan.ts` stageCost) times the median seconds per multiply-add of the
 *    measured kinds.
 * Every non-complete stage also costs {@link STAGE_OVERHEAD_SECONDS}.
 *
 * The wall time is a list-scheduling simulation of the DAG with those durations
 * (engines/schedule-simulation.ts): the local engine's order (ready stages first in, first out; children
 * queued when their last parent ends) on `concurrency` slots, durations stretched by
 * concurrency / cores when the threads outnumber the cores; K Temporal workers are K slots (the
 * worker's default `--concurrency 1`, on machines like this one), at most the sweep's window.
 * Queues are not modelled (every worker is assumed to serve every queue).
 *
 * The calibration records wall and CPU time: the wall-time estimate holds at the load it was
 * measured under, the CPU-time one ({@link PlanEstimate.idle}) on an idle machine; stored
 * durations are used as recorded in both.
 */
import { availableParallelism, loadavg } from 'node:os';
import { calibrate, kindKey, modelKey, type Calibration, type CalibrateOptions, type KindConfig, type KindTiming } from '../activities/calibration.js';
import { readStoreTimings, type StoreTimings } from '../activities/stage-durations.js';
import { StoreError, type ArtifactStore } from '../store/types.js';
import type { ModelTaskConfig, StageConfig } from '../sweeps/stage-config.js';
import { rectifiesState } from '../rnn/model-js.js';
import type { Plan, Stage } from '../sweeps/types.js';
import { simulateSchedule } from './schedule-simulation.js';

/** Fixed cost of a stage besides its computation (thread hand-off, reading parents, writing artifacts), seconds. */
export const STAGE_OVERHEAD_SECONDS = 0.05;

/** Temporal worker counts shown by default. */
export const DEFAULT_WORKER_COUNTS: readonly number[] = [1, 4, 16];

/** Where a stage's estimate comes from. */
export type EstimateSource = 'complete' | 'store' | 'calibration' | 'scaled' | 'none';

/** Samples an evaluate stage runs forward (celltype with nTest 0: the training set). */
function evalSamples(c: { nTest: number; nTrain: number }): number {
  return c.nTest > 0 ? c.nTest : c.nTrain;
}

/**
 * The shape of a stage for stored durations, and how its duration scales: training-like stages
 * are compared per epoch.
 * @returns null for stages without a shape (noop)
 */
export function shapeKey(c: StageConfig): string | null {
  switch (c.kind) {
    case 'train':
    case 'finetune':
      return `${c.kind}|${kindKey(c)}|nTrain${c.nTrain}|nTest${c.nTest}`;
    case 'evaluate':
      return `evaluate|${modelKey(c)}|nEval${evalSamples(c)}`;
    case 'prune':
      return `prune|${c.method}|${modelKey(c)}`;
    case 'noop':
      return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median stored seconds by {@link shapeKey} (per epoch for training-like stages). */
export function storedSecondsByShape(timings: StoreTimings['timings']): Map<string, { seconds: number; samples: number }> {
  const by = new Map<string, number[]>();
  for (const t of timings) {
    const key = shapeKey(t.config);
    if (key === null) continue;
    let v = t.seconds;
    if (t.epochsRun !== undefined) {
      if (t.epochsRun <= 0) continue;
      v /= t.epochsRun;
    }
    let a = by.get(key);
    if (!a) by.set(key, (a = []));
    a.push(v);
  }
  return new Map([...by].map(([k, a]) => [k, { seconds: median(a), samples: a.length }]));
}

/** The kind configs a plan's remaining stages need calibrated, most costly first. */
export function kindsToCalibrate(stages: readonly Stage[], skip: (s: Stage) => boolean): KindConfig[] {
  const cost = new Map<string, { c: KindConfig; cost: number }>();
  const models = new Set<string>();
  const add = (c: KindConfig, w: number): void => {
    const e = cost.get(kindKey(c));
    if (e) e.cost += w;
    else cost.set(kindKey(c), { c, cost: w });
  };
  for (const s of stages) {
    if (skip(s) || (s.config.kind !== 'train' && s.config.kind !== 'finetune')) continue;
    add(s.config, s.cost);
    models.add(modelKey(s.config));
  }
  // An evaluation whose model trains nowhere in what remains: its model at the evaluation batch.
  for (const s of stages) {
    const c = s.config;
    if (skip(s) || c.kind !== 'evaluate' || models.has(modelKey(c))) continue;
    add({ ...c, batchSize: Math.min(500, evalSamples(c)) }, s.cost);
    models.add(modelKey(c));
  }
  return [...cost.values()].sort((a, b) => b.cost - a.cost).map((e) => e.c);
}

/** Per-stage durations and their sources. */
export interface StageDurations {
  /** Seconds per stage, plan order (0 for complete stages and for those without an estimate). */
  seconds: number[];
  source: EstimateSource[];
  /**
   * Training-like stages timed by calibration whose model skips silent units as it trains
   * ({@link speedsUpWhenTrained}): their estimates are upper bounds.
   */
  upperBounds: number;
}

/**
 * Whether a training-like stage's steps get faster as its model trains: the `js` backend skips the
 * silent units of rectifying rules (rnn/model-js.ts), and the calibration times steps from the
 * initial weights, where few units are silent (on the 2-core Xeon VM a CelltypeRNN condition:
 * `plan` estimated 21 min, the run took 6; a Dale flip-flop model's steps: ~20 % faster after
 * 20 epochs).
 */
export function speedsUpWhenTrained(c: Pick<ModelTaskConfig, 'rule' | 'fidelity' | 'backend'>): boolean {
  return c.backend === 'js' && rectifiesState(c);
}

/**
 * The duration of every stage of a plan (see the module comment for the order of preference).
 * @param complete stages complete in the store
 * @param stored median stored seconds by shape ({@link storedSecondsByShape})
 * @param kinds calibrated timings by kind key
 * @param clock `wall`: the calibration's wall time (at the load it was measured under); `cpu`: its
 *   CPU time, the time on an idle machine (stored durations are used as recorded either way)
 */
export function stageDurations(
  plan: Plan,
  complete: ReadonlySet<string>,
  stored: ReadonlyMap<string, { seconds: number }>,
  kinds: ReadonlyMap<string, KindTiming>,
  clock: 'wall' | 'cpu' = 'wall',
): StageDurations {
  const step = (k: KindTiming): number => (clock === 'wall' ? k.stepSeconds : k.stepCpuSeconds);
  const evalBatch = (k: KindTiming): number => (clock === 'wall' ? k.evalSeconds : k.evalCpuSeconds);
  const measured = [...kinds.values()];
  const secondsPerMac = measured.length > 0 ? median(measured.map((k) => step(k) / k.stepMacs)) : null;
  /** Evaluation seconds per sample by model, from any calibrated batch size. */
  const evalPerSample = new Map<string, number>();
  for (const s of plan.stages) {
    const c = s.config;
    if (c.kind !== 'train' && c.kind !== 'finetune') continue;
    const k = kinds.get(kindKey(c));
    if (k && !evalPerSample.has(modelKey(c))) evalPerSample.set(modelKey(c), evalBatch(k) / c.batchSize);
  }
  for (const s of plan.stages) {
    const c = s.config;
    if (c.kind !== 'evaluate' || evalPerSample.has(modelKey(c))) continue;
    const B = Math.min(500, evalSamples(c));
    const k = kinds.get(kindKey({ ...c, batchSize: B }));
    if (k) evalPerSample.set(modelKey(c), evalBatch(k) / B);
  }
  const seconds: number[] = [];
  const source: EstimateSource[] = [];
  let upperBounds = 0;
  for (const s of plan.stages) {
    const c = s.config;
    if (complete.has(s.id)) {
      seconds.push(0);
      source.push('complete');
      continue;
    }
    if (c.kind === 'noop') {
      seconds.push(c.sleepMs / 1000 + STAGE_OVERHEAD_SECONDS);
      source.push('calibration');
      continue;
    }
    const key = shapeKey(c)!;
    const hit = stored.get(key);
    if (hit) {
      seconds.push((c.kind === 'train' || c.kind === 'finetune' ? hit.seconds * c.epochs : hit.seconds) + STAGE_OVERHEAD_SECONDS);
      source.push('store');
      continue;
    }
    let t: number | null = null;
    if (c.kind === 'train' || c.kind === 'finetune') {
      const k = kinds.get(kindKey(c));
      if (k) t = c.epochs * ((c.nTrain / c.batchSize) * step(k) + (c.nTest > 0 ? (c.nTest / c.batchSize) * evalBatch(k) : 0));
    } else if (c.kind === 'evaluate') {
      const e = evalPerSample.get(modelKey(c));
      if (e !== undefined) t = evalSamples(c) * e;
    } else t = 0; // prune: a few passes over N² weights
    if (t !== null) {
      seconds.push(t + STAGE_OVERHEAD_SECONDS);
      source.push('calibration');
      if ((c.kind === 'train' || c.kind === 'finetune') && speedsUpWhenTrained(c)) upperBounds++;
    } else if (secondsPerMac !== null) {
      seconds.push(s.cost * secondsPerMac + STAGE_OVERHEAD_SECONDS);
      source.push('scaled');
    } else {
      seconds.push(0);
      source.push('none');
    }
  }
  return { seconds, source, upperBounds };
}

/** Options of {@link estimatePlan}. */
export interface EstimateOptions {
  codeVersion: string;
  /** Store to read complete stages and durations from; null: none. */
  store: ArtifactStore | null;
  /** Measure the kinds the calibration cache lacks. false: cache and store only. */
  measure: boolean;
  /** Measure every kind needed again, replacing the cached timings. @default false */
  refresh?: boolean;
  /** Local engine's stages at once. @default cores */
  concurrency?: number;
  /** Cores of this machine. @default os.availableParallelism() */
  cores?: number;
  /** Temporal worker counts to estimate. @default {@link DEFAULT_WORKER_COUNTS} */
  workers?: readonly number[];
  /** Temporal engine's stages in flight (`run --window`). @default 64 */
  window?: number;
  /** Passed to {@link calibrate} (cache folder, machine, measuring function, budget). */
  calibration?: Omit<CalibrateOptions, 'codeVersion' | 'measure' | 'refresh'>;
}

/** The estimate of a plan (seconds; null where some remaining stage has no estimate). */
export interface PlanEstimate {
  local: { cores: number; concurrency: number; seconds: number | null };
  /**
   * The same on an idle machine: calibrated stages from their CPU time instead of their wall time
   * (stored durations as recorded).
   */
  idle: { localSeconds: number | null; stageSeconds: number | null; temporal: { workers: number; seconds: number | null }[] };
  temporal: { workers: number; slots: number; seconds: number | null }[];
  /** Longest chain of remaining stages. */
  criticalPathSeconds: number | null;
  /** Sum of the remaining stages' durations. */
  stageSeconds: number | null;
  /** `upperBounds`: calibrated training-like stages whose models speed up as they train ({@link speedsUpWhenTrained}). */
  stages: { total: number; complete: number; store: number; calibration: number; scaled: number; none: number; upperBounds: number };
  /**
   * `load1`: the machine's one-minute load average after measuring (null when nothing was
   * measured); `cachedLoad1`: the highest load average at which the cached kinds were measured.
   */
  calibration: { path: string; measured: number; cached: number; missing: number; seconds: number; load1: number | null; cachedLoad1: number | null; cacheError?: string };
  /** The store read; `error` when it could not be read (nothing is then known complete). */
  store: { url: string; listed: number; durations: number; unreadable: number; error?: string } | null;
}

/** Estimates the wall time of what remains of a plan (see the module comment). */
export async function estimatePlan(plan: Plan, opts: EstimateOptions): Promise<PlanEstimate> {
  const cores = opts.cores ?? availableParallelism();
  const concurrency = opts.concurrency ?? cores;
  let timings: StoreTimings = { complete: new Set(), timings: [], listed: 0, unreadable: 0 };
  let storeError: string | undefined;
  if (opts.store) {
    try {
      timings = await readStoreTimings(opts.store, plan, { codeVersion: opts.codeVersion });
    } catch (err) {
      // An unreachable store leaves the estimate to calibration; the estimate says so.
      if (!(err instanceof StoreError)) throw err;
      storeError = err.message;
    }
  }
  const stored = storedSecondsByShape(timings.timings);
  /** Complete, or estimated from stored durations: needs no calibration. */
  const covered = (s: Stage): boolean => timings.complete.has(s.id) || (shapeKey(s.config) !== null && stored.has(shapeKey(s.config)!));
  const kinds = kindsToCalibrate(plan.stages, covered);
  const cal: Calibration = await calibrate(kinds, { ...opts.calibration, codeVersion: opts.codeVersion, measure: opts.measure, refresh: opts.refresh });
  const d = stageDurations(plan, timings.complete, stored, cal.kinds);
  const idle = stageDurations(plan, timings.complete, stored, cal.kinds, 'cpu');
  const count = { total: plan.stages.length, complete: 0, store: 0, calibration: 0, scaled: 0, none: 0, upperBounds: d.upperBounds };
  for (const s of d.source) count[s]++;
  const known = count.none === 0;
  const stretch = Math.max(1, concurrency / cores);
  const local = simulateSchedule(plan.stages, stretch === 1 ? d.seconds : d.seconds.map((x) => x * stretch), concurrency);
  const window = opts.window ?? 64;
  const base = simulateSchedule(plan.stages, d.seconds, 1);
  const temporal = (opts.workers ?? DEFAULT_WORKER_COUNTS).map((k) => {
    const slots = Math.min(k, window);
    return { workers: k, slots, seconds: known ? simulateSchedule(plan.stages, d.seconds, slots).makespan : null };
  });
  const idleBase = simulateSchedule(plan.stages, idle.seconds, 1);
  return {
    local: { cores, concurrency, seconds: known ? local.makespan : null },
    idle: {
      localSeconds: known ? simulateSchedule(plan.stages, stretch === 1 ? idle.seconds : idle.seconds.map((x) => x * stretch), concurrency).makespan : null,
      stageSeconds: known ? idleBase.work : null,
      temporal: temporal.map((t) => ({ workers: t.workers, seconds: known ? simulateSchedule(plan.stages, idle.seconds, t.slots).makespan : null })),
    },
    temporal,
    criticalPathSeconds: known ? base.criticalPath : null,
    stageSeconds: known ? base.work : null,
    stages: count,
    calibration: {
      path: cal.path,
      measured: cal.measured.length,
      cached: cal.cached.length,
      missing: cal.missing.length,
      seconds: cal.seconds,
      load1: cal.measured.length > 0 ? loadavg()[0] : null,
      cachedLoad1: cal.cached.length > 0 ? Math.max(...cal.cached.map((k) => cal.kinds.get(k)!.load1)) : null,
      ...(cal.cacheError !== undefined ? { cacheError: cal.cacheError } : {}),
    },
    store: opts.store ? { url: opts.store.url, listed: timings.listed, durations: timings.timings.length, unreadable: timings.unreadable, ...(storeError !== undefined ? { error: storeError } : {}) } : null,
  };
}

/** A duration for people: `42 s`, `21 min`, `3.5 h`. */
export function formatDuration(s: number): string {
  if (s < 90) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 90 * 60) return `${(s / 60).toFixed(s < 600 ? 1 : 0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The lines `dalesweep plan` prints for an estimate. */
export function formatPlanEstimate(e: PlanEstimate): string[] {
  const n = e.stages;
  const remaining = n.total - n.complete;
  const notes: string[] = [];
  if (e.store?.error !== undefined) notes.push(`store not read (${e.store.error}): nothing counted as complete`);
  if (e.calibration.cacheError !== undefined) notes.push(`calibration cache ${e.calibration.cacheError}`);
  if ((e.store?.unreadable ?? 0) > 0) notes.push(`${e.store!.unreadable} unreadable manifests left out`);
  if (n.upperBounds > 0) {
    notes.push(`upper bounds for ${n.upperBounds} training stage${n.upperBounds === 1 ? '' : 's'} of rectifying models: timed from initial weights, they run faster as units fall silent (a CelltypeRNN condition: up to ~4.5×, a flip-flop model at N = 128: ~10-20 %)`);
  }
  const done = (n.complete > 0 ? `; ${n.complete} of ${n.total} stages already complete (cost 0)` : '') + notes.map((x) => `; ${x}`).join('');
  if (e.local.seconds === null) {
    return [`estimated wall time: not estimated (${n.none} of ${remaining} remaining stages have neither a calibration of this machine and code version nor a stored duration; run plan without --no-calibrate to measure)${done}`];
  }
  const c = e.calibration;
  const parts: string[] = [];
  if (n.store > 0) parts.push(`store durations for ${n.store} stage${n.store === 1 ? '' : 's'} (${e.store?.durations ?? 0} manifests of this code version read)`);
  if (n.calibration > 0) {
    const how = [c.measured > 0 ? `${c.measured} measured now in ${c.seconds.toFixed(1)} s${c.load1 !== null ? ` at load average ${c.load1.toFixed(1)} on ${e.local.cores} cores` : ''}` : '', c.cached > 0 ? `${c.cached} cached, measured at load average up to ${(c.cachedLoad1 ?? 0).toFixed(1)}; --recalibrate measures again` : ''].filter(Boolean).join(', ');
    parts.push(`calibration for ${n.calibration} stage${n.calibration === 1 ? '' : 's'} (model kinds: ${how || 'none needed'})`);
  }
  if (n.scaled > 0) parts.push(`${n.scaled} stage${n.scaled === 1 ? '' : 's'} scaled by multiply-adds from the calibrated kinds (${c.missing} kinds not measured: time budget)`);
  const workers = e.temporal.map((t) => `${t.workers}: ${formatDuration(t.seconds!)}${t.slots < t.workers ? ` (${t.slots} stages in flight, the window)` : ''}`).join(', ');
  return [
    `estimated wall time: ${formatDuration(e.local.seconds)} on this machine (${e.local.cores} cores, local engine, concurrency ${e.local.concurrency}); critical path ${formatDuration(e.criticalPathSeconds!)}, ${formatDuration(e.stageSeconds!)} of stage time`,
    ...(n.calibration + n.scaled > 0 ? [`on an idle machine (calibration CPU time instead of wall time): ${formatDuration(e.idle.localSeconds!)}; with K workers ${e.idle.temporal.map((t) => `${t.workers}: ${formatDuration(t.seconds!)}`).join(', ')}`] : []),
    `with K Temporal workers (one stage at a time each, stage times as on this machine): ${workers}`,
    `estimate from: ${parts.join('; ') || 'nothing left to run'}${done}`,
  ];
}
