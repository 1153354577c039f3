/**
 * Stage identity: a content address computed from canonical JSON.
 *
 * Canonical JSON here means: object keys sorted (by UTF-16 code unit, `Array.prototype.sort`),
 * no whitespace, numbers in JavaScript's shortest round-trip form (so `1e-3`, `0.001` and `0.0010`
 * in a YAML file, which all parse to the same double, serialise identically; `1` and `1.0` too),
 * `-0` written as `0`, object members whose value is `undefined` left out. Non-finite numbers,
 * functions, symbols, bigints and `undefined` array items are rejected.
 *
 * Speed (planning writes one canonical text per stage, millions for the largest sweeps): the
 * writer concatenates strings, sorts the keys of each distinct key list once ({@link keyOrder}),
 * and builds field paths only to name the culprit of a {@link CanonicalJsonError}.
 */
import * as crypto from 'node:crypto';
import type { Json, StageKind } from './types.js';
import type { StageConfig } from './stage-config.js';

/** A value could not be written as canonical JSON (non-finite number, function, ...). */
export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

/** Thrown by the fast writer on a value that is not JSON; {@link canonicalJson} then names the culprit. */
const NOT_JSON = new Error('not JSON');

/** How the keys of an object are visited. */
interface KeyOrder {
  /** The key list this order is for (`Object.keys` order). */
  readonly keys: readonly string[];
  /** Indices into `keys`, sorted by key. */
  readonly sorted: readonly number[];
  /** `JSON.stringify` of each key, in sorted order. */
  readonly quoted: readonly string[];
}

/** Sorted visiting orders by key list (`\0`-joined); bounded so odd inputs cannot grow it. */
const keyOrders = new Map<string, KeyOrder>();
const MAX_KEY_ORDERS = 4096;

/** Whether two key lists are equal (a key holding `\0` could make two lists join to the same text). */
function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The sorted visiting order of an object's keys (computed once per distinct key list). */
function keyOrder(keys: string[]): KeyOrder {
  const sig = keys.join('\0');
  let order = keyOrders.get(sig);
  if (order === undefined || !sameKeys(order.keys, keys)) {
    const sortedKeys = [...keys].sort();
    order = { keys, sorted: sortedKeys.map((k) => keys.indexOf(k)), quoted: sortedKeys.map((k) => JSON.stringify(k)) };
    if (keyOrders.size >= MAX_KEY_ORDERS) keyOrders.clear();
    keyOrders.set(sig, order);
  }
  return order;
}

/** Canonical JSON text of a value; throws {@link NOT_JSON} on anything that is not JSON. */
function fast(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw NOT_JSON;
      return v === 0 ? '0' : JSON.stringify(v); // -0 === 0: written as 0
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          if (item === undefined) throw NOT_JSON;
          s += i === 0 ? fast(item) : `,${fast(item)}`;
        }
        return `${s}]`;
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      const { sorted, quoted } = keyOrder(keys);
      let s = '{';
      for (let i = 0; i < sorted.length; i++) {
        const member = obj[keys[sorted[i]]];
        if (member === undefined) continue;
        s += `${s.length === 1 ? '' : ','}${quoted[i]}:${fast(member)}`;
      }
      return `${s}}`;
    }
    default:
      throw NOT_JSON;
  }
}

/** Finds the first part of a value that is not JSON and throws a {@link CanonicalJsonError} naming its path. */
function explain(v: unknown, path: string): void {
  if (v === null) return;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${path || '<root>'}: ${v} is not a finite number`);
      return;
    case 'object':
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] === undefined) throw new CanonicalJsonError(`${path}[${i}]: undefined is not JSON`);
          explain(v[i], `${path}[${i}]`);
        }
        return;
      }
      for (const k of Object.keys(v).sort()) {
        const member = (v as Record<string, unknown>)[k];
        if (member !== undefined) explain(member, path ? `${path}.${k}` : k);
      }
      return;
    default:
      throw new CanonicalJsonError(`${path || '<root>'}: a ${typeof v} is not JSON`);
  }
}

/**
 * Canonical JSON text of a value (sorted keys, normalised numbers; see the module comment).
 * Two values that are equal as JSON data give the same text.
 * @throws CanonicalJsonError naming the path of the first part that is not JSON
 */
export function canonicalJson(value: unknown): string {
  try {
    return fast(value);
  } catch (err) {
    if (err !== NOT_JSON) throw err;
    explain(value, '');
    throw new CanonicalJsonError('<root>: not JSON'); // unreachable: explain throws first
  }
}

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest, about twice as fast as createHash for short texts. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

/** Lower-case hex sha256 of a UTF-8 string. */
export function sha256Hex(text: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

/** Hex sha256 of the canonical JSON of a value. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * The canonical JSON text that a stage id hashes: that of `{kind, config, parents, codeVersion}`,
 * assembled from the config's canonical JSON (keys in sorted order: codeVersion, config, kind,
 * parents).
 * @param configJson `canonicalJson(config)`
 */
export function stageIdentityText(kind: StageKind, configJson: string, parents: readonly string[], codeVersion: string): string {
  if (codeVersion !== lastCodeVersion.value) lastCodeVersion = { value: codeVersion, prefix: `{"codeVersion":${JSON.stringify(codeVersion)},"config":` };
  let ps = '';
  for (let i = 0; i < parents.length; i++) ps += i === 0 ? JSON.stringify(parents[i]) : `,${JSON.stringify(parents[i])}`;
  return `${lastCodeVersion.prefix}${configJson},"kind":${JSON.stringify(kind)},"parents":[${ps}]}`;
}

/** The start of {@link stageIdentityText} for the code version last seen (one per process, as a rule). */
let lastCodeVersion = { value: '', prefix: '{"codeVersion":"","config":' };

/**
 * Identity of a stage: sha256 hex (64 characters) of the canonical JSON of
 * `{kind, config, parents, codeVersion}`. Parents keep their order (it is meaningful).
 */
export function stageId(kind: StageKind, config: StageConfig | Json, parents: readonly string[], codeVersion: string): string {
  return sha256Hex(stageIdentityText(kind, canonicalJson(config), parents, codeVersion));
}

/**
 * The members of an object's canonical JSON, in sorted key order: each `"key":value` text.
 * Objects that share most of their members (the stage configs of one run share the model/task
 * fields) write the shared part once and combine it with {@link canonicalJsonOfMembers}.
 */
export interface CanonicalMembers {
  /** The keys of the members, sorted (members whose value is undefined left out). */
  readonly keys: readonly string[];
  /** `"key":value` canonical JSON of each member, in the order of `keys`. */
  readonly texts: readonly string[];
}

/**
 * The members of a plain object's canonical JSON.
 * @throws CanonicalJsonError as {@link canonicalJson} does
 */
export function canonicalMembers(obj: object): CanonicalMembers {
  const record = obj as Record<string, unknown>;
  const all = Object.keys(record);
  const { sorted, quoted } = keyOrder(all);
  const keys: string[] = [];
  const texts: string[] = [];
  try {
    for (let i = 0; i < sorted.length; i++) {
      const k = all[sorted[i]];
      const v = record[k];
      if (v === undefined) continue;
      keys.push(k);
      texts.push(`${quoted[i]}:${fast(v)}`);
    }
  } catch (err) {
    if (err !== NOT_JSON) throw err;
    explain(obj, '');
    throw new CanonicalJsonError('<root>: not JSON'); // unreachable: explain throws first
  }
  return { keys, texts };
}

/**
 * Canonical JSON of the object whose members are those of `a` and those of `b`:
 * `canonicalJsonOfMembers(canonicalMembers(x), canonicalMembers(y)) === canonicalJson({ ...x, ...y })`
 * when x and y have no key in common.
 * @throws CanonicalJsonError when a key is in both
 */
export function canonicalJsonOfMembers(a: CanonicalMembers, b: CanonicalMembers): string {
  let s = '{';
  let i = 0;
  let j = 0;
  while (i < a.keys.length || j < b.keys.length) {
    let text: string;
    if (j === b.keys.length || (i < a.keys.length && a.keys[i] < b.keys[j])) text = a.texts[i++];
    else if (i === a.keys.length || b.keys[j] < a.keys[i]) text = b.texts[j++];
    else throw new CanonicalJsonError(`${a.keys[i]}: a member of both parts`);
    s += s.length === 1 ? text : `,${text}`;
  }
  return `${s}}`;
}

/**
 * `[...strings].sort()` (UTF-16 code unit order), about twice as fast for many strings: they are
 * bucketed by their first three code units, and each bucket is sorted on its own. Strings with a
 * code unit above 255 in those places fall back to one sort.
 */
export function sortStrings(strings: readonly string[]): string[] {
  if (strings.length < 1024) return [...strings].sort();
  const buckets = new Map<number, string[]>();
  for (const s of strings) {
    // 0: no such code unit (a shorter string sorts first), else code unit + 1.
    const c0 = s.length > 0 ? s.charCodeAt(0) + 1 : 0;
    const c1 = s.length > 1 ? s.charCodeAt(1) + 1 : 0;
    const c2 = s.length > 2 ? s.charCodeAt(2) + 1 : 0;
    if (c0 > 256 || c1 > 256 || c2 > 256) return [...strings].sort();
    const key = (c0 * 257 + c1) * 257 + c2;
    const bucket = buckets.get(key);
    if (bucket === undefined) buckets.set(key, [s]);
    else bucket.push(s);
  }
  const keys = Float64Array.from(buckets.keys()).sort();
  const out = new Array<string>(strings.length);
  let n = 0;
  for (const key of keys) {
    const bucket = buckets.get(key)!;
    if (bucket.length > 1) bucket.sort();
    for (const s of bucket) out[n++] = s;
  }
  return out;
}

/** Stage ids hashed per update by {@link sweepIdOf}. */
const SWEEP_ID_CHUNK = 8192;

/**
 * Identity of a sweep: sha256 hex of the canonical JSON of `{name, stages}` with the stage ids
 * sorted, so the same set of stages under the same name always gives the same id. The text is
 * hashed in chunks (a sweep of millions of stages would otherwise need one string of hundreds of
 * megabytes).
 */
export function sweepIdOf(name: string, stageIds: readonly string[]): string {
  const sorted = sortStrings(stageIds);
  const h = crypto.createHash('sha256');
  h.update(`{"name":${canonicalJson(name)},"stages":[`);
  for (let at = 0; at < sorted.length; at += SWEEP_ID_CHUNK) {
    let chunk = '';
    const end = Math.min(sorted.length, at + SWEEP_ID_CHUNK);
    for (let i = at; i < end; i++) chunk += i === 0 ? canonicalJson(sorted[i]) : `,${canonicalJson(sorted[i])}`;
    h.update(chunk);
  }
  h.update(']}');
  return h.digest('hex');
}
