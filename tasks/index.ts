/**
 * Builds a sequence task by name: its train/test datasets, its head and sizes and its fixed masks.
 * What each task declares (defaults, parameters, data) is `registry.ts`.
 */
import type { Dataset } from '../rnn/dataset.js';
import type { Fidelity, Head, ModelMasks } from '../rnn/types.js';
import type { MnistSource } from '../data/mnist.js';
import { flipFlopDataset } from './flipflop.js';
import { smnistTask } from './smnist.js';
import { waveMasks, waveTask } from './wave.js';
import { TASKS, type TaskName } from './registry.js';

/** The tasks {@link makeTask} builds (celltype has its own builder, `celltype.ts`). */
export type SequenceTaskName = Exclude<TaskName, 'celltype'>;
export const SEQUENCE_TASKS: readonly SequenceTaskName[] = ['flipflop', 'wave', 'smnist'];

/** Options of {@link makeTask}. */
export interface MakeTaskOptions {
  /** Data seed (each task draws from its own `data:<task>:...` streams). */
  seed: number;
  /** @default 'corrected' */
  fidelity?: Fidelity;
  /** @default the task's paper default (smnist: capped at the images available) */
  nTrain?: number;
  /** @default the task's paper default (smnist: capped at the images available) */
  nTest?: number;
  /** Sequence length (flip-flop, wave). @default 50 flip-flop, 500 wave */
  T?: number;
  /** smnist only: where the images come from. @default see {@link smnistTask} */
  mnistSource?: MnistSource;
  /** smnist only: folder with IDX files. */
  dataDir?: string;
}

/** A built task. */
export interface Task {
  name: SequenceTaskName;
  train: Dataset;
  test: Dataset;
  head: Head;
  nIn: number;
  nOut: number;
  /** Fixed masks of a network with N hidden units, the first nExc excitatory. */
  masks(N: number, nExc: number): ModelMasks;
}

/** Thrown for an unknown task name. */
export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}

/**
 * Builds a task by name.
 * @throws TaskError for an unknown name; the task's own errors for bad options or missing data
 */
export function makeTask(name: SequenceTaskName, opts: MakeTaskOptions): Task {
  const fidelity = opts.fidelity ?? 'corrected';
  switch (name) {
    case 'flipflop': {
      const d = TASKS.flipflop.defaults;
      const nTrain = opts.nTrain ?? d.nTrain;
      const nTest = opts.nTest ?? d.nTest;
      return {
        name,
        train: flipFlopDataset(opts.seed, 'train', { n: nTrain, T: opts.T }),
        test: flipFlopDataset(opts.seed, 'test', { n: nTest, T: opts.T }),
        head: 'tanh',
        nIn: 1,
        nOut: 1,
        masks: () => ({}),
      };
    }
    case 'wave': {
      const d = TASKS.wave.defaults;
      const t = waveTask(opts.seed, { fidelity, nTrain: opts.nTrain ?? d.nTrain, nTest: opts.nTest ?? d.nTest, T: opts.T });
      return { name, train: t.train, test: t.test, head: 'wave-ei', nIn: 2, nOut: 2, masks: (N, nExc) => waveMasks(N, nExc, fidelity) };
    }
    case 'smnist': {
      const d = TASKS.smnist.defaults;
      // Load first to cap the defaults at what the source has (the npm digits are 7,996 / 2,004).
      const probe = smnistTask(opts.seed, { source: opts.mnistSource, dataDir: opts.dataDir, nTrain: 1, nTest: 1 });
      const nTrain = opts.nTrain ?? Math.min(d.nTrain, probe.data.train.n);
      const nTest = opts.nTest ?? Math.min(d.nTest, probe.data.test.n);
      const t = smnistTask(opts.seed, { source: opts.mnistSource, dataDir: opts.dataDir, nTrain, nTest });
      return { name, train: t.train, test: t.test, head: 'softmax-last', nIn: t.train.nIn, nOut: 10, masks: () => ({}) };
    }
    default:
      throw new TaskError(`unknown task '${String(name)}', expected one of ${SEQUENCE_TASKS.join(', ')}`);
  }
}
