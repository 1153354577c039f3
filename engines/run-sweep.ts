/**
 * `runSweep`: a planned sweep run to the end on the local engine, for library users: the sweep's
 * record (plan and spec) is written to the store, every stage not already complete runs
 * ({@link runPlanLocally}: resumable, exactly once under leases), and the results tables and
 * report are written, as `dalesweep run` does without its terminal output.
 */
import { codeVersion as currentCodeVersion } from '../activities/code-version.js';
import { finalizeSweep, writeSweepRecord } from '../activities/finalize.js';
import type { ResultRow } from '../analysis/types.js';
import type { SweepKeys } from '../store/layout.js';
import { openStore } from '../store/open.js';
import type { ArtifactStore } from '../store/types.js';
import type { Plan } from '../sweeps/types.js';
import { runPlanLocally, type LocalRunResult } from './local.js';
import type { EngineEvent } from './events.js';

/** Options of {@link runSweep}. */
export interface RunSweepOptions {
  /**
   * Where artifacts go: a store URL or path as `--store` takes it (`./runs`, `file:///abs`,
   * `s3://bucket/prefix?endpoint=...`), or an open store. The stage threads open the store by
   * URL: for an S3 store opened with endpoint parameters, pass the URL (or `storeUrl`).
   */
  store: string | ArtifactStore;
  /** URL the stage threads open the store with. @default the `store` string, or `store.url` */
  storeUrl?: string;
  /** The sweep file's text, kept beside the plan and in the report. @default '' */
  specText?: string;
  /** Must be the version the plan was made with (`planSweep(spec, { codeVersion })`). @default codeVersion() */
  codeVersion?: string;
  /** Stages run at once (threads). @default os.availableParallelism() */
  concurrency?: number;
  /** Aggregate and write report.html (false: results tables only). @default true */
  report?: boolean;
  /** Progress events of the engine (stage start, end, skipped...). */
  onEvent?(e: EngineEvent): void;
  /** Stops scheduling new stages and aborts running ones; completed stages stay in the store. */
  signal?: AbortSignal;
  /** Called once the stages are done (or stopped), before the results and report are written. */
  onRunEnd?(): void;
}

/** What {@link runSweep} did: the engine's result, the keys of the sweep's folder and its result rows. */
export interface RunSweepResult extends LocalRunResult {
  keys: SweepKeys;
  rows: ResultRow[];
}

/**
 * Runs a planned sweep on this machine to the end and writes its results (see the module
 * comment). Failed stages do not throw: see `status`, `reasons` and the rows' `status`.
 * @throws StoreUrlError for a malformed store URL; store errors (credentials, disk) as they occur
 */
export async function runSweep(plan: Plan, opts: RunSweepOptions): Promise<RunSweepResult> {
  const store = typeof opts.store === 'string' ? await openStore(opts.store) : opts.store;
  const storeUrl = opts.storeUrl ?? (typeof opts.store === 'string' ? opts.store : store.url);
  const version = opts.codeVersion ?? currentCodeVersion();
  const specText = opts.specText ?? '';
  const keys = await writeSweepRecord(store, plan, specText);
  const r = await runPlanLocally(plan, { store, storeUrl, codeVersion: version, concurrency: opts.concurrency, onEvent: opts.onEvent, signal: opts.signal });
  opts.onRunEnd?.();
  const fin = await finalizeSweep(store, plan, { specText, codeVersion: version, tablesOnly: opts.report === false, trusted: r.verified });
  return { ...r, keys, rows: fin.rows };
}
