/**
 * `dalesweep worker`: a Temporal worker that runs sweep stages from one or more task queues on a
 * pool of K threads (and, unless `--no-workflows`, the sweep workflows themselves). Stops
 * gracefully on SIGINT/SIGTERM: polling stops, running stages get the grace time to finish.
 */
import { Command, Option } from 'commander';
import { codeVersion } from '../activities/code-version.js';
import { RunFailedError, UsageError } from '../errors/errors.js';
import { DEFAULT_CONTROL_QUEUE } from '../workflows/types.js';
import { capConcurrency } from './run.js';
import { namespaceOption, positiveInt, storeOption, temporalAddressOption } from './options.js';

/** The task queue of GPU stages: a worker serves it only where native TensorFlow sees a GPU. */
export const GPU_QUEUE = 'gpu';

/**
 * Start-up check of a worker serving the {@link GPU_QUEUE}: backend tfjs-node-gpu loads and
 * TensorFlow lists a GPU device (probed in a child process, with this process's environment).
 * @throws UsageError (exit 2), one line, when it does not
 */
export async function checkGpuEngine(): Promise<void> {
  const { probeEngine } = await import('../rnn/engine-info.js');
  const p = await probeEngine('tfjs-node-gpu');
  if (p.status !== 'ok' || p.device !== 'gpu') {
    const why = p.status === 'ok' ? `backend tfjs-node-gpu computes on the ${p.device ?? 'unknown device'}, not a GPU` : (p.detail ?? p.status);
    throw new UsageError(`worker: refusing to serve task queue ${GPU_QUEUE}: no GPU engine (${why})`);
  }
  process.stderr.write(`worker: task queue ${GPU_QUEUE}: backend tfjs-node-gpu on the GPU (${p.engineVersion})\n`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers the `worker` sub-command. */
export function register(program: Command): void {
  program
    .command('worker')
    .description('Run a Temporal worker: stages from the given task queues on K threads, plus the sweep workflows')
    .addOption(new Option('--task-queue <name>', 'stage task queue to serve (repeatable)').argParser(collect).default([] as string[], 'cpu'))
    .option('--concurrency <k>', 'stages run at once (threads)', positiveInt('--concurrency'), 1)
    .addOption(temporalAddressOption())
    .addOption(namespaceOption())
    .addOption(storeOption())
    .option('--control-queue <name>', 'task queue of the sweep workflows', DEFAULT_CONTROL_QUEUE)
    .option('--no-workflows', 'do not run sweep workflows, only stages')
    .option('--shutdown-grace <seconds>', 'time running stages get to finish on SIGTERM', positiveInt('--shutdown-grace'), 30)
    .option('--identity <name>', 'worker identity shown in Temporal')
    .addOption(new Option('--log-level <level>', 'Temporal SDK log level').choices(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('WARN'))
    .action(async (o: { taskQueue: string[]; concurrency: number; temporalAddress: string; namespace: string; store: string; controlQueue: string; workflows: boolean; shutdownGrace: number; identity?: string; logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' }) => {
      const cap = capConcurrency('--concurrency', o.concurrency);
      if (cap.notice) process.stderr.write(`worker: ${cap.notice}\n`);
      o = { ...o, concurrency: cap.value };
      // Loaded here so that the other commands never pay for the Temporal SDK.
      const { installTemporalLogging, startSweepWorker, WorkerConnectError } = await import('../workers/temporal-worker.js');
      const { finalizeFromStore } = await import('../activities/finalize.js');
      installTemporalLogging(o.logLevel);
      const taskQueues = o.taskQueue.length > 0 ? o.taskQueue : ['cpu'];
      if (taskQueues.includes(GPU_QUEUE)) await checkGpuEngine();
      let worker: Awaited<ReturnType<typeof startSweepWorker>>;
      try {
        worker = await startSweepWorker({
          address: o.temporalAddress,
          namespace: o.namespace,
          taskQueues,
          concurrency: o.concurrency,
          storeUrl: o.store,
          codeVersion: codeVersion(),
          controlQueue: o.controlQueue,
          workflows: o.workflows,
          shutdownGraceMs: o.shutdownGrace * 1000,
          identity: o.identity,
          finalize: finalizeFromStore,
        });
      } catch (err) {
        // One line naming the address (exit 1), as for run --engine temporal.
        if (err instanceof WorkerConnectError) throw new RunFailedError(`${err.message}; start one with \`bash infra/temporal.sh start\` or pass --temporal-address`);
        throw err;
      }
      process.stderr.write(
        `worker: serving ${taskQueues.join(', ')}${o.workflows ? ` and workflows on ${o.controlQueue}` : ''} with ${o.concurrency} thread(s) at ${o.temporalAddress} (namespace ${o.namespace}, store ${o.store})\n`,
      );
      const stop = (sig: string): void => {
        process.stderr.write(`worker: ${sig}: shutting down (running stages get ${o.shutdownGrace} s)\n`);
        worker.shutdown();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      await worker.done;
      process.stderr.write('worker: stopped\n');
    });
}
