/**
 * The cell-type task (SCIENCE.md §6, paper §4.2): one-step-ahead reconstruction of 18
 * population responses by the CelltypeRNN, the generic Elman RNN of rnn/ configured as:
 *
 * - N = 1440 (90 × latentScaling; 16 in the paper), nIn = 18, nOut = 18, head `linear`, biases
 *   bIn, bHh zero and frozen (the authors' `nn.RNN(bias=False)`);
 * - neurons in the internal Pyr-first order (celltype/populations.ts), so the generic Dale rule
 *   (E = first nExc columns) applies unchanged; inputs and outputs stay in the nesting order;
 * - input mask [N, 18]: a population receives only its own channel (`corrected`; all ones under
 *   `paper-code`, the authors' no-op mask);
 * - readout mask [18, N]: readout k reads population k only; wOut and bOut are drawn as one
 *   PyTorch `nn.Linear(pop_k → 1)` per population (U(±1/√size_k), weight and bias) and frozen;
 * - dense training without a recurrent mask (as the authors); pruning with {@link CelltypeTask.prune}
 *   (block-wise top-prob to Table 1 + inter-area bands), then fine-tuning with that mask fixed.
 *
 * Loss: the generic `linear` head's loss is mean over B·T·18 of (y − target)², which is
 * (1/18) Σ_n [mean over B·T of (y_n − target_n)²]: the one-step-ahead MSE averaged over
 * populations of eq. 6 (eq. 6 sums over t where this averages, a constant factor 1/(B·T)), and
 * exactly the authors' `nn.MSELoss()` on [B, T, 18].
 */
import type { Dataset } from '../rnn/dataset.js';
import { initParams } from '../rnn/init.js';
import { Rng } from '../rnn/rng.js';
import type { Fidelity, ModelConfig, ModelMasks, ParamName, Params, Rule } from '../rnn/types.js';
import { buildCelltypeMasks, pruneCelltype, type CelltypePruneResult } from '../celltype/connectivity.js';
import { checkCelltypeFiles, readCelltypeCondition, splitCelltypeData, type CelltypeData } from '../celltype/data.js';
import { syntheticCelltypeData } from '../celltype/synthetic.js';
import { type CelltypeCondition } from '../celltype/conditions.js';
import { celltypeLayout, PAPER_LATENT_SCALING, type CelltypeLayout } from '../celltype/populations.js';
import { TASKS } from './registry.js';

/** Parameters the training loop must never update. */
export const CELLTYPE_FROZEN: readonly ParamName[] = ['bIn', 'bHh', 'wOut', 'bOut'];

/** Options of {@link celltypeTask}. */
export interface CelltypeTaskOptions {
  /** One of the 12 conditions, e.g. `familiar_change_full`. */
  condition: string;
  /** Run seed: initialisation, readouts, inter-area mask. */
  seed: number;
  /** @default 'corrected' */
  fidelity?: Fidelity;
  /** @default 'dale' */
  rule?: Rule;
  /** `files`: the authors' .npy files in `dataDir`; `synthetic`: the in-memory generator. */
  dataSource: 'files' | 'synthetic';
  /** Folder of the .npy files (dataSource `files`). */
  dataDir?: string;
  /** Seed of the synthetic data. @default 0 (the same data for every run seed) */
  dataSeed?: number;
  /** Samples of synthetic data. @default nTrain + nTest (2000 + 0) */
  syntheticSamples?: number;
  /**
   * Neurons per type per 12:2:1 unit: 16 in the paper (N = 1440); 1 shrinks every population by
   * 1/16 (N = 90) for tests. @default 16
   */
  latentScaling?: number;
  /** Training samples. @default all */
  nTrain?: number;
  /** Held-out samples (the last ones); 0 evaluates on the training samples. @default 0 */
  nTest?: number;
}

/** A built cell-type task: what the stage runners need beyond the generic task shape. */
export interface CelltypeTask {
  name: 'celltype';
  condition: CelltypeCondition;
  layout: CelltypeLayout;
  train: Dataset;
  test: Dataset;
  head: 'linear';
  nIn: 18;
  nOut: 18;
  /** Model configuration with N, nExc fixed by the layout. */
  cfg: ModelConfig;
  /** Input and readout masks (dense training and fine-tuning). */
  masks(): ModelMasks;
  /** Initial parameters: generic init, then zero biases and the per-population readouts. */
  initParams(): Params;
  frozen: readonly ParamName[];
  /**
   * Prune trained effective weights (internal order): returns the recurrent mask (Table 1 blocks
   * ∪ inter-area bands) to fix during fine-tuning, together with the input/readout masks.
   */
  prune(wEff: Float32Array, pruneSeed: number): CelltypePruneResult & { masks: ModelMasks };
}

/** Thrown on invalid cell-type task options. */
export class CelltypeTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelltypeTaskError';
  }
}

/**
 * Initial parameters of a CelltypeRNN: {@link initParams} (W_hh E columns U(0, 1/√N), I columns
 * U(−1/√N, 0) in the internal order, i.e. by population sign as the authors'
 * `initialize_weights`; wIn U(±1/√N)), then bIn = bHh = 0, and wOut/bOut redrawn per population
 * from `new Rng(seed, 'celltype:readout')`: row k = U(±1/√size_k) on population k's columns (0
 * elsewhere), bOut[k] = U(±1/√size_k), populations in nesting order, weights then bias.
 */
export function initCelltypeParams(layout: CelltypeLayout, cfg: ModelConfig, seed: number): Params {
  if (cfg.nHidden !== layout.N || cfg.nExc !== layout.nExc || cfg.nInput !== 18 || cfg.nOutput !== 18) {
    throw new CelltypeTaskError(`config (N=${cfg.nHidden}, nExc=${cfg.nExc}, nIn=${cfg.nInput}, nOut=${cfg.nOutput}) does not match the cell-type layout (N=${layout.N}, nExc=${layout.nExc}, 18, 18)`);
  }
  const p = initParams(cfg, seed);
  p.bIn.fill(0);
  p.bHh.fill(0);
  p.wOut.fill(0);
  const rng = new Rng(seed, 'celltype:readout');
  const N = layout.N;
  for (const pop of layout.populations) {
    const k = 1 / Math.sqrt(pop.size);
    for (let j = pop.internalStart; j < pop.internalEnd; j++) p.wOut[pop.index * N + j] = rng.uniformRange(-k, k);
    p.bOut[pop.index] = rng.uniformRange(-k, k);
  }
  return p;
}

/**
 * Checks, reading only `.npy` headers, the files {@link celltypeTask} would read for `opts` (see
 * {@link checkCelltypeFiles}; nothing for synthetic data): cheap enough to run on every planned
 * stage before any runs.
 * @returns one entry per missing or malformed file or folder, saying what is expected
 * @throws CelltypeConditionError for an unknown condition
 */
export function celltypeDataProblems(opts: Pick<CelltypeTaskOptions, 'condition' | 'dataSource' | 'dataDir' | 'nTrain' | 'nTest'>): { file: string; problem: string }[] {
  if (opts.dataSource !== 'files') return [];
  if (opts.dataDir === undefined || opts.dataDir === '') {
    return [{ file: '(no data folder)', problem: `cell-type data 'files' needs dataDir, the folder of the dff_*_{cond}_{train|test}.npy files (condition ${opts.condition})` }];
  }
  const minSamples = opts.nTrain === undefined ? undefined : opts.nTrain + (opts.nTest ?? 0);
  return checkCelltypeFiles(opts.dataDir, opts.condition, { minSamples });
}

/** Load the data of the options' condition. */
function loadData(opts: CelltypeTaskOptions): Promise<CelltypeData> | CelltypeData {
  if (opts.dataSource === 'files') {
    if (opts.dataDir === undefined || opts.dataDir === '') {
      throw new CelltypeTaskError(`cell-type task with dataSource 'files' needs dataDir (the folder of dff_*_{cond}_{train|test}.npy files)`);
    }
    return readCelltypeCondition(opts.dataDir, opts.condition);
  }
  if (opts.dataSource === 'synthetic') {
    const nSamples = opts.syntheticSamples ?? (opts.nTrain ?? TASKS.celltype.defaults.nTrain) + (opts.nTest ?? 0);
    return syntheticCelltypeData(opts.condition, { seed: opts.dataSeed ?? 0, nSamples });
  }
  throw new CelltypeTaskError(`unknown cell-type dataSource '${String(opts.dataSource)}', expected 'files' or 'synthetic'`);
}

/**
 * Build the cell-type task of one condition (reads the files, or generates synthetic data).
 * @throws CelltypeDataError naming missing or malformed files; CelltypeConditionError for an
 *   unknown condition; CelltypeTaskError for inconsistent options
 */
export async function celltypeTask(opts: CelltypeTaskOptions): Promise<CelltypeTask> {
  const fidelity = opts.fidelity ?? 'corrected';
  const layout = celltypeLayout(opts.latentScaling ?? PAPER_LATENT_SCALING);
  const data = await loadData(opts);
  const { train, test } = splitCelltypeData(data, opts.nTrain ?? data.n, opts.nTest ?? 0);
  const cfg: ModelConfig = {
    nInput: 18,
    nHidden: layout.N,
    nOutput: 18,
    nExc: layout.nExc,
    rule: opts.rule ?? 'dale',
    head: 'linear',
    threshold: 0,
    fidelity,
  };
  const masks = buildCelltypeMasks(layout, opts.seed, fidelity);
  const dense: ModelMasks = { input: masks.input, readout: masks.readout };
  return {
    name: 'celltype',
    condition: data.condition,
    layout,
    train,
    test,
    head: 'linear',
    nIn: 18,
    nOut: 18,
    cfg,
    masks: () => ({ ...dense }),
    initParams: () => initCelltypeParams(layout, cfg, opts.seed),
    frozen: CELLTYPE_FROZEN,
    prune: (wEff, pruneSeed) => {
      const r = pruneCelltype(layout, wEff, pruneSeed, opts.seed, fidelity);
      return { ...r, masks: { ...dense, recurrent: r.mask } };
    },
  };
}
