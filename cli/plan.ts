/**
 * `dalesweep plan FILE`: validates and plans a sweep file and prints its counts (stages per kind
 * and queue, stages saved by sharing, estimated work) and its estimated wall time on this machine
 * and with K Temporal workers (engines/estimate.ts), without running a stage or writing to the
 * store. The estimate uses the durations of stages of the same shape already in the store
 * (`--store`) and a short calibration of this machine, cached per machine and code version in
 * `${XDG_CACHE_HOME:-~/.cache}/dalesweep/calibration/`; `--no-calibrate` measures nothing.
 */
import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { codeVersion } from '../activities/code-version.js';
import { DEFAULT_WORKER_COUNTS, estimatePlan, formatPlanEstimate } from '../engines/estimate.js';
import { formatPlanSummary, summarizePlan } from '../sweeps/plan-summary.js';
import { RunFailedError, UsageError } from '../errors/errors.js';
import { CalibrationError } from '../activities/calibration.js';
import { StoreError, type ArtifactStore } from '../store/types.js';
import { dataDirFlag, dataOption, openStoreFlag, positiveInt, storeOption } from './options.js';
import { planSweepFile } from './sweep-ref.js';

interface PlanFlags {
  json?: boolean;
  stages?: boolean;
  data?: string;
  store: string;
  calibrate: boolean;
  recalibrate?: boolean;
  concurrency?: number;
  workers: number[];
}

/** `--workers 1,4,16`: a comma-separated list of positive integers. */
function workerCounts(v: string): number[] {
  const ks = v.split(',').map((x) => Number(x.trim()));
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new UsageError(`--workers must be positive integers separated by commas (e.g. 1,4,16), got '${v}'`);
  return ks;
}

/** Registers the `plan` sub-command. */
export function register(program: Command): void {
  program
    .command('plan')
    .description('Validate and plan a sweep file; print stage counts, estimated work and estimated wall time (runs no stage)')
    .argument('<file>', 'sweep file (YAML)')
    .addOption(dataOption())
    .addOption(storeOption())
    .option('--json', 'print the summary as JSON')
    .option('--stages', 'also list every stage (id, kind, queue, parents)')
    .option('--no-calibrate', 'measure nothing: estimate from the cached calibration and the stored durations only (without them: counts and work only)')
    .option('--recalibrate', 'measure every model kind again, replacing the cached calibration (e.g. after the load changed)')
    .option('--concurrency <k>', 'local engine stages at once for the estimate (default: one per core)', positiveInt('--concurrency'))
    .addOption(
      new Option('--workers <k,...>', 'Temporal worker counts to estimate (each runs one stage at a time, the worker default; at most 64 stages in flight, the run default --window)')
        .argParser(workerCounts)
        .default([...DEFAULT_WORKER_COUNTS], DEFAULT_WORKER_COUNTS.join(',')),
    )
    .action(async (file: string, o: PlanFlags) => {
      if (o.recalibrate && !o.calibrate) throw new UsageError('--recalibrate and --no-calibrate exclude each other');
      const { plan } = planSweepFile(file, dataDirFlag(o.data));
      const s = summarizePlan(plan);
      let store: ArtifactStore | null = null;
      try {
        store = await openStoreFlag(o.store);
      } catch (err) {
        // An unreachable store (S3 offline) leaves the estimate to calibration; a malformed URL is still exit 2.
        if (!(err instanceof StoreError)) throw err;
        process.stderr.write(`dalesweep: store ${o.store} not read (${err.message}); estimating without it\n`);
      }
      let estimate;
      try {
        estimate = await estimatePlan(plan, { codeVersion: codeVersion(), store, measure: o.calibrate, refresh: o.recalibrate === true, concurrency: o.concurrency ?? availableParallelism(), workers: o.workers });
      } catch (err) {
        if (err instanceof CalibrationError) throw new RunFailedError(`${err.message} (plan --no-calibrate estimates without measuring)`);
        throw err;
      }
      if (o.json) {
        const base = { ...s, estimate };
        const out = o.stages ? { ...base, stageList: plan.stages.map((st) => ({ id: st.id, kind: st.kind, queue: st.queue, parents: st.parents, cost: st.cost })) } : base;
        process.stdout.write(JSON.stringify(out) + '\n');
        return;
      }
      process.stdout.write(formatPlanSummary(s) + '\n');
      process.stdout.write(formatPlanEstimate(estimate).join('\n') + '\n');
      if (o.stages) {
        for (const st of plan.stages) process.stdout.write(`${st.id.slice(0, 12)} ${st.kind.padEnd(8)} ${st.queue.padEnd(4)} <- ${st.parents.map((p) => p.slice(0, 12)).join(', ') || '-'}\n`);
      }
    });
}
