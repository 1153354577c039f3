/**
 * `dalesweep report SWEEP`: rebuilds a sweep's results tables, summary and HTML report from the
 * store (complete or not), optionally exports every chart as PNG, or keeps the report fresh while
 * the sweep runs (`--watch`: the page reloads itself and is rebuilt as stages complete).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { codeVersion } from '../activities/code-version.js';
import { completedStageIds, readStageFailure } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { Plan } from '../sweeps/types.js';
import { UsageError } from '../errors/errors.js';
import { dataDirFlag, dataOption, openStoreFlag, positiveInt, positiveNumber, storeOption } from './options.js';
import { localPathOf, locationOf } from './store-location.js';
import { findSweep } from './sweep-ref.js';

interface ReportFlags {
  store: string;
  png?: string;
  width: number;
  height: number;
  watch?: boolean;
  interval: number;
  json?: boolean;
  data?: string;
}

/** Registers the `report` sub-command. */
export function register(program: Command): void {
  program
    .command('report')
    .description('Write results.csv/json, summary.json and report.html of a sweep (complete or in progress)')
    .argument('<sweep>', 'sweep file, or sweep name / folder / id prefix in the store')
    .addOption(storeOption())
    .addOption(dataOption())
    .option('--png <dir>', 'also export every chart as a PNG file into DIR (headless Chromium)')
    .option('--width <px>', 'PNG width', positiveInt('--width'), 960)
    .option('--height <px>', 'PNG height', positiveInt('--height'), 540)
    .option('--watch', 'rebuild the report as stages complete until the sweep is done (the page reloads itself)')
    .option('--interval <seconds>', 'watch: seconds between rebuilds', positiveNumber('--interval'), 5)
    .option('--json', 'print the written paths as JSON')
    .action(async (ref: string, o: ReportFlags) => reportCommand(ref, o));
}

async function reportCommand(ref: string, o: ReportFlags): Promise<void> {
  if (o.png !== undefined && o.png.trim() === '') throw new UsageError('--png needs a directory');
  const parse = dataDirFlag(o.data);
  const store = await openStoreFlag(o.store);
  const rec = await findSweep(ref, store, parse);
  const { finalizeSweep } = await import('../activities/finalize.js');
  const where = (key: string): string => locationOf(store, key);
  const build = (refreshSeconds?: number): ReturnType<typeof finalizeSweep> => finalizeSweep(store, rec.plan, { specText: rec.specText, codeVersion: codeVersion(), refreshSeconds });

  if (o.watch) {
    const refresh = Math.max(1, Math.round(o.interval));
    process.stderr.write(`watching ${rec.plan.name}: open ${where(rec.keys.report)} (reloads every ${refresh} s); Ctrl-C to stop\n`);
    let stop = false;
    const onSigint = (): void => {
      stop = true;
    };
    process.once('SIGINT', onSigint);
    try {
      let lastDone = -1;
      for (;;) {
        const { complete: done, settled } = await settledCount(store, rec.plan);
        const finished = settled === rec.plan.stages.length;
        if (done !== lastDone || finished) {
          const fin = await build(finished ? undefined : refresh);
          process.stderr.write(`${new Date().toISOString()} ${done}/${rec.plan.stages.length} stages complete; ${fin.rows.filter((r) => r.status === 'succeeded').length}/${fin.rows.length} results\n`);
          lastDone = done;
        }
        if (finished || stop) break;
        await new Promise((r) => setTimeout(r, o.interval * 1000));
        if (stop) break;
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
  } else {
    const fin = await build();
    if (fin.corrupt.length > 0) {
      process.stderr.write(`warning: ${fin.corrupt.length} stage(s) failed verification and are left out (pending): run the sweep again, or dalesweep verify ${rec.plan.name} --repair\n`);
      for (const c of fin.corrupt.slice(0, 5)) process.stderr.write(`  ${c.id.slice(0, 12)}: ${c.reason}\n`);
    }
  }

  let pngs: string[] = [];
  if (o.png !== undefined) {
    const { exportPngs } = await import('../report/png.js');
    let htmlPath = localPathOf(store, rec.keys.report);
    let tmp: string | null = null;
    if (htmlPath === null) {
      tmp = await mkdtemp(join(tmpdir(), 'dalesweep-report-'));
      htmlPath = join(tmp, 'report.html');
      await writeFile(htmlPath, await store.get(rec.keys.report));
    }
    try {
      pngs = await exportPngs(htmlPath, o.png, { width: o.width, height: o.height });
    } finally {
      if (tmp !== null) await rm(tmp, { recursive: true, force: true });
    }
  }
  const out = { report: where(rec.keys.report), summary: where(rec.keys.summary), resultsCsv: where(rec.keys.resultsCsv), resultsJson: where(rec.keys.resultsJson), pngs };
  if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
  else {
    process.stdout.write(`report:  ${out.report}\nsummary: ${out.summary}\nresults: ${out.resultsCsv}\n`);
    if (pngs.length) process.stdout.write(`pngs:    ${pngs.length} files in ${o.png}\n`);
  }
}

/**
 * Stages that will not change any more: complete, failed (a failure record), or below a failed
 * stage. A re-run could retry the failed ones; the watch ends when nothing else can happen.
 */
async function settledCount(store: ArtifactStore, plan: Plan): Promise<{ complete: number; settled: number }> {
  const complete = await completedStageIds(store);
  const dead = new Set<string>();
  let settled = 0;
  let done = 0;
  for (const s of plan.stages) {
    // Plan order is topological: parents are decided before their children.
    if (complete.has(s.id)) {
      done++;
      settled++;
    } else if (s.parents.some((p) => dead.has(p)) || (await readStageFailure(store, s.id)) !== null) {
      dead.add(s.id);
      settled++;
    }
  }
  return { complete: done, settled };
}
