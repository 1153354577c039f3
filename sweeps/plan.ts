/**
 * Planning: a validated {@link SweepSpec} → a {@link Plan}, the DAG of content-addressed stages
 * plus one results row per evaluation. Pure: reads and writes nothing.
 *
 * Per run (an assignment of the axes):
 * - always `train` (dense; config = the model/task and optimiser fields only, so one dense model
 *   of (task, rule, seed, training parameters) is shared by every pruning method and sparsity)
 *   → `evaluate` (phase `dense`, shared likewise);
 * - with pruning, mode `one-shot`: `prune` (parent: train) → `evaluate` (phase `pruned`, when
 *   `evaluateWithoutRetraining`), and `finetune` (parent: prune) → `evaluate` (phase `finetuned`);
 * - mode `iterative` (k rounds): prune_r (sparsity 1 − (1 − s)^(r/k), `iterativeSchedule`, prune seed
 *   pruneSeed + (r − 1)·{@link ITERATIVE_SEED_STRIDE}) → finetune_r, r = 1..k, each round's prune
 *   reading the previous round's fine-tuned model; the last prune is evaluated without retraining
 *   (if asked) and the last fine-tune is evaluated. With k = 1 it plans exactly the one-shot stages;
 * - mode `at-init`: `prune` (atInit, no parent: prunes the initial weights) → `train` (parent: that
 *   prune; dense epochs, mask fixed) → `evaluate` (phase `finetuned`: trained under the mask).
 *
 * Task celltype (SCIENCE.md §6) plans the same chains with pruning method `celltype`: the prune
 * stage prunes every intra-area population block to its Table 1 connection probability and adds
 * the inter-area bands (no sparsity; iterative mode is rejected by the spec), the fine-tune keeps
 * that mask; rows carry `condition` (and the layout's N as nHidden) so results group by condition.
 *
 * Identical stages (same kind, config, parents and code version) are planned once. What
 * `dalesweep plan` reports about a plan is sweeps/plan-summary.ts.
 */
import type { Plan, RunRow, Stage, StageKind, Json } from './types.js';
import type {
  EvaluateStageConfig,
  FinetuneStageConfig,
  ModelTaskConfig,
  NoopStageConfig,
  OptimConfig,
  PruneStageConfig,
  StageConfig,
  TrainStageConfig,
} from './stage-config.js';
import { canonicalJson, canonicalJsonOfMembers, canonicalMembers, sha256Hex, stageIdentityText, sweepIdOf, type CanonicalMembers } from './identity.js';
import { expandAssignments, RUN_PARAM_NAMES, resolveRun, SpecError, type RunParamName, type RunParams, type SweepSpec } from './spec.js';
import { MAX_PLANNED_STAGES, planSizeProblem, stagesPerRunBound, sweepSizeProblem } from './plan-limits.js';
import { conditionSteps } from '../celltype/conditions.js';
import { iterativeSchedule } from '../rnn/prune.js';
import { TASKS } from '../tasks/registry.js';

/** Round r of iterative pruning draws with prune seed `pruneSeed + (r − 1) · stride`. */
export const ITERATIVE_SEED_STRIDE = 1_000_003;

export interface PlanOptions {
  /** Version of the model code (part of every stage id), e.g. `codeVersion()` from activities/. */
  codeVersion: string;
}

/** Estimated cost of a stage in multiply-adds (relative: used for progress ETA and `plan`). */
export function stageCost(config: StageConfig): number {
  if (config.kind === 'noop') return 1;
  const T = config.celltype !== undefined ? conditionSteps(config.celltype.condition) : TASKS[config.task].steps;
  const nn = config.nHidden * config.nHidden;
  switch (config.kind) {
    case 'train':
    case 'finetune':
      // forward + backward through time ≈ 3 recurrent mat-vecs per sample-step
      return 3 * config.epochs * config.nTrain * T * nn;
    case 'evaluate':
      // one forward pass over the test set (celltype with nTest 0: the training set) + the
      // maximum spanning tree (N² log N²)
      return (config.nTest > 0 ? config.nTest : config.nTrain) * T * nn + nn * Math.log2(Math.max(2, nn));
    case 'prune':
      return 10 * nn;
  }
}

function modelTask(p: RunParams): ModelTaskConfig {
  return {
    task: p.task,
    rule: p.rule,
    fidelity: p.fidelity,
    backend: p.backend,
    nHidden: p.nHidden,
    excFraction: p.excFraction,
    threshold: p.threshold,
    nTrain: p.nTrain,
    nTest: p.nTest,
    dataSource: p.dataSource,
    dataDir: p.dataDir,
    seed: p.seed,
    ...(p.task === 'celltype'
      ? {
          celltype: {
            condition: p.condition!,
            latentScaling: p.latentScaling!,
            data: p.celltypeData!,
            syntheticSamples: p.syntheticSamples,
          },
        }
      : {}),
  };
}

/** The own fields of a train or fine-tune config: `{ kind, ...optimiser fields }`. */
function optim<K extends 'train' | 'finetune'>(kind: K, p: RunParams, epochs: number): { kind: K } & OptimConfig {
  const o: { kind: K } & OptimConfig = { kind, epochs, batchSize: p.batchSize, lr: p.lr, optimizer: p.optimizer };
  if (p.lrSchedule === 'cosine') o.lrSchedule = { kind: 'cosine', tMax: p.lrTMax!, etaMin: p.lrMin! };
  return o;
}

/** Fine-tuning epochs of a run: its own value, else the spec's default; `half` = ceil(epochs / 2). */
export function finetuneEpochsOf(p: RunParams, spec: SweepSpec): number {
  const e = p.finetuneEpochs ?? spec.stages.finetuneEpochs;
  return e === 'half' ? Math.ceil(p.epochs / 2) : e;
}

/** Builds a deduplicated stage list (insertion order is topological: parents are added first). */
class StageTable {
  readonly stages = new Map<string, Stage>();
  constructor(private readonly codeVersion: string) {}

  /**
   * Adds a stage unless an identical one is planned.
   * @param configJson `canonicalJson(config)` (planning writes most of it once per run)
   * @param config builds the config (called only when the stage is new)
   * @returns the stage's id, `stageId(kind, config, parents, codeVersion)`
   */
  add(kind: StageKind, configJson: string, config: () => StageConfig, parents: string[], queue: string): string {
    const id = sha256Hex(stageIdentityText(kind, configJson, parents, this.codeVersion));
    if (!this.stages.has(id)) {
      const c = config();
      this.stages.set(id, { id, kind, config: c, parents, queue, cost: stageCost(c) });
    }
    return id;
  }
}

/** The own fields of a stage config of kind K (besides the model/task fields). */
type OwnFields<C extends StageConfig & ModelTaskConfig> = Omit<C, keyof ModelTaskConfig>;

/**
 * The stages of one run: each config is `{ kind, ...modelTask, ...own }` (key order: kind, the
 * model/task fields, then the kind's own fields), and its canonical JSON is assembled from the
 * model/task members (written once per run) and the kind's own members.
 */
class RunStages {
  private readonly members: CanonicalMembers;
  constructor(
    private readonly table: StageTable,
    private readonly modelTask: ModelTaskConfig,
    private readonly queue: string,
  ) {
    this.members = canonicalMembers(modelTask);
  }

  /** Canonical JSON of the config with these own fields. */
  json<C extends StageConfig & ModelTaskConfig>(own: OwnFields<C>): string {
    return canonicalJsonOfMembers(this.members, canonicalMembers(own));
  }

  /**
   * Adds the stage with these own fields and parents (see {@link StageTable.add}).
   * @param json `this.json(own)` when already computed
   */
  add<C extends StageConfig & ModelTaskConfig>(own: OwnFields<C>, parents: string[], json = this.json(own)): string {
    return this.table.add(own.kind, json, () => Object.assign({ kind: own.kind, ...this.modelTask }, own) as C, parents, this.queue);
  }

  /** Adds the evaluation of `parent`'s model for a phase (its own members are written once per phase). */
  evaluate(phase: EvaluateStageConfig['phase'], parent: string): string {
    const { own, members } = EVALUATE_OWN[phase];
    return this.add<EvaluateStageConfig>(own, [parent], canonicalJsonOfMembers(this.members, members));
  }
}

/** The own fields of each phase's evaluate config and their canonical members. */
const EVALUATE_OWN = Object.fromEntries(
  (['dense', 'pruned', 'finetuned'] as const).map((phase) => {
    const own: OwnFields<EvaluateStageConfig> = Object.freeze({ kind: 'evaluate', phase });
    return [phase, { own, members: canonicalMembers(own) }];
  }),
) as Record<EvaluateStageConfig['phase'], { own: OwnFields<EvaluateStageConfig>; members: CanonicalMembers }>;

/**
 * A map that keeps at most about 2 × `capacity` entries: when the current generation is full it
 * becomes the previous one, and the one before is dropped.
 */
class RecentMap<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.current.get(key) ?? this.previous.get(key);
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.capacity) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}

/**
 * Train configs remembered with the ids of their dense stages: runs that differ only in pruning
 * (method, sparsity, prune seed, fine-tuning) share them, and are usually planned within a few
 * thousand runs of each other.
 */
const DENSE_MEMO_CAPACITY = 16_384;

/** The columns a results row has besides the run's parameters. */
interface RowExtra {
  mode: string | null;
  finetuneEpochs: number | null;
  phase: string;
}

/**
 * Builds the flat parameters of results rows: every parameter (the celltype-only ones only on
 * celltype rows), then `mode` and `phase`, with `finetuneEpochs` (a parameter) replaced by the
 * row's. Each row is a copy of a template holding the keys in that order, filled in place: a
 * copy keeps the template's compact layout, whereas adding ~30 keys one by one to `{}` makes
 * V8 store them in a hash table (about 1.6 kB a row instead of 0.3 kB).
 */
class RowParamsBuilder {
  private readonly keys: readonly RunParamName[];
  private readonly template: { [k: string]: Json };

  constructor(celltype: boolean) {
    this.keys = RUN_PARAM_NAMES.filter((k) => celltype || !TASKS.celltype.ownParams.includes(k));
    const shape: { [k: string]: Json } = {};
    for (const k of this.keys) shape[k] = null;
    Object.assign(shape, { mode: null, finetuneEpochs: null, phase: null } satisfies { [K in keyof RowExtra]: null });
    this.template = JSON.parse(JSON.stringify(shape)) as { [k: string]: Json };
  }

  /**
   * @param dense a dense row: pruning, sparsity, pruneSeed and finetuneEpochs are null whatever
   *   the run's values (the dense stages are shared by every pruning of the run's model)
   */
  build(params: RunParams, extra: RowExtra, dense: boolean): { [k: string]: Json } {
    const flat = { ...this.template };
    for (const k of this.keys) flat[k] = params[k];
    if (dense) flat.pruning = flat.sparsity = flat.pruneSeed = null;
    flat.mode = extra.mode;
    flat.finetuneEpochs = extra.finetuneEpochs;
    flat.phase = extra.phase;
    return flat;
  }
}

/**
 * A sweep too large to plan ({@link MAX_PLANNED_STAGES}, sweeps/plan-limits.ts). A
 * {@link SpecError} (exit status 2) on the field `axes`, naming the run count and the limit.
 */
export class PlanTooLargeError extends SpecError {
  override name = 'PlanTooLargeError';
  /** Most stage slots a plan may hold (runs × stages per run, before sharing). */
  readonly limit = MAX_PLANNED_STAGES;
  /**
   * @param file the sweep file
   * @param runs runs the sweep expands to
   * @param stagesPerRun most stages one run plans
   */
  constructor(
    file: string,
    readonly runs: number,
    readonly stagesPerRun: number,
  ) {
    super(file, 'axes', planSizeProblem(runs, stagesPerRun) ?? `${runs} runs of up to ${stagesPerRun} stages each`);
  }
}

/**
 * Refuses a sweep too large to plan, before planning anything: the product of the axes (plus the
 * include entries) bounds the runs; only above the limit are the runs counted exactly.
 * @throws PlanTooLargeError when runs × {@link stagesPerRunBound} exceeds {@link MAX_PLANNED_STAGES}
 */
export function checkPlanSize(spec: SweepSpec): void {
  const size = sweepSizeProblem(spec, () => {
    let runs = 0;
    for (const _ of expandAssignments(spec)) runs++;
    return runs;
  });
  if (size !== null) throw new PlanTooLargeError(spec.file, size.runs, size.stagesPerRun);
}

/**
 * Plans a sweep.
 * @returns stages in topological order, each once; one row per evaluate stage, with the run's
 *   flat parameters (every parameter, plus `mode` and `phase`; `null` where not applicable;
 *   pruneSeed `null` when it is the run's seed; the celltype-only parameters only on celltype
 *   rows).
 * @throws PlanTooLargeError (before any planning) for a sweep over {@link MAX_PLANNED_STAGES} stage slots
 */
export function planSweep(spec: SweepSpec, opts: PlanOptions): Plan {
  checkPlanSize(spec);
  const table = new StageTable(opts.codeVersion);
  const rows = new Map<string, RunRow>();
  const celltypeRow = new RowParamsBuilder(true);
  const otherRow = new RowParamsBuilder(false);
  const addRow = (evalId: string, chain: string[], params: RunParams, extra: RowExtra, dense = false): void => {
    if (rows.has(evalId)) return;
    const flat = (params.task === 'celltype' ? celltypeRow : otherRow).build(params, extra, dense);
    rows.set(evalId, { params: flat, stageId: evalId, stageIds: chain });
  };
  const { pruneMode, rounds, finetune, evaluateWithoutRetraining } = spec.stages;
  /** Ids of the dense train and evaluate stages by the train config's canonical JSON. */
  const denseIds = new RecentMap<string, { train: string; denseEval: string }>(DENSE_MEMO_CAPACITY);

  for (const a of expandAssignments(spec)) {
    const p = resolveRun(spec, a.values).params;
    const run = new RunStages(table, modelTask(p), p.queue);
    const trainOwn: OwnFields<TrainStageConfig> = optim('train', p, p.epochs);
    const trainJson = run.json(trainOwn);
    let dense = denseIds.get(trainJson);
    if (dense === undefined) {
      // The train stage, its evaluation and the dense row are a function of the train config
      // (which holds every model/task field): a remembered one is planned already.
      const train = run.add(trainOwn, [], trainJson);
      const denseEval = run.evaluate('dense', train);
      addRow(denseEval, [train, denseEval], p, { mode: null, finetuneEpochs: null, phase: 'dense' }, true);
      dense = { train, denseEval };
      denseIds.set(trainJson, dense);
    }
    const { train } = dense;
    if (p.pruning === null || (p.sparsity === null && p.pruning !== 'celltype')) continue;

    const pruneSeed = p.pruneSeed ?? p.seed;
    const pruneOwn = (sparsity: number | null, seed: number, atInit: boolean): OwnFields<PruneStageConfig> => ({
      kind: 'prune',
      method: p.pruning!,
      sparsity,
      pruneSeed: seed,
      atInit,
    });
    // Rows keep pruneSeed as given (null: the run's seed), so that the results group over seeds
    // (a pruneSeed equal to the seed would split every group into single seeds).

    if (pruneMode === 'at-init') {
      const prune = run.add(pruneOwn(p.sparsity, pruneSeed, true), []);
      const trained = run.add(trainOwn, [prune], trainJson);
      const ev = run.evaluate('finetuned', trained);
      addRow(ev, [prune, trained, ev], p, { mode: pruneMode, finetuneEpochs: null, phase: 'finetuned' });
      continue;
    }

    const k = pruneMode === 'iterative' ? rounds : 1;
    const ftEpochs = finetuneEpochsOf(p, spec);
    const ftOwn: OwnFields<FinetuneStageConfig> = optim('finetune', p, ftEpochs);
    const ftJson = run.json(ftOwn);
    const chain = [train];
    let prev = train;
    const schedule = p.sparsity === null ? null : iterativeSchedule(p.sparsity, k);
    for (let r = 1; r <= k; r++) {
      const s = schedule === null ? null : schedule[r - 1];
      const prune = run.add(pruneOwn(s, pruneSeed + (r - 1) * ITERATIVE_SEED_STRIDE, false), [prev]);
      chain.push(prune);
      if (r === k && evaluateWithoutRetraining) {
        const ev = run.evaluate('pruned', prune);
        addRow(ev, chain.concat(ev), p, { mode: pruneMode, finetuneEpochs: null, phase: 'pruned' });
      }
      if (!finetune) break;
      prev = run.add(ftOwn, [prune], ftJson);
      chain.push(prev);
    }
    if (finetune) {
      const ev = run.evaluate('finetuned', prev);
      addRow(ev, chain.concat(ev), p, { mode: pruneMode, finetuneEpochs: ftEpochs, phase: 'finetuned' });
    }
  }

  const stages = [...table.stages.values()];
  return { sweepId: sweepIdOf(spec.name, stages.map((s) => s.id)), name: spec.name, stages, rows: [...rows.values()] };
}

export interface NoopSweepOptions {
  codeVersion: string;
  /** Simulated work per stage, ms. @default 0 */
  sleepMs?: number;
  /** Parents of stage i (indices < i). @default none */
  parents?(i: number): number[];
  /** Queue of stage i. @default 'cpu' */
  queue?(i: number): string;
  /** Sweep name (part of the sweep id). @default `noop-<n>` */
  name?: string;
  /** Indices of stages that fail deterministically (tests of failure handling). @default none */
  fail?: ReadonlySet<number>;
  /** Part of every stage's config, so that the stage ids differ from those of another call. @default none */
  salt?: string;
}

/** A plan of `n` noop stages with planner identities (benchmarks and engine tests). */
export function noopSweep(n: number, opts: NoopSweepOptions): Plan {
  const table = new StageTable(opts.codeVersion);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const config: NoopStageConfig = { kind: 'noop', index: i, sleepMs: opts.sleepMs ?? 0, ...(opts.fail?.has(i) ? { fail: true } : {}), ...(opts.salt !== undefined ? { salt: opts.salt } : {}) };
    const parents = (opts.parents?.(i) ?? []).map((j) => {
      if (!(j >= 0 && j < i)) throw new RangeError(`noopSweep: parent ${j} of stage ${i} must be an earlier index`);
      return ids[j];
    });
    ids.push(table.add('noop', canonicalJson(config), () => config, parents, opts.queue?.(i) ?? 'cpu'));
  }
  const stages = [...table.stages.values()];
  const name = opts.name ?? `noop-${n}`;
  return { sweepId: sweepIdOf(name, ids), name, stages, rows: [] };
}
