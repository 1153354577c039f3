/**
 * `dalesweep plan FILE`: validates and plans a sweep file and prints its counts (stages per kind
 * and queue, stages saved by sharing, estimated work) without running or writing anything.
 */
import type { Command } from 'commander';
import { formatPlanSummary, summarizePlan } from '../sweeps/plan.js';
import { dataDirFlag, dataOption, planSweepFile } from './sweep-ref.js';

/** Registers the `plan` sub-command. */
export function register(program: Command): void {
  program
    .command('plan')
    .description('Validate and plan a sweep file; print stage counts and estimated work (runs nothing)')
    .argument('<file>', 'sweep file (YAML)')
    .addOption(dataOption())
    .option('--json', 'print the summary as JSON')
    .option('--stages', 'also list every stage (id, kind, queue, parents)')
    .action((file: string, o: { json?: boolean; stages?: boolean; data?: string }) => {
      const { plan } = planSweepFile(file, dataDirFlag(o.data));
      const s = summarizePlan(plan);
      if (o.json) {
        const out = o.stages ? { ...s, stageList: plan.stages.map((st) => ({ id: st.id, kind: st.kind, queue: st.queue, parents: st.parents, cost: st.cost })) } : s;
        process.stdout.write(JSON.stringify(out) + '\n');
        return;
      }
      process.stdout.write(formatPlanSummary(s) + '\n');
      if (o.stages) {
        for (const st of plan.stages) process.stdout.write(`${st.id.slice(0, 12)} ${st.kind.padEnd(8)} ${st.queue.padEnd(4)} <- ${st.parents.map((p) => p.slice(0, 12)).join(', ') || '-'}\n`);
      }
    });
}
