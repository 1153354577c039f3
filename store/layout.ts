/**
 * Where things live in an artifact store, and what a valid key is.
 *
 *   stages/<stageId>/<file>            a stage's artifacts (written first)
 *   stages/<stageId>/manifest.json     written last: its presence marks the stage complete
 *   stages/<stageId>/failure.json      the last failure of a stage that is not complete
 *   sweeps/<name>-<sweepId[0:12]>/     plan.json, spec.yaml, results.csv, results.json,
 *                                      summary.json, report.html
 */
import { StoreKeyError } from './types.js';

/** Longest key accepted (S3's limit is 1024 bytes). */
export const MAX_KEY_LENGTH = 1024;

/** Infix of the fs store's temporary files; no key may contain it. */
export const TEMP_INFIX = '.dalesweep-tmp-';

const CONTROL = /[\u0000-\u001f\u007f]/;

function checkSegments(what: string, s: string, segments: string[]): void {
  for (const seg of segments) {
    if (seg === '') throw new StoreKeyError(`${what} ${JSON.stringify(s)}: empty path segment (expected a/b/c)`);
    if (seg === '.' || seg === '..') throw new StoreKeyError(`${what} ${JSON.stringify(s)}: "${seg}" segments are not allowed (keys may not escape the store)`);
  }
}

/**
 * Checks a key: relative, `/`-separated, no empty / `.` / `..` segments, no backslash, no control
 * characters, at most {@link MAX_KEY_LENGTH} UTF-8 bytes.
 * @throws StoreKeyError naming the key and the rule it breaks
 */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreKeyError('store key: expected a non-empty relative path such as stages/<id>/manifest.json');
  validateCommon('store key', key);
  checkSegments('store key', key, key.split('/'));
}

/** Checks a list prefix: `''`, or a key-like string that may end with `/`. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  validateCommon('store prefix', prefix);
  const segs = prefix.split('/');
  if (segs[segs.length - 1] === '') segs.pop();
  checkSegments('store prefix', prefix, segs);
}

function validateCommon(what: string, s: string): void {
  if (s.startsWith('/')) throw new StoreKeyError(`${what} ${JSON.stringify(s)}: absolute paths are not allowed (expected a relative path)`);
  if (s.includes('\\')) throw new StoreKeyError(`${what} ${JSON.stringify(s)}: backslashes are not allowed (use /)`);
  if (CONTROL.test(s)) throw new StoreKeyError(`${what} ${JSON.stringify(s)}: control characters are not allowed`);
  if (s.includes(TEMP_INFIX)) throw new StoreKeyError(`${what} ${JSON.stringify(s)}: "${TEMP_INFIX}" is reserved for temporary files`);
  if (Buffer.byteLength(s, 'utf8') > MAX_KEY_LENGTH) throw new StoreKeyError(`${what}: longer than ${MAX_KEY_LENGTH} bytes`);
}

const STAGE_ID = /^[0-9a-f]{8,64}$/;

function checkStageId(id: string): void {
  if (!STAGE_ID.test(id)) throw new StoreKeyError(`stage id ${JSON.stringify(id)}: expected lower-case hex (a sha256)`);
}

/** `stages/` */
export const STAGES_PREFIX = 'stages/';

/** `stages/<id>/` */
export function stageDir(id: string): string {
  checkStageId(id);
  return `${STAGES_PREFIX}${id}/`;
}

/** `stages/<id>/manifest.json` (written last; marks the stage complete). */
export function stageManifestKey(id: string): string {
  return `${stageDir(id)}manifest.json`;
}

/** `stages/<id>/failure.json` */
export function stageFailureKey(id: string): string {
  return `${stageDir(id)}failure.json`;
}

/** Names a stage's own files may not take. */
export const RESERVED_STAGE_FILES: readonly string[] = ['manifest.json', 'failure.json'];

/** `stages/<id>/<name>`; `name` may contain `/` (e.g. `weights/wHh.npy`). Checkpoints live apart, under `checkpoints/<id>/` (activities/checkpoint.ts). */
export function stageFileKey(id: string, name: string): string {
  const key = `${stageDir(id)}${name}`;
  validateKey(key);
  return key;
}

/** The stage id of a `stages/<id>/manifest.json` key, or null for any other key. */
export function stageIdOfManifestKey(key: string): string | null {
  const m = /^stages\/([0-9a-f]{8,64})\/manifest\.json$/.exec(key);
  return m ? m[1] : null;
}

/** Keys of a sweep's folder. */
export interface SweepKeys {
  /** `sweeps/<name>-<sweepId first 12>/` */
  dir: string;
  plan: string;
  spec: string;
  resultsCsv: string;
  resultsJson: string;
  summary: string;
  report: string;
}

/** `sweeps/<name>-<sweepId first 12>/` */
export function sweepDir(name: string, sweepId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') {
    throw new StoreKeyError(`sweep name ${JSON.stringify(name)}: expected [A-Za-z0-9._-]+`);
  }
  if (!/^[0-9a-f]{12,}$/.test(sweepId)) throw new StoreKeyError(`sweep id ${JSON.stringify(sweepId)}: expected at least 12 lower-case hex digits`);
  return `sweeps/${name}-${sweepId.slice(0, 12)}/`;
}

/** All keys of a sweep's folder. */
export function sweepKeys(name: string, sweepId: string): SweepKeys {
  const dir = sweepDir(name, sweepId);
  return {
    dir,
    plan: `${dir}plan.json`,
    spec: `${dir}spec.yaml`,
    resultsCsv: `${dir}results.csv`,
    resultsJson: `${dir}results.json`,
    summary: `${dir}summary.json`,
    report: `${dir}report.html`,
  };
}
