/**
 * `dalesweep verify [SWEEP] [--repair]`: checks a store's integrity. With SWEEP, the stages of
 * that sweep; without, every stage in the store. Each stage's manifest and every file it lists
 * (size and sha256), every training checkpoint (its sha256), and each sweep's `plan.json`.
 * `--repair` quarantines what fails (`quarantine/` in the store, never deleted) so the next run
 * re-runs it, together with the complete stages built on a corrupt one; rebuilds a corrupt
 * `plan.json` from the sweep's stored spec; and removes temporary files of dead writers.
 * Exit status 0 when the store is sound (or was repaired), 1 when problems remain.
 */
import type { Command } from 'commander';
import { CheckpointFormatError, quarantineCheckpoint, readCheckpoint } from '../activities/checkpoint.js';
import { readSweepRecord } from '../activities/finalize.js';
import { scanStages, type StageNode } from '../activities/plan-scan.js';
import { newLeaseOwner } from '../store/lease.js';
import { completedStageIds, parseStageManifest, StageManifestError } from '../store/stage-io.js';
import { stageManifestKey } from '../store/layout.js';
import { StoreError, StoreNotFoundError, type ArtifactStore } from '../store/types.js';
import { RunFailedError } from '../errors/errors.js';
import { dataDirFlag, dataOption, openStoreFlag, storeOption } from './options.js';
import { findSweep } from './sweep-ref.js';

interface VerifyFlags {
  store: string;
  repair?: boolean;
  json?: boolean;
  data?: string;
}

/** One problem found. */
interface Problem {
  kind: 'stage' | 'checkpoint' | 'plan';
  key: string;
  reason: string;
  /** What --repair did about it. */
  repaired?: string;
}

/** Registers the `verify` sub-command. */
export function register(program: Command): void {
  program
    .command('verify')
    .description('Check every manifest, checksum and checkpoint in the store; --repair quarantines what fails so it runs again')
    .argument('[sweep]', 'sweep file, or sweep name / folder / id prefix in the store (default: the whole store)')
    .addOption(storeOption())
    .addOption(dataOption())
    .option('--repair', 'quarantine corrupt stages (and those built on them) and checkpoints, rebuild corrupt plans, remove stale temporary files')
    .option('--json', 'print the result as JSON')
    .action(async (ref: string | undefined, o: VerifyFlags) => verifyCommand(ref, o));
}

/** Stage nodes of every manifest in the store, parents first (a corrupt manifest has none). */
async function storeStageNodes(store: ArtifactStore): Promise<StageNode[]> {
  const ids = [...(await completedStageIds(store))].sort();
  const parents = new Map<string, string[]>();
  for (const id of ids) {
    try {
      parents.set(id, parseStageManifest(store, id, await store.get(stageManifestKey(id))).parents.filter((p) => typeof p === 'string'));
    } catch (err) {
      if (err instanceof StageManifestError || err instanceof StoreNotFoundError) parents.set(id, []);
      else throw err;
    }
  }
  const out: StageNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): void => {
    if (state.has(id)) return; // done, or a cycle in corrupt data: ignore the back edge
    state.set(id, 'visiting');
    for (const p of parents.get(id) ?? []) if (parents.has(p)) visit(p);
    state.set(id, 'done');
    out.push({ id, parents: parents.get(id) ?? [] });
  };
  for (const id of ids) visit(id);
  return out;
}

async function verifyCommand(ref: string | undefined, o: VerifyFlags): Promise<void> {
  const parse = dataDirFlag(o.data);
  const store = await openStoreFlag(o.store);
  const problems: Problem[] = [];
  const owner = newLeaseOwner();
  let nodes: StageNode[];
  let planKeys: string[];
  if (ref !== undefined) {
    const rec = await findSweep(ref, store, parse);
    nodes = rec.plan.stages;
    planKeys = [rec.keys.plan];
  } else {
    nodes = await storeStageNodes(store);
    planKeys = (await store.list('sweeps/')).filter((k) => /^sweeps\/[^/]+\/plan\.json$/.test(k));
  }

  // Plans (a sweep given by name was read, and repaired if needed, by findSweep).
  if (ref === undefined) {
    for (const key of planKeys) {
      const bad = await readPlanOnly(store, key);
      if (bad === null) continue;
      const p: Problem = { kind: 'plan', key, reason: bad };
      if (o.repair) {
        try {
          await readSweepRecord(store, key);
          p.repaired = 'rebuilt from the stored spec.yaml';
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          p.reason = err.message;
        }
      }
      problems.push(p);
    }
  }

  // Stages.
  const scan = await scanStages(store, nodes, o.repair ? { repair: { owner } } : {});
  for (const c of scan.corrupt) {
    problems.push({ kind: 'stage', key: `stages/${c.id}/`, reason: c.reason, ...(c.quarantinedTo ? { repaired: `moved to ${c.quarantinedTo}` } : {}) });
  }

  // Checkpoints (of the sweep's stages, or all).
  const wanted = ref !== undefined ? new Set(nodes.map((n) => n.id)) : null;
  let checkpoints = 0;
  {
    for (const key of await store.list('checkpoints/')) {
      const id = /^checkpoints\/([0-9a-f]+)\//.exec(key)?.[1];
      if (!key.endsWith('.ckpt') || (wanted !== null && (id === undefined || !wanted.has(id)))) continue;
      checkpoints++;
      const read = await readCheckpoint(store, key);
      if (read instanceof CheckpointFormatError) {
        const p: Problem = { kind: 'checkpoint', key, reason: read.message };
        if (o.repair) p.repaired = `moved to ${await quarantineCheckpoint(store, key)}`;
        problems.push(p);
      }
    }
  }
  const temporaries = o.repair ? ((await store.removeStaleTemporaries?.()) ?? 0) : 0;

  const unrepaired = problems.filter((p) => p.repaired === undefined);
  const result = { store: store.url, sweep: ref ?? null, stages: nodes.length, complete: scan.complete.size, checkpoints, plans: planKeys.length, problems, temporariesRemoved: temporaries };
  if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const lines = [`verified ${store.url}${ref !== undefined ? ` (sweep ${ref})` : ''}: ${scan.complete.size} complete stage(s) sound, ${checkpoints} checkpoint(s), ${planKeys.length} plan(s); ${problems.length} problem(s)`];
    for (const p of problems.slice(0, 20)) lines.push(`  ${p.kind} ${p.key}: ${p.reason}${p.repaired ? ` -> ${p.repaired}` : ''}`);
    if (problems.length > 20) lines.push(`  ... and ${problems.length - 20} more (--json lists them all)`);
    if (temporaries > 0) lines.push(`  removed ${temporaries} temporary file(s) left by interrupted writes`);
    if (problems.length > 0 && !o.repair) lines.push('  run dalesweep verify --repair to quarantine them (the next run re-runs those stages)');
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (unrepaired.length > 0) {
    throw new RunFailedError(o.repair ? `${unrepaired.length} problem(s) could not be repaired now (listed above)` : `${unrepaired.length} problem(s) found in ${store.url}`);
  }
}

/** Why a stored plan is unreadable, or null when it reads as a plan. */
async function readPlanOnly(store: ArtifactStore, key: string): Promise<string | null> {
  try {
    const p = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await store.get(key))) as { stages?: unknown; sweepId?: unknown; rows?: unknown };
    if (p && Array.isArray(p.stages) && Array.isArray(p.rows) && typeof p.sweepId === 'string') return null;
  } catch {
    // reported below
  }
  return 'corrupt (not a dalesweep plan); verify --repair rebuilds it from the sweep\'s spec.yaml';
}
