/**
 * The network and data of a model stage ({@link ModelSetup}): model configuration, train/test
 * datasets, task masks, frozen tensors and initial parameters built from a stage config by the
 * task registry (tasks/), or for task celltype by {@link celltypeTask}; cached per thread.
 */
import { defaultModelConfig, excitatoryCount, initParams } from '../rnn/init.js';
import type { Dataset } from '../rnn/dataset.js';
import type { ModelConfig, ModelMasks, ParamName, Params } from '../rnn/types.js';
import type { ModelTaskConfig } from '../sweeps/stage-config.js';
import { gemmThreadsUsed } from '../rnn/parallel-gemm.js';
import { makeTask } from '../tasks/index.js';
import { celltypeTask, type CelltypeTask } from '../tasks/celltype.js';

/**
 * The manifest's record of the threads the `js` backend's products used in this stage (the most
 * any one product used: 1 unless the pool lent the stage idle cores and the model is large).
 */
export function jsThreads(backend: string): { threads?: number } {
  return backend === 'js' ? { threads: gemmThreadsUsed() } : {};
}

/** Everything a model stage needs about its network and data. */
export interface ModelSetup {
  cfg: ModelConfig;
  train: Dataset;
  test: Dataset;
  /** Fixed masks of the task (input / readout); the recurrent mask is added by pruning. */
  taskMasks: ModelMasks;
  frozen: readonly ParamName[];
  initParams(): Params;
  /** The cell-type task (layout, Table 1 pruning), for task celltype only. */
  celltype?: CelltypeTask;
}

const setupCache = new Map<string, Promise<ModelSetup>>();
const SETUP_CACHE_SIZE = 4;

/**
 * The network and data of a stage config. Cached per thread (the data of a task is fixed by its
 * config, and sMNIST loading or cell-type data generation costs more than a small stage); a
 * failed load is not cached.
 */
export function modelSetup(c: ModelTaskConfig): Promise<ModelSetup> {
  const key = JSON.stringify([c.task, c.seed, c.fidelity, c.nTrain, c.nTest, c.dataSource, c.dataDir, c.nHidden, c.excFraction, c.rule, c.threshold, c.celltype ?? null]);
  const hit = setupCache.get(key);
  if (hit !== undefined) return hit;
  const made = buildSetup(c);
  if (setupCache.size >= SETUP_CACHE_SIZE) setupCache.delete(setupCache.keys().next().value as string);
  setupCache.set(key, made);
  made.catch(() => {
    if (setupCache.get(key) === made) setupCache.delete(key);
  });
  return made;
}

/**
 * Builds the network, data and masks of a stage config, uncached (the stages use the per-thread
 * cache {@link modelSetup}; the calibration of `dalesweep plan` builds small copies).
 */
export async function buildSetup(c: ModelTaskConfig): Promise<ModelSetup> {
  if (c.task === 'celltype') return celltypeSetup(c);
  if (c.celltype !== undefined) throw new Error(`stage config of task ${c.task} has cell-type fields`);
  const task = makeTask(c.task, {
    seed: c.seed,
    fidelity: c.fidelity,
    nTrain: c.nTrain,
    nTest: c.nTest,
    mnistSource: c.dataSource ?? undefined,
    dataDir: c.dataDir ?? undefined,
  });
  const nExc = excitatoryCount(c.nHidden, c.excFraction);
  const cfg = defaultModelConfig({
    nInput: task.nIn,
    nHidden: c.nHidden,
    nOutput: task.nOut,
    nExc,
    rule: c.rule,
    head: task.head,
    threshold: c.threshold,
    fidelity: c.fidelity,
  });
  return {
    cfg,
    train: task.train,
    test: task.test,
    taskMasks: task.masks(c.nHidden, nExc),
    frozen: [],
    initParams: () => initParams(cfg, c.seed),
  };
}

/** The CelltypeRNN of a celltype stage config (N, nExc from the layout; rule as configured). */
async function celltypeSetup(c: ModelTaskConfig): Promise<ModelSetup> {
  const ct = c.celltype;
  if (ct === undefined) throw new Error('celltype stage config without its celltype fields');
  const task = await celltypeTask({
    condition: ct.condition,
    seed: c.seed,
    fidelity: c.fidelity,
    rule: c.rule,
    dataSource: ct.data,
    dataDir: c.dataDir ?? undefined,
    syntheticSamples: ct.syntheticSamples ?? undefined,
    latentScaling: ct.latentScaling,
    nTrain: c.nTrain,
    nTest: c.nTest,
  });
  if (task.cfg.nHidden !== c.nHidden) throw new Error(`celltype stage config: nHidden ${c.nHidden} does not match the layout's N = ${task.cfg.nHidden}`);
  return {
    cfg: task.cfg,
    train: task.train,
    test: task.test,
    taskMasks: task.masks(),
    frozen: task.frozen,
    initParams: () => task.initParams(),
    celltype: task,
  };
}
