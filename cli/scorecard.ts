/**
 * `dalesweep scorecard SWEEP...`: the paper comparison of one or more sweeps as Markdown tables
 * (our numbers beside the authors' in their units, the paper's claims with verdicts), read from
 * each sweep's `summary.json` in the store; a sweep without one is aggregated first (as
 * `dalesweep report` would).
 */
import type { Command } from 'commander';
import { codeVersion } from '../activities/code-version.js';
import { scorecard, scorecardMarkdown, type Scorecard } from '../analysis/scorecard.js';
import type { Summary } from '../analysis/types.js';
import { StoreNotFoundError } from '../store/types.js';
import { UsageError } from '../errors/errors.js';
import { dataDirFlag, dataOption, openStoreFlag, storeOption } from './options.js';
import { findSweep } from './sweep-ref.js';

interface ScorecardFlags {
  store: string;
  json?: boolean;
  data?: string;
}

/** Registers the `scorecard` sub-command. */
export function register(program: Command): void {
  program
    .command('scorecard')
    .description("Print the paper comparison of one or more sweeps as Markdown (numbers beside the authors', claims with verdicts)")
    .argument('<sweeps...>', 'sweep files, or sweep names / folders / id prefixes in the store')
    .addOption(storeOption())
    .addOption(dataOption())
    .option('--json', 'print the scorecards as JSON')
    .action(async (refs: string[], o: ScorecardFlags) => scorecardCommand(refs, o));
}

async function scorecardCommand(refs: string[], o: ScorecardFlags): Promise<void> {
  const parse = dataDirFlag(o.data);
  const store = await openStoreFlag(o.store);
  const cards: { sweep: string; card: Scorecard }[] = [];
  for (const ref of refs) {
    const rec = await findSweep(ref, store, parse);
    let summary: Summary;
    try {
      summary = JSON.parse(new TextDecoder().decode(await store.get(rec.keys.summary))) as Summary;
    } catch (err) {
      if (!(err instanceof StoreNotFoundError) && !(err instanceof SyntaxError)) throw err;
      const { finalizeSweep } = await import('../activities/finalize.js');
      const fin = await finalizeSweep(store, rec.plan, { specText: rec.specText, codeVersion: codeVersion() });
      if (fin.summary === null) throw new UsageError(`sweep ${ref}: no summary could be built`);
      summary = fin.summary;
    }
    // Rebuilt from the summary, so an older summary.json gets the current comparison.
    cards.push({ sweep: `${rec.plan.name}-${rec.plan.sweepId.slice(0, 12)}`, card: scorecard(summary) });
  }
  if (o.json) process.stdout.write(JSON.stringify(cards) + '\n');
  else process.stdout.write(scorecardMarkdown(cards));
}
