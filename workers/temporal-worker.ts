/**
 * A dalesweep Temporal worker process: polls one or more stage task queues (e.g. `cpu`, `gpu`)
 * for `runStage` activities, which it runs on a piscina pool of K threads, and (unless disabled)
 * the control queue for the sweep workflows and their light control activities.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleOption } from '@temporalio/worker';
import { createSweepActivities } from '../activities/temporal.js';
import { openStore } from '../store/open.js';
import { createStagePool, type StagePool } from './pool.js';
import { DEFAULT_CONTROL_QUEUE } from '../workflows/types.js';


export interface SweepWorkerOptions {
  /** Temporal frontend, `HOST:PORT`. */
  address: string;
  namespace: string;
  /** Stage task queues this worker serves (stages route by their `queue` field). */
  taskQueues: string[];
  /** Stages run at once (piscina threads, and max concurrent activities per queue). */
  concurrency: number;
  /** Artifact store URL (`store/open.ts`). */
  storeUrl: string;
  /** Code version of this build (part of every stage id). */
  codeVersion: string;
  /** Queue of the sweep workflows and control activities. @default {@link DEFAULT_CONTROL_QUEUE} */
  controlQueue?: string;
  /** Also run the sweep workflows (poll the control queue). @default true */
  workflows?: boolean;
  /** A prebuilt workflow bundle (tests build it once); otherwise the worker bundles at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Time running activities get to finish after shutdown starts, ms. @default 30000 */
  shutdownGraceMs?: number;
  /** Worker identity shown in Temporal. */
  identity?: string;
  /** Aggregation step called by the `finalizeSweep` activity. */
  finalize?(storeUrl: string, planKey: string): Promise<void>;
}

/** A started worker. */
export interface SweepWorker {
  /** Resolves when every poller has stopped (after {@link SweepWorker.shutdown}) and resources are released. */
  readonly done: Promise<void>;
  /** Starts a graceful shutdown: polling stops, running stages get the grace time to finish. */
  shutdown(): void;
  readonly pool: StagePool;
}

/**
 * Sets the level of the Temporal SDK's log (stderr) for this process. Only effective before the
 * first worker or native connection is created; returns false when it came too late.
 */
export function installTemporalLogging(level: LogLevel): boolean {
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'IllegalStateError') return false;
    throw err;
  }
}

/** Absolute path of the compiled workflow bundle entry. */
export function workflowsPath(): string {
  return fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

/**
 * Bundles the sweep workflows (webpack; several seconds) and caches the bundle on disk, keyed by
 * a hash of the compiled workflow code, so later workers and test files start at once.
 */
export async function bundleSweepWorkflows(cacheDir: string = tmpdir()): Promise<WorkflowBundleOption> {
  const entry = workflowsPath();
  const dir = dirname(entry);
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.js') || f.endsWith('.test.js')) continue;
    h.update(f);
    h.update(readFileSync(join(dir, f)));
  }
  h.update(readFileSync(fileURLToPath(import.meta.resolve('@temporalio/workflow/package.json'))));
  const codePath = join(cacheDir, `dalesweep-workflows-${h.digest('hex').slice(0, 16)}.js`);
  const present = await stat(codePath).then(
    () => true,
    () => false,
  );
  if (!present) {
    const { code } = await bundleWorkflowCode({ workflowsPath: entry, logger: quietLogger });
    const tmp = `${codePath}.${process.pid}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, codePath);
  }
  return { codePath };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => process.stderr.write(`temporal bundler: ${m}\n`),
  error: (m: string) => process.stderr.write(`temporal bundler: ${m}\n`),
};

/** The Temporal frontend could not be reached when the worker started. */
export class WorkerConnectError extends Error {
  override name = 'WorkerConnectError';
}

/** Connects and starts polling. @throws WorkerConnectError when the server cannot be reached */
export async function startSweepWorker(opts: SweepWorkerOptions): Promise<SweepWorker> {
  if (opts.taskQueues.length === 0 && opts.workflows === false) {
    throw new Error('worker: nothing to do: give at least one task queue, or let it run workflows');
  }
  const k = Math.max(1, Math.floor(opts.concurrency));
  const controlQueue = opts.controlQueue ?? DEFAULT_CONTROL_QUEUE;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: opts.address });
  } catch (err) {
    throw new WorkerConnectError(`cannot reach the Temporal frontend at ${opts.address} (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  const store = await openStore(opts.storeUrl);
  const pool = createStagePool({ threads: k });
  const activities = createSweepActivities({ store, storeUrl: opts.storeUrl, codeVersion: opts.codeVersion, pool, finalize: opts.finalize });
  const grace = opts.shutdownGraceMs ?? 30_000;
  const workers: Worker[] = [];
  try {
    const queues = [...new Set(opts.taskQueues)];
    const runWorkflows = opts.workflows !== false;
    const bundle = runWorkflows ? (opts.workflowBundle ?? (await bundleSweepWorkflows())) : undefined;
    for (const q of queues) {
      const isControl = runWorkflows && q === controlQueue;
      workers.push(
        await Worker.create({
          connection,
          namespace: opts.namespace,
          taskQueue: q,
          activities,
          ...(opts.identity ? { identity: opts.identity } : {}),
          maxConcurrentActivityTaskExecutions: k,
          shutdownGraceTime: grace,
          ...(isControl ? { workflowBundle: bundle } : {}),
        }),
      );
    }
    if (runWorkflows && !queues.includes(controlQueue)) {
      workers.push(
        await Worker.create({
          connection,
          namespace: opts.namespace,
          taskQueue: controlQueue,
          // Only the light control activities land here (skeleton, finalize).
          activities,
          ...(opts.identity ? { identity: opts.identity } : {}),
          workflowBundle: bundle,
          shutdownGraceTime: grace,
        }),
      );
    }
  } catch (err) {
    await pool.destroy();
    await connection.close();
    throw err;
  }
  const stopAll = (): void => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const done = (async () => {
    try {
      // One poller failing (e.g. the server went away) stops the others too.
      const ends = await Promise.allSettled(
        workers.map((w) =>
          w.run().catch((err: unknown) => {
            stopAll();
            throw err;
          }),
        ),
      );
      for (const e of ends) if (e.status === 'rejected') throw e.reason;
    } finally {
      await pool.destroy();
      await connection.close();
    }
  })();
  return {
    done,
    pool,
    shutdown: stopAll,
  };
}
