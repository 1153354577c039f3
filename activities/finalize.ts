/**
 * The end of a sweep (both engines, and `dalesweep report` on demand): the results tables
 * (`results.csv`, `results.json`), the aggregation (`summary.json`) and the report
 * (`report.html`), all beside the sweep's plan and spec in `sweeps/<name>-<id>/`.
 *
 * Rebuilding is cheap and idempotent: everything is derived from the stage manifests, so a report
 * of a half-finished sweep shows what is done and lists the rest as pending.
 */
import { aggregate } from '../analysis/aggregate.js';
import type { CurvePoint, LoadedWeights, ResultRow, Summary } from '../analysis/types.js';
import { parseNpy } from '../io/npy.js';
import { renderReport } from '../report/html.js';
import { sweepKeys, type SweepKeys } from '../store/layout.js';
import { readStageFailure, readStageFile, readStageManifest } from '../store/stage-io.js';
import { StoreNotFoundError, type ArtifactStore } from '../store/types.js';
import type { Plan, RunRow, Stage } from '../sweeps/types.js';
import { toCsv } from './results-table.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A sweep's record in the store: what `run` writes before the first stage. */
export interface SweepRecord {
  plan: Plan;
  specText: string;
  keys: SweepKeys;
}

/** Writes the plan and the spec text into the sweep's folder (idempotent). @returns the keys */
export async function writeSweepRecord(store: ArtifactStore, plan: Plan, specText: string): Promise<SweepKeys> {
  const keys = sweepKeys(plan.name, plan.sweepId);
  if (!(await store.exists(keys.plan))) await store.put(keys.plan, enc.encode(JSON.stringify(plan)));
  if (!(await store.exists(keys.spec))) await store.put(keys.spec, enc.encode(specText));
  return keys;
}

/** Reads a sweep's plan and spec from its plan key. @throws StoreNotFoundError when absent */
export async function readSweepRecord(store: ArtifactStore, planKey: string): Promise<SweepRecord> {
  const plan = JSON.parse(dec.decode(await store.get(planKey))) as Plan;
  const keys = sweepKeys(plan.name, plan.sweepId);
  let specText = '';
  try {
    specText = dec.decode(await store.get(keys.spec));
  } catch (err) {
    if (!(err instanceof StoreNotFoundError)) throw err;
  }
  return { plan, specText, keys };
}

/** Status of every result row, from the stage manifests and failure records. */
export async function collectResultRows(store: ArtifactStore, plan: Plan): Promise<ResultRow[]> {
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const failures = new Map<string, string>();
  const failureOf = async (id: string): Promise<string | null> => {
    if (failures.has(id)) return failures.get(id)!;
    const f = await readStageFailure(store, id);
    const reason = f === null ? null : `${byId.get(id)?.kind ?? 'stage'} ${id.slice(0, 12)} failed: ${f.reason}`;
    if (reason !== null) failures.set(id, reason);
    return reason;
  };
  const rows: ResultRow[] = [];
  for (const r of plan.rows) {
    const params = flatParams(r);
    const manifest = await readStageManifest(store, r.stageId);
    if (manifest !== null) {
      rows.push({ params, stageId: r.stageId, stageIds: r.stageIds, status: 'succeeded', metrics: manifest.metrics });
      continue;
    }
    let reason: string | null = null;
    for (const id of r.stageIds) {
      reason = await failureOf(id);
      if (reason !== null) break;
      if ((await readStageManifest(store, id)) === null) break; // first incomplete stage of the chain
    }
    rows.push(reason === null
      ? { params, stageId: r.stageId, stageIds: r.stageIds, status: 'pending', metrics: {} }
      : { params, stageId: r.stageId, stageIds: r.stageIds, status: 'failed', reason, metrics: {} });
  }
  return rows;
}

function flatParams(r: RunRow): ResultRow['params'] {
  const out: ResultRow['params'] = {};
  for (const [k, v] of Object.entries(r.params)) out[k] = v === null || typeof v !== 'object' ? v : JSON.stringify(v);
  return out;
}

/** Options of {@link finalizeSweep}. */
export interface FinalizeOptions {
  specText: string;
  codeVersion: string;
  /** Reload interval of the written report (live view), seconds. */
  refreshSeconds?: number;
  /** Skip the aggregation and report (results tables only). @default false */
  tablesOnly?: boolean;
}

/** What {@link finalizeSweep} wrote. */
export interface FinalizeResult {
  keys: SweepKeys;
  rows: ResultRow[];
  summary: Summary | null;
}

/** Writes results.csv/json, summary.json and report.html for a sweep (partial sweeps included). */
export async function finalizeSweep(store: ArtifactStore, plan: Plan, opts: FinalizeOptions): Promise<FinalizeResult> {
  const keys = sweepKeys(plan.name, plan.sweepId);
  const rows = await collectResultRows(store, plan);
  await store.put(keys.resultsCsv, enc.encode(toCsv(rows)));
  const fidelity = String(rows[0]?.params.fidelity ?? 'corrected');
  const sweep = { name: plan.name, sweepId: plan.sweepId, specText: opts.specText, codeVersion: opts.codeVersion, fidelity, createdAt: new Date().toISOString() };
  await store.put(keys.resultsJson, enc.encode(JSON.stringify({ sweep: { name: sweep.name, sweepId: sweep.sweepId, codeVersion: sweep.codeVersion }, rows }, null, 1)));
  if (opts.tablesOnly) return { keys, rows, summary: null };
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const summary = await aggregate({
    sweep,
    rows,
    loadWeights: (row) => loadWeights(store, row),
    loadCurve: (row, which) => loadCurve(store, byId, row, which),
  });
  await store.put(keys.summary, enc.encode(JSON.stringify(summary)));
  await store.put(keys.report, enc.encode(renderReport(summary, { refreshSeconds: opts.refreshSeconds })));
  return { keys, rows, summary };
}

/** The Temporal workers' aggregation step: finalize the sweep whose plan is at `planKey`. */
export async function finalizeFromStore(storeUrl: string, planKey: string): Promise<void> {
  const { openStore } = await import('../store/open.js');
  const { codeVersion } = await import('./code-version.js');
  const store = await openStore(storeUrl);
  const rec = await readSweepRecord(store, planKey);
  await finalizeSweep(store, rec.plan, { specText: rec.specText, codeVersion: codeVersion() });
}

async function loadWeights(store: ArtifactStore, row: ResultRow): Promise<LoadedWeights | null> {
  if (row.status !== 'succeeded') return null;
  const a = parseNpy(await readStageFile(store, row.stageId, 'wEff.npy'), `stage ${row.stageId.slice(0, 12)} wEff.npy`);
  const n = a.shape[0];
  const w = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
  const f = Number(row.params.excFraction ?? 0.8);
  return { w, n, nExc: Math.round(f * n) };
}

async function loadCurve(store: ArtifactStore, byId: Map<string, Stage>, row: ResultRow, which: 'dense' | 'finetune'): Promise<CurvePoint[] | null> {
  const kind = which === 'dense' ? 'train' : 'finetune';
  const ids = row.stageIds.filter((id) => byId.get(id)?.kind === kind);
  const id = which === 'dense' ? ids[0] : ids[ids.length - 1];
  if (id === undefined) return null;
  try {
    const records = JSON.parse(dec.decode(await readStageFile(store, id, 'records.json'))) as CurvePoint[];
    return records.map((r) => ({ ...r, testLoss: r.testLoss ?? Number.NaN }));
  } catch (err) {
    if (err instanceof StoreNotFoundError) return null;
    throw err;
  }
}
