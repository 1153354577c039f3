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
 * Task-specific parameters and rules: each task declares in the task registry (tasks/registry.ts) the
 * parameters only it reads (celltype: condition, latentScaling, celltypeData, syntheticSamples;
 * smnist: dataSource) and those it does not read (celltype: its layout fixes N, nExc and the
 * threshold; it prunes to Table 1, not to a sparsity). A value from `fixed`
 * or `axes` is ignored by the runs whose task does not read it (so one sweep can mix tasks), but
 * it is an error when no run reads it; in `tasks.<task>` or an `include` entry it is an error
 * outright. In the resolved parameters a parameter a task does not read is `null`, except that
 * a celltype run's nHidden, excFraction and threshold hold the values its layout implies. The
 * checks of a resolved run that depend on its task (cell-type conditions, Table 1 pruning and
 * data sources, sMNIST data folders, pruning with sparsity) are tasks/run-rules.ts's.
 *
 * Learning-rate schedule: `lrSchedule` constant (default) or cosine (rnn/lr-schedule.ts); a
 * cosine run's lrTMax / lrMin default to the authors' 10 and 1e-4, a constant run's are null, and
 * giving either when no run of the sweep is cosine is an error.
 *
 * Data directory override (`dalesweep run --data DIR`, {@link ParseOptions.dataDir}): replaces
 * dataDir in every run that reads one ({@link readsDataDir}), after all of the above, so a sweep
 * file with a placeholder dataDir runs on the folder given on the command line.
 *
 * Files: the parameter vocabulary is `params.ts`, the text, YAML and schema layer (UTF-8,
 * nesting, positions, Ajv messages, SpecError) is `spec-text.ts`; this module holds the defaults,
 * the semantic rules, the expansion of axes into runs and their resolution (the semantic rules
 * are one pass over the raw spec that shares its helpers with resolution).
 */
import { sweepSizeProblem } from './plan-limits.js';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Rule } from '../rnn/types.js';
import type { PruneMode } from './stage-config.js';
import { TASKS, taskReadsParam, type TaskName } from '../tasks/registry.js';
import { applyTaskFixedParams, readsDataDir, taskRunProblems, whyTaskIgnoresParam } from '../tasks/run-rules.js';
import { AUTHORS_COSINE } from '../rnn/lr-schedule.js';
import { DEFAULT_EXC_FRACTION } from '../rnn/init.js';
import { RUN_PARAM_NAMES, type ParamAssignment, type RunParamName, type RunParams, type RunParamValue } from './params.js';
import { checkStructure, clip, decodeSpecText, describeAjvError, formatPath, isObj, linePos, Locator, MAX_ECHO, MAX_RUNS, show, SpecError, validate, type Seg } from './spec-text.js';

export { RUN_PARAM_NAMES, type ParamAssignment, type RunParamName, type RunParams, type RunParamValue } from './params.js';
export { clip, decodeSpecText, formatPath, MAX_ECHO, MAX_NESTING, MAX_RUNS, MAX_SEED, SpecError } from './spec-text.js';

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
  if (!('rule' in axes) && !('rule' in fixed) && sweepTasks.some((t) => PAPER_TASK_DEFAULTS[t]?.rule === undefined)) {
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
        fail(where(k), whyTaskIgnoresParam(k, p.task), true);
      } else if ((k in fixed || k in axes) && !ignoredBy.has(k)) {
        ignoredBy.set(k, p.task);
      }
    }
    if ((p.rule as Rule | undefined) === undefined) fail(where('rule'), `"rule" is required for task ${p.task} (only task celltype defaults to dale)`);
    for (const problem of taskRunProblems(p, stages.pruneMode)) {
      const segs: Seg[] =
        problem.at === 'run' ? (a.include === null ? ['axes'] : ['include', a.include.index]) : problem.at === 'prune-mode' ? ['stages', 'prune', 'mode'] : where(problem.at.param as RunParamName);
      fail(segs, problem.message, problem.key);
    }
    readsData ||= readsDataDir(p);
    if (p.lrSchedule === 'cosine') cosine = true;
    else {
      for (const k of ['lrTMax', 'lrMin'] as const) {
        const explicit = (a.include !== null && a.include.values[k] !== undefined) || k in over;
        if (explicit) fail(where(k), `${k} applies only to lrSchedule cosine (this run's lrSchedule is ${p.lrSchedule})`, true);
      }
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
    if (!read.has(k)) fail(k in axes ? ['axes', k] : ['fixed', k], `${whyTaskIgnoresParam(k, task)}; no run of this sweep reads it`, true);
  }
  return spec;
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
  applyTaskFixedParams(params);
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
