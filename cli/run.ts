/**
 * `dalesweep run FILE`: plans a sweep file and runs it to the end on the local engine (a piscina
 * pool, the default) or on Temporal, then writes the results tables, the summary and the report.
 * Resumable: stages complete in the store are skipped, so re-running after Ctrl-C, kill -9 or a
 * power cut continues where it stopped. Exit status 0 when every stage succeeded, 1 when some
 * failed, 2 for bad input (nothing written), 130 after Ctrl-C.
 *
 * `--data DIR` replaces dataDir in every run that reads a data folder (celltype with celltypeData
 * files, smnist with dataSource mnist) by DIR's absolute path before planning, so it is part of
 * those stages' configs and identities; a DIR that is not an existing folder exits 2.
 */
import { availableParallelism, freemem } from 'node:os';
import { Command, Option } from 'commander';
import { codeVersion } from '../activities/code-version.js';
import type { StageFinalStatus } from '../engines/events.js';
import { summarizePlan } from '../sweeps/plan-summary.js';
import type { ResultRow } from '../analysis/types.js';
import type { SweepKeys } from '../store/layout.js';
import type { Plan } from '../sweeps/types.js';
import { RunFailedError, UsageError } from '../errors/errors.js';
import { DEFAULT_CONTROL_QUEUE } from '../workflows/types.js';
import { createProgress, progressMode } from './progress.js';
import { dataDirFlag, dataOption, namespaceOption, openStoreFlag, positiveInt, storeOption, temporalAddressOption } from './options.js';
import { locationOf } from './store-location.js';
import { planSweepFile } from './sweep-ref.js';

/** Ctrl-C: the run stopped before the end (exit status 130, the shell's convention). */
export class InterruptedError extends RunFailedError {
  override name = 'InterruptedError';
  override readonly exitCode: number = 130;
}

/** Memory set aside for each stage thread when bounding `--concurrency` by free memory. */
export const STAGE_THREAD_MEMORY_BYTES = 256 * 1024 * 1024;

/** Stage threads allowed per core by the `--concurrency` cap. */
export const THREADS_PER_CORE = 4;

/** What {@link capConcurrency} needs to know of the machine. */
export interface MachineResources {
  /** Cores this process may use. @default os.availableParallelism() */
  cores: number;
  /** Free (available) memory in bytes. @default os.freemem() */
  freeBytes: number;
}

/** A `--concurrency` value after the cap, and the one-line notice when it was lowered. */
export interface CappedConcurrency {
  value: number;
  /** Set when the requested value was lowered: says from what, to what and why. */
  notice?: string;
}

/**
 * Caps a requested number of stage threads (`run --concurrency`, `worker --concurrency`) at
 * min({@link THREADS_PER_CORE} × cores, free memory / {@link STAGE_THREAD_MEMORY_BYTES}), and at
 * least 1, so that a typo such as 10000 cannot start threads until memory runs out.
 * @param flag the flag's name, for the notice
 */
export function capConcurrency(flag: string, requested: number, machine: MachineResources = { cores: availableParallelism(), freeBytes: freemem() }): CappedConcurrency {
  const cores = Math.max(1, Math.floor(machine.cores));
  const byCores = THREADS_PER_CORE * cores;
  const byMemory = Math.max(1, Math.floor(machine.freeBytes / STAGE_THREAD_MEMORY_BYTES));
  const limit = Math.min(byCores, byMemory);
  if (requested <= limit) return { value: requested };
  const mib = STAGE_THREAD_MEMORY_BYTES / 2 ** 20;
  const free = `${Math.round(machine.freeBytes / 2 ** 20)} MiB free memory allows ${byMemory} at ${mib} MiB each`;
  const cpu = `${THREADS_PER_CORE} × ${cores} core${cores === 1 ? '' : 's'}`;
  const why = byCores <= byMemory ? `${cpu}; ${free}` : `${free}; ${cpu} = ${byCores}`;
  return { value: limit, notice: `${flag} ${requested} capped to ${limit} (${why})` };
}

interface RunFlags {
  store: string;
  engine: 'local' | 'temporal';
  concurrency?: number;
  threads?: number;
  quiet?: boolean;
  json?: boolean;
  report: boolean;
  temporalAddress: string;
  namespace: string;
  window: number;
  controlQueue: string;
  data?: string;
}

/** Registers the `run` sub-command. */
export function register(program: Command): void {
  program
    .command('run')
    .description('Run a sweep file to the end (resumable: completed stages are skipped)')
    .argument('<file>', 'sweep file (YAML)')
    .addOption(storeOption())
    .addOption(dataOption())
    .addOption(new Option('--engine <engine>', 'where stages run').choices(['local', 'temporal']).default('local'))
    .option('--concurrency <k>', 'local engine: stages at once (default: one per core)', positiveInt('--concurrency'))
    .option('--threads <n>', 'local engine: most threads one stage uses for a large model\'s products (default: the idle cores; env DALESWEEP_THREADS)', positiveInt('--threads'))
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'progress and the final summary as JSON lines on stdout')
    .option('--no-report', 'skip the aggregation and report (results tables only)')
    .addOption(temporalAddressOption())
    .addOption(namespaceOption())
    .option('--window <n>', 'temporal engine: stages in flight at once', positiveInt('--window'), 64)
    .option('--control-queue <name>', 'temporal engine: task queue of the sweep workflows (the workers\' --control-queue)', DEFAULT_CONTROL_QUEUE)
    .action(async (file: string, o: RunFlags) => runCommand(file, o));
}

/**
 * The local engine runs every stage on this machine: a sweep whose backend needs native
 * TensorFlow that is not installed here is refused before anything is written (a Temporal
 * sweep's stages run on the workers, which check for themselves).
 * @throws UsageError (exit 2) naming the backend and the install command
 */
async function checkLocalEngines(file: string, plan: Plan): Promise<void> {
  const needed = new Set<'node' | 'node-gpu'>();
  for (const st of plan.stages) {
    const b = 'backend' in st.config ? st.config.backend : undefined;
    if (b === 'tfjs-node') needed.add('node');
    if (b === 'tfjs-node-gpu') needed.add('node-gpu');
  }
  if (needed.size === 0) return;
  const { checkTfjsEngineInstalled, TfjsEngineUnavailableError } = await import('../rnn/backend-tfjs.js');
  for (const e of needed) {
    try {
      checkTfjsEngineInstalled(e);
    } catch (err) {
      if (err instanceof TfjsEngineUnavailableError) throw new UsageError(`${file}: ${err.message}`);
      throw err;
    }
  }
}

async function runCommand(file: string, o: RunFlags): Promise<void> {
  // Everything that can be wrong with the input is checked before anything is written.
  const parse = dataDirFlag(o.data);
  if (o.concurrency !== undefined) {
    const cap = capConcurrency('--concurrency', o.concurrency);
    if (cap.notice) process.stderr.write(`dalesweep: ${cap.notice}\n`);
    o = { ...o, concurrency: cap.value };
  }
  // The stage threads inherit the environment: --threads caps the threads of one stage there.
  if (o.threads !== undefined) process.env.DALESWEEP_THREADS = String(o.threads);
  const { gemmThreadCap, ThreadCountError } = await import('../rnn/parallel-gemm.js');
  try {
    gemmThreadCap();
  } catch (err) {
    if (err instanceof ThreadCountError) throw new UsageError(err.message);
    throw err;
  }
  const { plan, specText } = planSweepFile(file, parse);
  if (o.engine === 'local') await checkLocalEngines(file, plan);
  const store = await openStoreFlag(o.store);
  const version = codeVersion();
  const mode = progressMode(o);
  const say = (line: string): void => {
    if (mode !== 'quiet' && mode !== 'json') process.stderr.write(line + '\n');
  };
  const s = summarizePlan(plan);
  say(`sweep ${plan.name} (${plan.sweepId.slice(0, 12)}): ${s.stages} stages, ${plan.rows.length} results; store ${store.url}; engine ${o.engine}`);

  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupted: stopping (completed stages are kept; run the same command again to resume; Ctrl-C again to exit now)\n');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const progress = createProgress(mode, plan.stages);
  let status: Map<string, StageFinalStatus>;
  let reasons: Map<string, string>;
  let ran: number;
  let wallMs: number;
  let keys: SweepKeys;
  let rows: ResultRow[];
  try {
    if (o.engine === 'local') {
      // The library's runSweep is the one local sequence: record, run (resumable), results and report.
      const { runSweep } = await import('../engines/run-sweep.js');
      const r = await runSweep(plan, {
        store,
        storeUrl: o.store,
        specText,
        codeVersion: version,
        concurrency: o.concurrency,
        report: o.report,
        onEvent: (e) => progress.onEvent(e),
        signal: abort.signal,
        onRunEnd: () => progress.stop(),
      });
      ({ status, reasons, ran, wallMs, keys, rows } = r);
    } else {
      const { collectResultRows, finalizeSweep, writeSweepRecord } = await import('../activities/finalize.js');
      keys = await writeSweepRecord(store, plan, specText);
      const { runSweepOnTemporal } = await import('../engines/temporal.js');
      const r = await runSweepOnTemporal(plan, {
        address: o.temporalAddress,
        namespace: o.namespace,
        store,
        codeVersion: version,
        window: o.window,
        controlQueue: o.controlQueue,
        onEvent: (e) => progress.onEvent(e),
        signal: abort.signal,
      });
      ({ status, reasons, ran, wallMs } = r);
      progress.stop();
      // A worker's finalize activity has already aggregated a Temporal sweep: only read the rows back.
      rows = r.finalized && o.report ? await collectResultRows(store, plan) : (await finalizeSweep(store, plan, { specText, codeVersion: version, tablesOnly: !o.report })).rows;
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }

  const counts: Record<StageFinalStatus, number> = { succeeded: 0, cached: 0, failed: 0, skipped: 0, cancelled: 0 };
  for (const st of status.values()) counts[st]++;
  const where = (key: string): string => locationOf(store, key);
  const outcome = {
    event: 'done',
    sweep: plan.name,
    sweepId: plan.sweepId,
    stages: plan.stages.length,
    ran,
    ...counts,
    wallSeconds: Math.round(wallMs) / 1000,
    resultsCsv: where(keys.resultsCsv),
    report: o.report ? where(keys.report) : null,
    rows: { succeeded: rows.filter((r) => r.status === 'succeeded').length, failed: rows.filter((r) => r.status === 'failed').length, pending: rows.filter((r) => r.status === 'pending').length },
  };
  if (mode === 'json') process.stdout.write(JSON.stringify(outcome) + '\n');
  say(`done in ${(wallMs / 1000).toFixed(1)} s: ${counts.succeeded} ran, ${counts.cached} already complete, ${counts.failed} failed, ${counts.skipped} skipped, ${counts.cancelled} not run`);
  say(`results: ${outcome.resultsCsv}`);
  if (o.report) say(`report:  ${outcome.report}`);

  if (abort.signal.aborted) throw new InterruptedError(`sweep ${plan.name} interrupted after ${ran} stage(s); run the same command to resume`);
  if (counts.failed > 0 || counts.skipped > 0 || counts.cancelled > 0) {
    const failed = [...status].filter(([, st]) => st === 'failed');
    const lines = failed.slice(0, 5).map(([id]) => {
      const st = plan.stages.find((x) => x.id === id);
      return `  ${st?.kind ?? 'stage'} ${id.slice(0, 12)}: ${reasons.get(id) ?? 'unknown reason'}`;
    });
    const more = failed.length > 5 ? `\n  ... and ${failed.length - 5} more (see ${outcome.resultsCsv})` : '';
    throw new RunFailedError(`${counts.failed} stage(s) failed, ${counts.skipped} skipped because a parent failed${counts.cancelled ? `, ${counts.cancelled} not run` : ''}:\n${lines.join('\n')}${more}`);
  }
}
