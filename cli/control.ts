/**
 * `dalesweep pause|resume|cancel SWEEP`: control a sweep running on Temporal. Pause stops
 * dispatching new stages (running ones finish); resume continues; cancel ends the sweep (running
 * stages finish and keep their results unless `--abort-running`). Stages never look complete
 * without their artifacts, so a cancelled sweep resumes cleanly with `dalesweep run`.
 */
import type { Command } from 'commander';
import { RunFailedError } from '../errors/errors.js';
import { dataDirFlag, dataOption, namespaceOption, openStoreFlag, storeOption, temporalAddressOption } from './options.js';
import { findSweep } from './sweep-ref.js';

type Action = 'pause' | 'resume' | 'cancel';

const DESCRIPTIONS: Record<Action, string> = {
  pause: 'Pause a sweep running on Temporal (no new stages start; running ones finish)',
  resume: 'Resume a paused sweep on Temporal',
  cancel: 'Cancel a sweep running on Temporal (completed stages are kept; run it again to resume)',
};

interface ControlFlags {
  store: string;
  data?: string;
  temporalAddress: string;
  namespace: string;
  abortRunning?: boolean;
}

/** Registers the `pause`, `resume` and `cancel` sub-commands. */
export function register(program: Command): void {
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    const cmd = program
      .command(action)
      .description(DESCRIPTIONS[action])
      .argument('<sweep>', 'sweep file, or sweep name / folder / id prefix in the store')
      .addOption(storeOption())
      .addOption(dataOption())
      .addOption(temporalAddressOption())
      .addOption(namespaceOption());
    if (action === 'cancel') cmd.option('--abort-running', 'also abort the stages that are running (their partial work is discarded)');
    cmd.action(async (ref: string, o: ControlFlags) => {
      const parse = dataDirFlag(o.data);
      const store = await openStoreFlag(o.store);
      const { plan } = await findSweep(ref, store, parse);
      const { signalSweep } = await import('../engines/temporal.js');
      try {
        await signalSweep(plan.sweepId, action, { address: o.temporalAddress, namespace: o.namespace, abortRunning: o.abortRunning });
      } catch (err) {
        if (err instanceof Error && err.name === 'WorkflowNotFoundError') {
          throw new RunFailedError(`sweep ${plan.name} (${plan.sweepId.slice(0, 12)}) has no running workflow at ${o.temporalAddress} (namespace ${o.namespace})`);
        }
        throw err;
      }
      process.stdout.write(`${action}: sent to sweep ${plan.name} (${plan.sweepId.slice(0, 12)})\n`);
    });
  }
}
