/**
 * What the `run`, `plan`, `status` and `report` commands share: loading and planning a sweep file,
 * finding a sweep already in a store by name or id, and the common option definitions.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { codeVersion } from '../activities/code-version.js';
import type { SweepRecord } from '../activities/finalize.js';
import { listSweepFolders } from '../activities/sweep-progress.js';
import { sweepKeys } from '../store/layout.js';
import { openStore } from '../store/open.js';
import type { ArtifactStore } from '../store/types.js';
import { planSweep } from '../sweeps/plan.js';
import { decodeSpecText, parseSpec, type ParseOptions } from '../sweeps/spec.js';
import { stageDataProblems } from '../tasks/data-files.js';
import type { Plan } from '../sweeps/types.js';
import { UsageError } from '../errors/errors.js';

/** `--store URL`, also from DALESWEEP_STORE; default `./runs`. */
export function storeOption(): Option {
  return new Option('--store <url>', 'artifact store: a path, file://..., or s3://bucket/prefix?endpoint=...').env('DALESWEEP_STORE').default('runs');
}

/**
 * `--data DIR`: the data directory of the runs that read one (celltype with celltypeData files,
 * smnist with dataSource mnist), replacing the sweep file's dataDir (e.g. the placeholder of
 * sweeps/paper/celltype.yaml). It becomes part of those runs' stage configs, so it changes their
 * identities.
 */
export function dataOption(): Option {
  return new Option('--data <dir>', "data directory for the runs that read one (celltype with celltypeData files, smnist with dataSource mnist); replaces the sweep file's dataDir");
}

/**
 * The absolute path of a `--data` value, checked to be an existing directory.
 * @throws UsageError (exit 2) naming the directory when it does not exist or is not a directory
 */
export function dataDirFlag(dir: string | undefined): ParseOptions {
  if (dir === undefined) return {};
  if (dir.trim() === '') throw new UsageError('--data needs a directory');
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new UsageError(`--data: directory ${abs} does not exist`);
  if (!statSync(abs).isDirectory()) throw new UsageError(`--data: ${abs} is not a directory`);
  return { dataDir: abs };
}

/** `--temporal-address HOST:PORT`, also from DALESWEEP_TEMPORAL_ADDRESS; default 127.0.0.1:7233. */
export function temporalAddressOption(): Option {
  return new Option('--temporal-address <host:port>', 'Temporal frontend')
    .env('DALESWEEP_TEMPORAL_ADDRESS')
    .default('127.0.0.1:7233')
    .argParser((v: string) => {
      if (!/^[^:\s]+:\d+$/.test(v)) throw new UsageError(`--temporal-address must be HOST:PORT, got '${v}'`);
      return v;
    });
}

/** `--namespace NS`, also from DALESWEEP_TEMPORAL_NAMESPACE; default `default`. */
export function namespaceOption(): Option {
  return new Option('--namespace <ns>', 'Temporal namespace').env('DALESWEEP_TEMPORAL_NAMESPACE').default('default');
}

/** A positive-integer option parser naming the flag in its error. */
export function positiveInt(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** A positive-number option parser naming the flag in its error. */
export function positiveNumber(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${v}'`);
    return n;
  };
}

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

/** Opens the store named by `--store`, mapping URL errors to exit status 2. */
export async function openStoreFlag(url: string): Promise<ArtifactStore> {
  return openStore(url);
}

/** Local path of a key in a filesystem store, or null for other stores. */
export function localPathOf(store: ArtifactStore, key: string): string | null {
  if (!store.url.startsWith('file://')) return null;
  return new URL(key, store.url.endsWith('/') ? store.url : `${store.url}/`).pathname;
}

/** Where a key can be found, for messages: its local path in a filesystem store, else its URL. */
export function locationOf(store: ArtifactStore, key: string): string {
  return localPathOf(store, key) ?? `${store.url.replace(/\/$/, '')}/${key}`;
}
