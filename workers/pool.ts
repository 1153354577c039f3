/**
 * The piscina pool of stage threads that both engines share: the local engine runs every stage
 * on it, the Temporal worker runs its activities on it.
 */
import { MessageChannel } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { StageOutcome } from '../sweeps/types.js';
import type { StageEvent, StageTask, StageTaskMessage } from './stage-task.js';

export interface StagePoolOptions {
  /** Worker threads. @default os.availableParallelism() */
  threads?: number;
  /**
   * Cores the running stages share for their big matrix products (rnn/parallel-gemm.ts): each
   * stage running on the pool may use cores / (stages running) threads (the first ones one more
   * when it does not divide), updated as stages start and end, so a stage running alone uses them
   * all. Results never depend on it; `DALESWEEP_THREADS` caps the threads of one stage.
   * @default os.availableParallelism()
   */
  cores?: number;
}

/**
 * Splits `cores` among the running stages' thread cells (element 0 of each): ⌊cores / n⌋ each,
 * one more for the first cores mod n, at least 1.
 */
export function shareCores(cores: number, cells: Int32Array[]): void {
  const n = cells.length;
  cells.forEach((c, i) => Atomics.store(c, 0, Math.max(1, Math.floor(cores / n) + (i < cores % n ? 1 : 0))));
}

/** A pool running stages on worker threads. */
export interface StagePool {
  /**
   * Runs one stage on a free thread; events arrive on `onEvent` while it runs. The pool sets the
   * task's `threads` (its share of the cores, see {@link StagePoolOptions.cores}).
   */
  run(task: StageTask, onEvent?: (e: StageEvent) => void, signal?: AbortSignal): Promise<StageOutcome>;
  /** Number of threads. */
  readonly threads: number;
  /** Stops the threads (running tasks are aborted). */
  destroy(): Promise<void>;
}

/** Creates a stage pool of `threads` worker threads. */
export function createStagePool(opts: StagePoolOptions = {}): StagePool {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const cores = Math.max(1, Math.floor(opts.cores ?? availableParallelism()));
  /** Thread cells of the stages running now (see StageTask.threads). */
  const cells = new Set<Int32Array>();
  const rebalance = (): void => shareCores(cores, [...cells]);
  const piscina = new Piscina({
    filename: new URL('./stage-worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // One stage per thread at a time: stages are CPU-bound.
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
  });
  return {
    threads,
    async run(task, onEvent, signal) {
      const { port1, port2 } = new MessageChannel();
      if (onEvent) port1.on('message', (e: StageEvent) => onEvent(e));
      const cell = new Int32Array(new SharedArrayBuffer(4));
      cells.add(cell);
      rebalance();
      const msg: StageTaskMessage = { ...task, threads: cell, port: port2 };
      try {
        return (await piscina.run(msg, { transferList: [port2], signal: signal ?? null })) as StageOutcome;
      } finally {
        cells.delete(cell);
        rebalance();
        port1.close();
      }
    },
    async destroy() {
      await piscina.destroy();
    },
  };
}
