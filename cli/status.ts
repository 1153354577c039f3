/**
 * `dalesweep status SWEEP`: how far a sweep is, from the store (stages complete / failed /
 * running / pending per kind, `activities/sweep-progress.ts`) or, with `--engine temporal`, from
 * the running workflow's progress query.
 */
import { Command, Option } from 'commander';
import { sweepStoreProgress, type StageCounts } from '../activities/sweep-progress.js';
import { dataDirFlag, dataOption, namespaceOption, openStoreFlag, storeOption, temporalAddressOption } from './options.js';
import { findSweep } from './sweep-ref.js';

/** Registers the `status` sub-command. */
export function register(program: Command): void {
  program
    .command('status')
    .description('Show how far a sweep is (stages complete, failed, pending per kind)')
    .argument('<sweep>', 'sweep file, or sweep name / folder / id prefix in the store')
    .addOption(storeOption())
    .addOption(dataOption())
    .addOption(new Option('--engine <engine>', 'read progress from the store (local) or the Temporal workflow').choices(['local', 'temporal']).default('local'))
    .addOption(temporalAddressOption())
    .addOption(namespaceOption())
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { store: string; engine: 'local' | 'temporal'; temporalAddress: string; namespace: string; json?: boolean; data?: string }) => {
      const parse = dataDirFlag(o.data);
      const store = await openStoreFlag(o.store);
      const { plan } = await findSweep(ref, store, parse);
      if (o.engine === 'temporal') {
        const { querySweepStatus } = await import('../engines/temporal.js');
        const st = await querySweepStatus(plan.sweepId, { address: o.temporalAddress, namespace: o.namespace, plan });
        if (o.json) {
          process.stdout.write(JSON.stringify({ sweep: plan.name, sweepId: plan.sweepId, running: st.running, progress: st.progress }) + '\n');
        } else {
          process.stdout.write(`sweep ${plan.name} (${plan.sweepId.slice(0, 12)}) on Temporal: ${st.running ? 'running' : 'not running'}\n`);
          if (st.progress) process.stdout.write(JSON.stringify(st.progress, null, 2) + '\n');
        }
        return;
      }
      const p = await sweepStoreProgress(store, plan);
      const all = p.counts;
      const byKind = new Map(Object.entries(p.byKind));
      const failures = p.failures.map((f) => ({ id: f.id, kind: f.kind, reason: f.reason }));
      const requarantined = p.quarantined;
      const scan = { corrupt: p.corrupt };
      if (o.json) {
        process.stdout.write(JSON.stringify({ sweep: plan.name, sweepId: plan.sweepId, store: store.url, ...all, quarantined: requarantined, byKind: Object.fromEntries(byKind), failures, corruptStages: scan.corrupt.map((c) => ({ id: c.id, reason: c.reason })) }) + '\n');
        return;
      }
      const bad = all.corrupt ? `, ${all.corrupt} corrupt` : '';
      const run = (c: StageCounts): string => (c.running ? `, ${c.running} running` : '');
      const lines = [`sweep ${plan.name} (${plan.sweepId.slice(0, 12)}) in ${store.url}`, `stages: ${all.complete}/${all.total} complete${bad}, ${all.failed} failed${run(all)}, ${all.pending} pending`];
      for (const [k, c] of byKind) lines.push(`  ${k.padEnd(8)} ${c.complete}/${c.total} complete${c.corrupt ? `, ${c.corrupt} corrupt` : ''}, ${c.failed} failed${run(c)}, ${c.pending} pending`);
      for (const c of scan.corrupt.slice(0, 10)) lines.push(`  corrupt ${c.id.slice(0, 12)}: ${c.reason}`);
      if (all.corrupt > 0) lines.push(`  (corrupt stages are quarantined and re-run by the next run, or now by: dalesweep verify ${plan.name} --repair)`);
      if (requarantined > 0) lines.push(`  ${requarantined} stage(s) were quarantined earlier and re-run (see quarantine/ in the store)`);
      for (const f of failures.slice(0, 10)) lines.push(`  failed ${f.kind} ${f.id.slice(0, 12)}: ${f.reason}`);
      if (failures.length > 10) lines.push(`  ... and ${failures.length - 10} more failures`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
