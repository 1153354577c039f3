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
import { readStageFailure, readStageFile } from '../store/stage-io.js';
import { getIfPresent, StoreError, StoreNotFoundError, type ArtifactStore } from '../store/types.js';
import { isCorruptionError } from '../store/verify.js';
import { parseSpec } from '../sweeps/spec.js';
import { planSweep } from '../sweeps/plan.js';
import type { Plan, RunRow, Stage } from '../sweeps/types.js';
import { codeVersion as currentCodeVersion } from './code-version.js';
import { scanPlan, type PlanScan } from './plan-scan.js';
import { toCsv } from './results-table.js';
import { DEFAULT_EXC_FRACTION, excitatoryCount } from '../rnn/init.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A sweep's record in the store: what `run` writes before the first stage. */
export interface SweepRecord {
  plan: Plan;
  specText: string;
  keys: SweepKeys;
}

/** A sweep's stored plan is unreadable and could not be rebuilt from its stored spec. */
export class SweepRecordError extends StoreError {
  override name = 'SweepRecordError';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Writes the plan and the spec text into the sweep's folder (idempotent). A stored plan or spec
 * that differs from this one (corrupted, truncated) is replaced: both are determined by the
 * sweep id. @returns the keys
 */
export async function writeSweepRecord(store: ArtifactStore, plan: Plan, specText: string): Promise<SweepKeys> {
  const keys = sweepKeys(plan.name, plan.sweepId);
  const planBytes = enc.encode(JSON.stringify(plan));
  const storedPlan = await getIfPresent(store, keys.plan);
  if (storedPlan === null || !sameBytes(storedPlan, planBytes)) await store.put(keys.plan, planBytes);
  const specBytes = enc.encode(specText);
  const storedSpec = await getIfPresent(store, keys.spec);
  if (storedSpec === null || !sameBytes(storedSpec, specBytes)) await store.put(keys.spec, specBytes);
  return keys;
}

function parsePlanBytes(bytes: Uint8Array): Plan | null {
  try {
    const plan = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Plan;
    if (plan && typeof plan === 'object' && typeof plan.name === 'string' && typeof plan.sweepId === 'string' && Array.isArray(plan.stages) && Array.isArray(plan.rows)) return plan;
  } catch {
    // not JSON: handled by the caller
  }
  return null;
}

/**
 * Reads a sweep's plan and spec from its plan key. A plan that is not readable is rebuilt from
 * the stored `spec.yaml` when that plans to the same sweep id with this build, and written back.
 * @throws StoreNotFoundError when absent; SweepRecordError (one line, naming the key) when the
 *   plan is corrupt and cannot be rebuilt
 */
export async function readSweepRecord(store: ArtifactStore, planKey: string): Promise<SweepRecord> {
  const bytes = await store.get(planKey);
  const dir = planKey.slice(0, planKey.length - 'plan.json'.length);
  const specBytes = await getIfPresent(store, `${dir}spec.yaml`);
  const specText = specBytes === null ? '' : dec.decode(specBytes);
  const plan = parsePlanBytes(bytes);
  if (plan !== null) return { plan, specText, keys: sweepKeys(plan.name, plan.sweepId) };
  const hint = `run the sweep file again to rebuild it`;
  if (specBytes === null) throw new SweepRecordError(`${store.url} ${planKey} is corrupt (not a dalesweep plan) and the sweep has no stored spec.yaml: ${hint}`);
  let rebuilt: Plan;
  try {
    rebuilt = planSweep(parseSpec(specText, `${dir}spec.yaml`), { codeVersion: currentCodeVersion() });
  } catch (err) {
    throw new SweepRecordError(`${store.url} ${planKey} is corrupt and its spec.yaml cannot be planned (${(err as Error).message.split('\n')[0].slice(0, 200)}): ${hint}`);
  }
  const keys = sweepKeys(rebuilt.name, rebuilt.sweepId);
  if (keys.plan !== planKey) throw new SweepRecordError(`${store.url} ${planKey} is corrupt and its spec.yaml plans to another sweep with this build (${keys.dir}): ${hint}`);
  await store.put(planKey, enc.encode(JSON.stringify(rebuilt)));
  process.stderr.write(`warning: ${store.url} ${planKey} was corrupt; rebuilt from ${dir}spec.yaml\n`);
  return { plan: rebuilt, specText, keys };
}

/**
 * Status of every result row, from the verified stage manifests and the failure records.
 * @param scan what {@link scanPlan} found (scanned now when absent): a row counts as succeeded
 *   only when its stages are complete and verified; a corrupt one is pending with the reason
 */
export async function collectResultRows(store: ArtifactStore, plan: Plan, scan?: PlanScan): Promise<ResultRow[]> {
  const sc = scan ?? (await scanPlan(store, plan));
  const corrupt = new Map(sc.corrupt.map((c) => [c.id, c.reason]));
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
    const metrics = sc.metrics.get(r.stageId);
    if (metrics !== undefined) {
      rows.push({ params, stageId: r.stageId, stageIds: r.stageIds, status: 'succeeded', metrics });
      continue;
    }
    let reason: string | null = null;
    let pendingReason: string | undefined;
    for (const id of r.stageIds) {
      const bad = corrupt.get(id);
      if (bad !== undefined) {
        pendingReason = `${byId.get(id)?.kind ?? 'stage'} ${id.slice(0, 12)} is corrupt (${bad}); run the sweep again or dalesweep verify --repair`;
        break;
      }
      reason = await failureOf(id);
      if (reason !== null) break;
      if (!sc.complete.has(id)) break; // first incomplete stage of the chain
    }
    rows.push(reason === null
      ? { params, stageId: r.stageId, stageIds: r.stageIds, status: 'pending', ...(pendingReason ? { reason: pendingReason } : {}), metrics: {} }
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
  /** What the store holds for the plan, verified (scanned now when absent). */
  scan?: PlanScan;
  /** Stages the caller verified or wrote itself: the scan reads only their manifests. */
  trusted?: ReadonlySet<string>;
}

/** What {@link finalizeSweep} wrote. */
export interface FinalizeResult {
  keys: SweepKeys;
  rows: ResultRow[];
  summary: Summary | null;
  /** Stages that failed verification (left out of the results as pending). */
  corrupt: PlanScan['corrupt'];
}

/** Writes results.csv/json, summary.json and report.html for a sweep (partial sweeps included). */
export async function finalizeSweep(store: ArtifactStore, plan: Plan, opts: FinalizeOptions): Promise<FinalizeResult> {
  const keys = sweepKeys(plan.name, plan.sweepId);
  const scan = opts.scan ?? (await scanPlan(store, plan, { trusted: opts.trusted }));
  const rows = await collectResultRows(store, plan, scan);
  await store.put(keys.resultsCsv, enc.encode(toCsv(rows)));
  // One fidelity, or all of them joined ('corrected + paper-code') when fidelity is an axis; the
  // report marks "this sweep's fidelity" only in the first case.
  const fidelities = [...new Set(rows.map((r) => String(r.params.fidelity ?? 'corrected')))].sort();
  const fidelity = fidelities.length > 0 ? fidelities.join(' + ') : 'corrected';
  const sweep = { name: plan.name, sweepId: plan.sweepId, specText: opts.specText, codeVersion: opts.codeVersion, fidelity, createdAt: new Date().toISOString() };
  await store.put(keys.resultsJson, enc.encode(JSON.stringify({ sweep: { name: sweep.name, sweepId: sweep.sweepId, codeVersion: sweep.codeVersion }, rows }, null, 1)));
  if (opts.tablesOnly) return { keys, rows, summary: null, corrupt: scan.corrupt };
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const summary = await aggregate({
    sweep,
    rows,
    loadWeights: (row) => loadWeights(store, row),
    loadCurve: (row, which) => loadCurve(store, byId, row, which),
  });
  await store.put(keys.summary, enc.encode(JSON.stringify(summary)));
  await store.put(keys.report, enc.encode(renderReport(summary, { refreshSeconds: opts.refreshSeconds })));
  return { keys, rows, summary, corrupt: scan.corrupt };
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
  let bytes: Uint8Array;
  try {
    bytes = await readStageFile(store, row.stageId, 'wEff.npy');
  } catch (err) {
    // Changed behind its manifest since the scan: left out here; the next run repairs it.
    if (isCorruptionError(err)) return null;
    throw err;
  }
  const a = parseNpy(bytes, `stage ${row.stageId.slice(0, 12)} wEff.npy`);
  const n = a.shape[0];
  const w = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
  return { w, n, nExc: excitatoryCount(n, Number(row.params.excFraction ?? DEFAULT_EXC_FRACTION)) };
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
    // Absent, or changed behind its manifest since the scan (the next run repairs it).
    if (err instanceof StoreNotFoundError || isCorruptionError(err)) return null;
    throw err;
  }
}
