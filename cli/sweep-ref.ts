/**
 * A sweep as the commands name it: a sweep file, read, planned and its data files checked
 * ({@link planSweepFile}), or a sweep already in a store found by file, name or id prefix
 * ({@link findSweep}). The options the commands share are cli/options.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { codeVersion } from '../activities/code-version.js';
import type { SweepRecord } from '../activities/finalize.js';
import { listSweepFolders } from '../activities/sweep-progress.js';
import { sweepKeys } from '../store/layout.js';
import type { ArtifactStore } from '../store/types.js';
import { planSweep } from '../sweeps/plan.js';
import { decodeSpecText, parseSpec, type ParseOptions } from '../sweeps/spec.js';
import { stageDataProblems } from '../tasks/data-files.js';
import type { Plan } from '../sweeps/types.js';
import { UsageError } from '../errors/errors.js';

/** A sweep file read and planned. */
export interface PlannedSweep {
  file: string;
  specText: string;
  plan: Plan;
}

/**
 * The data files of a plan, checked before anything runs or is written (tasks/data-files.ts:
 * existence, a regular file, a valid header of the expected type and shape, enough samples).
 * @throws UsageError (exit 2) listing every missing or malformed file or folder, one a line after
 *   a first line that says how many
 */
export function checkPlanData(file: string, plan: Plan): void {
  const configs = plan.stages.flatMap((s) => (s.config.kind === 'noop' ? [] : [s.config]));
  const problems = stageDataProblems(configs);
  if (problems.length === 0) return;
  const n = problems.length;
  throw new UsageError(
    [`${file}: ${n} data ${n === 1 ? 'file or folder is' : 'files or folders are'} missing or malformed (nothing was run):`, ...problems.map((p) => `  ${p.file}: ${p.problem}`)].join('\n'),
  );
}

/**
 * Reads, validates and plans a sweep file, and checks the data files its stages will read.
 * @param opts parse options (the `--data` override)
 * @throws UsageError (exit 2) for a missing/unreadable file or missing/malformed data files
 *   ({@link checkPlanData}); SpecError (exit 2) for a bad spec, invalid UTF-8 included
 */
export function planSweepFile(file: string, opts: ParseOptions = {}): PlannedSweep {
  if (!existsSync(file)) throw new UsageError(`sweep file ${file} does not exist`);
  if (!statSync(file).isFile()) throw new UsageError(`sweep file ${file} is not a file`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(`sweep file ${file} cannot be read: ${(err as Error).message}`);
  }
  const specText = decodeSpecText(bytes, file);
  const spec = parseSpec(specText, file, opts);
  const plan = planSweep(spec, { codeVersion: codeVersion() });
  checkPlanData(file, plan);
  return { file, specText, plan };
}

/**
 * Finds a sweep: a sweep file (planned now), or the name of a sweep folder in the store
 * (`quick`, `quick-3f2a…`, or a prefix of its id). A sweep's exact name wins over longer names it
 * is a prefix of; when a name matches several folders (the same sweep file planned by different
 * code versions), the one this build plans wins.
 * @throws UsageError when nothing matches, naming the sweeps the store has
 */
export async function findSweep(ref: string, store: ArtifactStore, opts: ParseOptions = {}): Promise<SweepRecord> {
  if (existsSync(ref) && statSync(ref).isFile()) {
    const p = planSweepFile(ref, opts);
    return { plan: p.plan, specText: p.specText, keys: sweepKeys(p.plan.name, p.plan.sweepId) };
  }
  const dirs = (await listSweepFolders(store)).map((f) => f.dir);
  const idOf = (d: string): string => d.slice(d.lastIndexOf('-') + 1);
  const matches = dirs.filter((d) => d === ref || d.slice(0, d.lastIndexOf('-')) === ref || (/^[0-9a-f]{4,}$/.test(ref) && idOf(d).startsWith(ref)) || (ref.length > 4 && d.startsWith(ref)));
  if (matches.length === 0) {
    throw new UsageError(`no sweep '${ref}' in store ${store.url}: give a sweep file or one of ${dirs.length ? dirs.join(', ') : '(the store has no sweeps yet)'}`);
  }
  const { readSweepRecord } = await import('../activities/finalize.js');
  const found = await Promise.all(matches.map((d) => readSweepRecord(store, `sweeps/${d}/plan.json`)));
  if (found.length === 1) return found[0];
  const exact = found.filter((r) => r.keys.dir === `sweeps/${ref}/`);
  if (exact.length === 1) return exact[0];
  // A sweep's exact name beats names it is a prefix of (`lr` vs `lr-paper-code`).
  const named = found.filter((r) => r.plan.name === ref);
  const records = named.length ? named : found;
  if (records.length === 1) return records[0];
  const names = new Set(records.map((r) => r.plan.name));
  if (names.size > 1) throw new UsageError(`'${ref}' matches several sweeps in ${store.url}: ${matches.join(', ')}; give the full folder name`);
  // The same sweep planned by different code versions: take the one this build would plan.
  const current = records.filter((r) => {
    try {
      return planSweep(parseSpec(r.specText, r.keys.spec), { codeVersion: codeVersion() }).sweepId === r.plan.sweepId;
    } catch {
      return false; // a spec this build no longer accepts is not the current one
    }
  });
  if (current.length === 1) return current[0];
  throw new UsageError(`'${ref}' matches several sweeps in ${store.url}: ${matches.join(', ')}; give the full folder name`);
}
