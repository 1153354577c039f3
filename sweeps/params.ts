/**
 * The parameters of a run in a sweep file: their names and resolved types (the vocabulary the
 * spec, the planner and the schema messages share; `spec.ts` re-exports it).
 */
import type { BackendChoice, Fidelity, Rule } from '../rnn/types.js';
import type { LrScheduleName } from '../rnn/lr-schedule.js';
import type { TaskName } from '../tasks/registry.js';
import type { CelltypeDataSource, DataSource, PruneMethod } from './stage-config.js';

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
