/**
 * The piscina pool of stage threads that both engines share: the local engine runs every stage
 * on it, the Temporal worker runs its activities on it.
 */
import { MessageChannel } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { StageOutcome } from '../sweeps/types.js';
import type { StageEvent, StageTask, StageTaskMessage } from './stage-task.js';
import { MachineCores, defaultMachineCoresDir } from './machine-cores.js';

export interface StagePoolOptions {
  /** Worker threads. @default os.availableParallelism() */
  threads?: number;
  /**
   * Cores the running stages share for their big matrix products (rnn/parallel-gemm.ts): each
   * stage running on the machine (this pool's and, through {@link StagePoolOptions.machineCores},
   * other pools') may use cores / (stages running) threads (the first ranks one more when it does
   * not divide), updated as stages start and end, so a stage running alone uses them all.
   * Results never depend on it; `DALESWEEP_THREADS` caps the threads of one stage.
   * @default os.availableParallelism()
   */
  cores?: number;
  /**
   * Share the cores with the other pools of this machine (workers/machine-cores.ts): the
   * registry directory, or null for this pool's stages alone.
   * @default defaultMachineCoresDir()
   */
  machineCores?: string | null;
}

/** How often a pool with running stages re-reads the machine's registry (other pools' changes). */
const MACHINE_POLL_MS = 2000;

/**
 * Splits `cores` among the running stages' thread cells (element 0 of each) as ranks
 * `before`, `before + 1`, … among `total` stages running on the machine: ⌊cores / total⌋ each,
 * one more for the first cores mod total ranks, at least 1. By default the cells are all the
 * stages (`before` 0, `total` their number).
 */
export function shareCores(cores: number, cells: Int32Array[], before = 0, total = cells.length): void {
  const n = Math.max(total, before + cells.length);
  cells.forEach((c, i) => Atomics.store(c, 0, Math.max(1, Math.floor(cores / n) + (before + i < cores % n ? 1 : 0))));
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
  const dir = opts.machineCores === undefined ? defaultMachineCoresDir() : opts.machineCores;
  let machine: MachineCores | null = null;
  if (dir !== null) {
    try {
      machine = new MachineCores(dir);
    } catch {
      machine = null; // no writable temp folder: share among this pool's stages only
    }
  }
  const rebalance = (): void => {
    const mine = [...cells];
    if (machine === null) {
      shareCores(cores, mine);
      return;
    }
    try {
      machine.publish(mine.length);
      const { before, total } = machine.stages(mine.length);
      shareCores(cores, mine, before, total);
    } catch {
      shareCores(cores, mine); // the registry failed (disk full, removed): this pool alone
    }
  };
  // Other pools start and end stages too: re-read the registry while stages run here.
  let poll: NodeJS.Timeout | null = null;
  const watch = (): void => {
    if (machine === null) return;
    if (cells.size > 0 && poll === null) {
      poll = setInterval(rebalance, MACHINE_POLL_MS);
      poll.unref();
    } else if (cells.size === 0 && poll !== null) {
      clearInterval(poll);
      poll = null;
    }
  };
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
      watch();
      const msg: StageTaskMessage = { ...task, threads: cell, port: port2 };
      try {
        return (await piscina.run(msg, { transferList: [port2], signal: signal ?? null })) as StageOutcome;
      } finally {
        cells.delete(cell);
        rebalance();
        watch();
        port1.close();
      }
    },
    async destroy() {
      if (poll !== null) clearInterval(poll);
      poll = null;
      machine?.close();
      await piscina.destroy();
    },
  };
}
