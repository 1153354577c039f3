/**
 * dalesweep's library API: `import { topProbMask, mstOverlap, planSweep, runSweep } from 'dalesweep'`.
 *
 * A small, stable surface over the same code the `dalesweep` command runs:
 * - pruning ({@link topProbMask}, {@link randomMask}, {@link pruneMatrix}) and the maximum
 *   spanning tree overlap ({@link maximumSpanningTree}, {@link mstOverlap}), with the seeded
 *   generator {@link Rng} every draw takes;
 * - the model and training ({@link defaultModelConfig}, {@link initParams}, {@link makeTask},
 *   {@link train}, {@link evaluateDataset}, the pure-JS backend {@link jsBackend});
 * - sweep files and planning ({@link loadSpec}, {@link parseSpec}, {@link planSweep},
 *   {@link codeVersion});
 * - the local engine ({@link runSweep}, and {@link runPlanLocally} beneath it);
 * - the artifact stores ({@link openStore}, {@link FsStore}, the {@link ArtifactStore} interface;
 *   S3 through `openStore('s3://bucket/prefix?endpoint=...')`, which loads the AWS SDK only then).
 *
 * Matrices are row-major `Float32Array`/`Float64Array`; `w[i * n + j]` is the weight from unit j
 * to unit i. Everything else (workflows, workers, the report's internals) is not part of the API
 * and may change without notice.
 */

// Pruning
export { applyMask, iterativeSchedule, pruneMatrix, PRUNE_METHODS, PruneError, randomMask, topProbMask, topProbProbabilities } from './rnn/prune.js';
export type { FloatMatrix, MaskResult, PruneMatrixOptions, PruneMethod, PruneOptions, RandomMaskOptions, TopProbProbabilities } from './rnn/prune.js';

// Maximum spanning tree
export { maximumSpanningTree, MstError, mstOverlap, randomOverlapTheory, topProbOverlapLowerBound } from './rnn/mst.js';
export type { OverlapOptions, RandomOverlapOptions, RandomOverlapTheory, TopProbBound, TopProbBoundOptions } from './rnn/mst.js';

// Seeded random numbers
export { Rng } from './rnn/rng.js';

// Model and training
export type { Backend, BackendChoice, BackendName, Batch, EpochRecord, Fidelity, Head, ModelConfig, ModelMasks, Params, Rule } from './rnn/types.js';
export { defaultModelConfig, effectiveRecurrent, initParams, ModelConfigError, validateModelConfig } from './rnn/init.js';
export { DivergenceError, evaluateDataset, train, TrainOptionsError } from './rnn/train.js';
export type { EpochProgress, TrainOptions, TrainResult } from './rnn/train.js';
export { jsBackend } from './rnn/model-js.js';
export { GemmThreadError, shutdownGemmThreads, startGemmThreads, useGemmThreads } from './rnn/parallel-gemm.js';
export { createBackend } from './rnn/backends.js';
export type { CreateBackendOptions } from './rnn/backends.js';
export type { Dataset } from './rnn/dataset.js';
// The tasks makeTask builds, under the names this API has always used for them.
export { makeTask, SEQUENCE_TASKS as TASK_NAMES, TaskError } from './tasks/index.js';
export type { MakeTaskOptions, Task, SequenceTaskName as TaskName } from './tasks/index.js';

// Sweep files and planning
export { loadSpec, parseSpec, SpecError } from './sweeps/spec.js';
export type { ParseOptions, RunParams, SweepSpec } from './sweeps/spec.js';
export { planSweep } from './sweeps/plan.js';
export type { PlanOptions } from './sweeps/plan.js';
export type { Plan, RunRow, Stage, StageKind, StageOutcome } from './sweeps/types.js';
export { codeVersion } from './activities/code-version.js';

// The local engine
export { runSweep } from './engines/run-sweep.js';
export type { RunSweepOptions, RunSweepResult } from './engines/run-sweep.js';
export { runPlanLocally } from './engines/local.js';
export type { LocalRunOptions, LocalRunResult } from './engines/local.js';
export type { EngineEvent, StageFinalStatus } from './engines/events.js';
export type { ResultRow } from './analysis/types.js';

// Stores
export { openStore, StoreUrlError } from './store/open.js';
export type { OpenStoreOptions } from './store/open.js';
export { FsStore } from './store/fs.js';
export { StoreError, StoreKeyError, StoreNotFoundError } from './store/types.js';
export type { ArtifactStore } from './store/types.js';
