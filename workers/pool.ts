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
}

/** A pool running stages on worker threads. */
export interface StagePool {
  /** Runs one stage on a free thread; events arrive on `onEvent` while it runs. */
  run(task: StageTask, onEvent?: (e: StageEvent) => void, signal?: AbortSignal): Promise<StageOutcome>;
  /** Number of threads. */
  readonly threads: number;
  /** Stops the threads (running tasks are aborted). */
  destroy(): Promise<void>;
}

/** Creates a stage pool of `threads` worker threads. */
export function createStagePool(opts: StagePoolOptions = {}): StagePool {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
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
      const msg: StageTaskMessage = { ...task, port: port2 };
      try {
        return (await piscina.run(msg, { transferList: [port2], signal: signal ?? null })) as StageOutcome;
      } finally {
        port1.close();
      }
    },
    async destroy() {
      await piscina.destroy();
    },
  };
}
