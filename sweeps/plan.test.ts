import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec, SpecError } from './spec.js';
import { checkPlanSize, ITERATIVE_SEED_STRIDE, noopSweep, planSweep, PlanTooLargeError } from './plan.js';
import { summarizePlan } from './plan-summary.js';
import { MAX_PLANNED_STAGES, stagesPerRunBound } from './plan-limits.js';
import { stageId, sweepIdOf } from './identity.js';
import type { Plan, Stage } from './types.js';
import type { PruneStageConfig } from './stage-config.js';

const CV = 'test-code-version';

const KNOWN = `
name: known
fixed: { nHidden: 16 }
axes:
  task: [flipflop, wave]
  rule: [conventional, dale]
  pruning: [random, top-prob]
  sparsity: [0.5, 0.8, 0.9]
  seed: [0, 1, 2]
`;

function plan(text: string, cv = CV): Plan {
  return planSweep(parseSpec(text, 'test.yaml'), { codeVersion: cv });
}

function byKind(p: Plan, kind: Stage['kind']): Stage[] {
  return p.stages.filter((s) => s.kind === kind);
}

test('counts for a known spec: one train per (task, rule, seed), 4 stages per pruning assignment', () => {
  const p = plan(KNOWN);
  const runs = 2 * 2 * 3; // task x rule x seed
  const pruned = runs * 2 * 3; // x method x sparsity
  assert.equal(byKind(p, 'train').length, runs);
  assert.equal(byKind(p, 'prune').length, pruned);
  assert.equal(byKind(p, 'finetune').length, pruned);
  assert.equal(byKind(p, 'evaluate').length, runs + 2 * pruned);
  assert.equal(p.stages.length, runs * 2 + pruned * 4);
  assert.equal(p.rows.length, runs + 2 * pruned);
  const s = summarizePlan(p);
  assert.equal(s.stages, p.stages.length);
  assert.deepEqual(s.byKind, { train: 12, prune: 72, finetune: 72, evaluate: 156, noop: 0 });
  // Without sharing: dense rows [train, eval], pruned [train, prune, eval], finetuned [train, prune, ft, eval].
  assert.equal(s.unsharedStages, runs * 2 + pruned * 3 + pruned * 4);
  assert.equal(s.savedBySharing, s.unsharedStages - p.stages.length);
  assert.ok(s.cost > 0 && s.unsharedCost > s.cost);
});

test('stages are in topological order, each once, with known parents', () => {
  const p = plan(KNOWN);
  const seen = new Set<string>();
  for (const s of p.stages) {
    assert.ok(!seen.has(s.id), 'duplicate stage');
    for (const q of s.parents) assert.ok(seen.has(q), `parent of ${s.kind} not before it`);
    seen.add(s.id);
    assert.match(s.id, /^[0-9a-f]{64}$/);
    assert.equal(s.queue, 'cpu');
  }
  for (const r of p.rows) {
    assert.equal(r.stageIds[r.stageIds.length - 1], r.stageId);
    assert.ok(r.stageIds.every((id) => seen.has(id)));
  }
});

test('the dense model of (task, rule, seed) is shared by every method and sparsity', () => {
  const p = plan(KNOWN);
  const trainOf = new Map<string, string>();
  for (const r of p.rows) {
    const key = `${r.params.task}/${r.params.rule}/${r.params.seed}`;
    const train = r.stageIds[0];
    if (trainOf.has(key)) assert.equal(trainOf.get(key), train, key);
    else trainOf.set(key, train);
  }
  assert.equal(trainOf.size, 12);
  assert.equal(new Set(trainOf.values()).size, 12);
  // One dense evaluation per train stage.
  const dense = p.rows.filter((r) => r.params.phase === 'dense');
  assert.equal(dense.length, 12);
  for (const r of dense) assert.deepEqual([r.params.pruning, r.params.sparsity, r.params.mode], [null, null, null]);
  // Train configs carry no pruning fields.
  for (const s of byKind(p, 'train')) for (const k of ['method', 'sparsity', 'pruneSeed']) assert.ok(!(k in s.config));
});

test('rows carry flat params with the same columns, and phases pruned/finetuned per pruning assignment', () => {
  const p = plan(KNOWN);
  const cols = Object.keys(p.rows[0].params).sort().join(',');
  for (const r of p.rows) assert.equal(Object.keys(r.params).sort().join(','), cols);
  const pr = p.rows.filter((r) => r.params.phase === 'pruned');
  const ft = p.rows.filter((r) => r.params.phase === 'finetuned');
  assert.equal(pr.length, 72);
  assert.equal(ft.length, 72);
  const one = ft.find((r) => r.params.task === 'wave' && r.params.rule === 'dale' && r.params.pruning === 'top-prob' && r.params.sparsity === 0.8 && r.params.seed === 2)!;
  assert.equal(one.stageIds.length, 4);
  const [train, prune, fine, ev] = one.stageIds.map((id) => p.stages.find((s) => s.id === id)!);
  assert.deepEqual([train.kind, prune.kind, fine.kind, ev.kind], ['train', 'prune', 'finetune', 'evaluate']);
  assert.equal(fine.config.kind === 'finetune' && fine.config.epochs, 13); // ceil(25 / 2), wave default 25
  assert.equal(one.params.finetuneEpochs, 13);
  assert.equal(one.params.nHidden, 16);
  assert.equal(one.params.mode, 'one-shot');
});

test('identity is stable across key order and number formatting in the YAML', () => {
  const a = plan(`name: s\nfixed: { lr: 1e-3, nHidden: 16, epochs: 4 }\naxes:\n  task: [wave]\n  rule: [dale]\n  pruning: [random]\n  sparsity: [0.5]\n`);
  const b = plan(`axes:\n  sparsity: [0.50]\n  pruning: [random]\n  rule: [dale]\n  task: [wave]\nfixed: { epochs: 4.0, nHidden: 16, lr: 0.0010 }\nname: s\n`);
  assert.deepEqual(new Set(a.stages.map((s) => s.id)), new Set(b.stages.map((s) => s.id)));
  assert.equal(a.sweepId, b.sweepId);
  // Planning twice gives the same plan.
  assert.deepEqual(plan(KNOWN), plan(KNOWN));
});

test('a parameter change changes the identity of that stage and its descendants only', () => {
  const base = `name: c\nfixed: { nHidden: 16 }\naxes: { task: [flipflop], rule: [dale], pruning: [random], sparsity: [0.5] }\n`;
  const ids = (p: Plan): Record<string, string> => {
    const ft = p.rows.find((r) => r.params.phase === 'finetuned')!.stageIds;
    const pe = p.rows.find((r) => r.params.phase === 'pruned')!.stageIds;
    const de = p.rows.find((r) => r.params.phase === 'dense')!.stageIds;
    return { train: ft[0], prune: ft[1], finetune: ft[2], ftEval: ft[3], prEval: pe[2], denseEval: de[1] };
  };
  const a = ids(plan(base));
  const ft = ids(plan(`${base}stages: { finetune: { epochs: 7 } }\n`));
  assert.deepEqual([ft.train, ft.prune, ft.prEval, ft.denseEval], [a.train, a.prune, a.prEval, a.denseEval]);
  assert.notEqual(ft.finetune, a.finetune);
  assert.notEqual(ft.ftEval, a.ftEval);

  const sp = ids(plan(base.replace('sparsity: [0.5]', 'sparsity: [0.6]')));
  assert.deepEqual([sp.train, sp.denseEval], [a.train, a.denseEval]);
  for (const k of ['prune', 'finetune', 'ftEval', 'prEval'] as const) assert.notEqual(sp[k], a[k], k);

  const lr = ids(plan(base.replace('nHidden: 16', 'nHidden: 16, lr: 0.002')));
  for (const k of Object.keys(a)) assert.notEqual(lr[k], a[k], k);

  // The queue routes work but does not change results: no id changes.
  const q = ids(plan(base.replace('nHidden: 16', 'nHidden: 16, queue: gpu')));
  assert.deepEqual(q, a);
  // A new code version changes everything.
  const cv = ids(plan(base, 'other-code'));
  for (const k of Object.keys(a)) assert.notEqual(cv[k], a[k], k);
});

test('queue comes from fixed / tasks / axes and defaults to cpu', () => {
  const p = plan(`name: q\ntasks: { smnist: { queue: gpu } }\naxes: { task: [flipflop, smnist], rule: [dale] }\n`);
  for (const s of p.stages) assert.equal(s.queue, (s.config as { task: string }).task === 'smnist' ? 'gpu' : 'cpu');
});

test('without a pruning axis: train -> evaluate(dense) only', () => {
  const p = plan(`name: d\naxes: { task: [flipflop, wave, smnist], rule: [conventional, rectified, dale], seed: [0, 1, 2, 3, 4] }\n`);
  assert.equal(byKind(p, 'train').length, 45);
  assert.equal(byKind(p, 'evaluate').length, 45);
  assert.equal(p.stages.length, 90);
  assert.ok(p.rows.every((r) => r.params.phase === 'dense' && r.stageIds.length === 2));
});

test('finetune: false plans prune -> evaluate(pruned) only', () => {
  const p = plan(`name: f\naxes: { task: [wave], rule: [dale], pruning: [random], sparsity: [0.5, 0.7] }\nstages: { finetune: false }\n`);
  assert.equal(byKind(p, 'finetune').length, 0);
  assert.deepEqual(p.rows.map((r) => r.params.phase).sort(), ['dense', 'pruned', 'pruned']);
});

test('iterative pruning: k rounds with cumulative keep (1 - s)^(r/k), one-shot when k = 1', () => {
  const p = plan(`name: it\naxes: { task: [wave], rule: [dale], pruning: [top-prob], sparsity: [0.875], seed: [3] }\nstages: { prune: { mode: iterative, rounds: 3 } }\n`);
  const ft = p.rows.find((r) => r.params.phase === 'finetuned')!;
  const chain = ft.stageIds.map((id) => p.stages.find((s) => s.id === id)!);
  assert.deepEqual(
    chain.map((s) => s.kind),
    ['train', 'prune', 'finetune', 'prune', 'finetune', 'prune', 'finetune', 'evaluate'],
  );
  const prunes = chain.filter((s) => s.kind === 'prune').map((s) => s.config as PruneStageConfig);
  const keep = prunes.map((c) => 1 - c.sparsity!);
  [0.5, 0.25, 0.125].forEach((k, i) => assert.ok(Math.abs(keep[i] - k) < 1e-12, `round ${i + 1} keep ${keep[i]}`));
  assert.equal(prunes[2].sparsity, 0.875);
  assert.deepEqual(prunes.map((c) => c.pruneSeed), [3, 3 + ITERATIVE_SEED_STRIDE, 3 + 2 * ITERATIVE_SEED_STRIDE]);
  for (let i = 1; i < chain.length; i++) assert.deepEqual(chain[i].parents, [chain[i - 1].id]);
  const pr = p.rows.find((r) => r.params.phase === 'pruned')!;
  assert.equal(pr.stageIds[pr.stageIds.length - 2], chain[5].id);

  const one = plan(`name: it\naxes: { task: [wave], rule: [dale], pruning: [top-prob], sparsity: [0.875], seed: [3] }\nstages: { prune: { mode: iterative, rounds: 1 } }\n`);
  const shot = plan(`name: it\naxes: { task: [wave], rule: [dale], pruning: [top-prob], sparsity: [0.875], seed: [3] }\n`);
  assert.deepEqual(one.stages.map((s) => s.id), shot.stages.map((s) => s.id));
});

test('at-init pruning: prune (no parent) -> train with that parent -> evaluate, plus the dense baseline', () => {
  const p = plan(`name: ai\naxes: { task: [flipflop], rule: [dale], pruning: [random, top-prob], sparsity: [0.5] }\nstages: { prune: { mode: at-init } }\n`);
  const trains = byKind(p, 'train');
  assert.equal(trains.length, 3);
  const dense = trains.filter((t) => t.parents.length === 0);
  assert.equal(dense.length, 1);
  for (const pr of byKind(p, 'prune')) {
    assert.deepEqual(pr.parents, []);
    assert.equal((pr.config as PruneStageConfig).atInit, true);
  }
  const rows = p.rows.filter((r) => r.params.mode === 'at-init');
  assert.equal(rows.length, 2);
  for (const r of rows) assert.deepEqual(r.stageIds.map((id) => p.stages.find((s) => s.id === id)!.kind), ['prune', 'train', 'evaluate']);
});

test('the pruning paper sweep reuses the dense Dale stages of the learning-rules sweep', async () => {
  const { loadSpec } = await import('./spec.js');
  const root = new URL('../../', import.meta.url);
  const lr = planSweep(loadSpec(new URL('sweeps/paper/learning-rules.yaml', root).pathname), { codeVersion: CV });
  const pr = planSweep(loadSpec(new URL('sweeps/paper/pruning.yaml', root).pathname), { codeVersion: CV });
  const lrIds = new Set(lr.stages.map((s) => s.id));
  const shared = pr.stages.filter((s) => lrIds.has(s.id));
  assert.equal(shared.length, 30); // 3 tasks x 5 seeds x (train + dense evaluate)
  assert.equal(byKind(pr, 'prune').length, 3 * 2 * 14 * 5);
});

test('noopSweep plans n noop stages with distinct ids and the given parents', () => {
  const p = noopSweep(50, { codeVersion: CV, parents: (i) => (i > 0 ? [i - 1] : []), queue: (i) => (i % 2 ? 'a' : 'b') });
  assert.equal(p.stages.length, 50);
  assert.equal(new Set(p.stages.map((s) => s.id)).size, 50);
  for (let i = 1; i < 50; i++) assert.deepEqual(p.stages[i].parents, [p.stages[i - 1].id]);
  assert.equal(p.stages[3].queue, 'a');
  assert.throws(() => noopSweep(3, { codeVersion: CV, parents: (i) => [i] }), RangeError);
  assert.equal(summarizePlan(p).byKind.noop, 50);
  // A salt changes every id; fail marks the chosen stages.
  const salted = noopSweep(3, { codeVersion: CV, salt: 'x', fail: new Set([1]) });
  const plain = noopSweep(3, { codeVersion: CV });
  for (let i = 0; i < 3; i++) assert.notEqual(salted.stages[i].id, plain.stages[i].id);
  assert.deepEqual(salted.stages.map((s) => (s.config as { fail?: boolean }).fail === true), [false, true, false]);
});

const CELLTYPE = `
name: ct
fixed: { task: celltype, celltypeData: synthetic, latentScaling: 1, nTrain: 40, epochs: 4, pruning: celltype }
axes:
  condition: [familiar_change_full, familiar_no_change_half, novel_omission_full]
  seed: [0, 1]
`;

test('celltype: train -> prune (Table 1 blocks) -> finetune -> evaluate per (condition, seed), rows carry the condition', () => {
  const p = plan(CELLTYPE);
  const runs = 3 * 2;
  assert.deepEqual(summarizePlan(p).byKind, { train: runs, prune: runs, finetune: runs, evaluate: 3 * runs, noop: 0 });
  assert.equal(p.rows.length, 3 * runs);
  for (const cond of ['familiar_change_full', 'familiar_no_change_half', 'novel_omission_full']) {
    const rows = p.rows.filter((r) => r.params.condition === cond);
    assert.deepEqual(rows.map((r) => r.params.phase).sort(), ['dense', 'dense', 'finetuned', 'finetuned', 'pruned', 'pruned']);
  }
  const ft = p.rows.find((r) => r.params.phase === 'finetuned' && r.params.condition === 'novel_omission_full' && r.params.seed === 1)!;
  const [train, prune, fine, ev] = ft.stageIds.map((id) => p.stages.find((s) => s.id === id)!);
  assert.deepEqual([train.kind, prune.kind, fine.kind, ev.kind], ['train', 'prune', 'finetune', 'evaluate']);
  const pc = prune.config as PruneStageConfig;
  assert.deepEqual([pc.method, pc.sparsity, pc.pruneSeed, pc.atInit], ['celltype', null, 1, false]);
  assert.deepEqual(pc.celltype, { condition: 'novel_omission_full', latentScaling: 1, data: 'synthetic', syntheticSamples: 40 });
  assert.deepEqual([pc.nHidden, pc.excFraction, pc.threshold, pc.dataSource, pc.rule], [90, 0.8, 0, null, 'dale']);
  assert.equal(fine.config.kind === 'finetune' && fine.config.epochs, 2); // half of 4
  assert.deepEqual(
    [ft.params.task, ft.params.pruning, ft.params.sparsity, ft.params.nHidden, ft.params.latentScaling, ft.params.celltypeData, ft.params.pruneSeed],
    ['celltype', 'celltype', null, 90, 1, 'synthetic', null],
  );
  // A half condition costs less than a full one (T = 7 vs 15).
  const trainOf = (cond: string): Stage => p.stages.find((s) => s.kind === 'train' && s.config.kind === 'train' && s.config.celltype?.condition === cond)!;
  assert.ok(trainOf('familiar_no_change_half').cost < trainOf('familiar_change_full').cost);
});

test('celltype: the paper defaults give 100 dense and 50 fine-tuning epochs; other tasks rows have no celltype columns', () => {
  const p = plan('name: d\nfixed: { task: celltype, dataDir: /data, pruning: celltype }\naxes: { condition: [familiar_change_full] }\n');
  const ft = p.rows.find((r) => r.params.phase === 'finetuned')!;
  const stages = ft.stageIds.map((id) => p.stages.find((s) => s.id === id)!);
  assert.deepEqual(stages.map((s) => (s.config.kind === 'train' || s.config.kind === 'finetune' ? s.config.epochs : null)), [100, null, 50, null]);
  assert.equal(ft.params.nHidden, 1440);
  for (const r of plan(KNOWN).rows) for (const k of ['condition', 'latentScaling', 'celltypeData', 'syntheticSamples']) assert.ok(!(k in r.params), k);
  for (const s of plan(KNOWN).stages) assert.ok(!('celltype' in s.config));
});

test('lrSchedule cosine: train and finetune configs carry it (fresh schedule per stage); constant leaves configs and ids as they were', () => {
  const base = `name: c\nfixed: { nHidden: 16 }\naxes: { task: [flipflop], rule: [dale], pruning: [random], sparsity: [0.5] }\n`;
  const constant = plan(base);
  const explicit = plan(base.replace('nHidden: 16', 'nHidden: 16, lrSchedule: constant'));
  assert.deepEqual(explicit.stages.map((s) => s.id), constant.stages.map((s) => s.id));
  for (const s of constant.stages) assert.ok(!('lrSchedule' in s.config), 'constant: no lrSchedule field');
  const cos = plan(base.replace('nHidden: 16', 'nHidden: 16, lrSchedule: cosine'));
  for (const s of cos.stages) {
    if (s.kind === 'train' || s.kind === 'finetune') assert.deepEqual((s.config as { lrSchedule?: unknown }).lrSchedule, { kind: 'cosine', tMax: 10, etaMin: 1e-4 }, s.kind);
    else assert.ok(!('lrSchedule' in s.config), s.kind);
  }
  // Every stage id changes (all descend from the dense training), and so do T_max and eta_min.
  const ids = (p: Plan): Set<string> => new Set(p.stages.map((s) => s.id));
  for (const id of ids(cos)) assert.ok(!ids(constant).has(id));
  const t5 = plan(base.replace('nHidden: 16', 'nHidden: 16, lrSchedule: cosine, lrTMax: 5'));
  const m0 = plan(base.replace('nHidden: 16', 'nHidden: 16, lrSchedule: cosine, lrMin: 0'));
  for (const other of [t5, m0]) for (const id of ids(other)) assert.ok(!ids(cos).has(id));
  // Rows carry the schedule columns.
  assert.deepEqual([cos.rows[0].params.lrSchedule, cos.rows[0].params.lrTMax, cos.rows[0].params.lrMin], ['cosine', 10, 1e-4]);
  assert.deepEqual([constant.rows[0].params.lrSchedule, constant.rows[0].params.lrTMax, constant.rows[0].params.lrMin], ['constant', null, null]);
});

test('a data directory override reaches every celltype stage config as an absolute path and changes the ids', async () => {
  const { loadSpec } = await import('./spec.js');
  const file = new URL('../../sweeps/paper/celltype.yaml', import.meta.url).pathname;
  const placeholder = planSweep(loadSpec(file), { codeVersion: CV });
  const p = planSweep(loadSpec(file, { dataDir: '/srv/allen/celltype' }), { codeVersion: CV });
  assert.equal(p.stages.length, placeholder.stages.length);
  for (const s of p.stages) assert.equal((s.config as { dataDir: string | null }).dataDir, '/srv/allen/celltype');
  for (const r of p.rows) assert.equal(r.params.dataDir, '/srv/allen/celltype');
  const before = new Set(placeholder.stages.map((s) => s.id));
  assert.ok(p.stages.every((s) => !before.has(s.id)));
  assert.notEqual(p.sweepId, placeholder.sweepId);
});

test('pinned identities: sweep and stage ids of known sweeps never change', () => {
  const first = (p: Plan, kind: Stage['kind']): string => p.stages.find((s) => s.kind === kind)!.id;
  const cases: [string, string, number, string, string, string][] = [
    // [stages section or lrSchedule, sweep id, stages, first train, first prune, first evaluate]
    ['', 'ef586859ad5d71c526789d97f48f5547789509c481776d062d8f2e0f15e54396', 312, 'e7d221ccb663785d527279e89d40fe50fd7bb85c0a9478c60da69db003dabb17', '6b6b485b1cea679d6ceb727ed48c3d37efa078b87a67f693cd61f0e05320f087', 'a1fa802b32f6315c6bdb80a33614848ad07a7772d2e51e85ba535d8247888a53'],
    ['stages: { prune: { mode: iterative, rounds: 2 } }\n', '921c00070eb456a15b5ac9d881aa822c9d3127cd03cacd82130011cbef965828', 456, 'e7d221ccb663785d527279e89d40fe50fd7bb85c0a9478c60da69db003dabb17', 'c076588ce44bf1afc66a82b0d5f9e8d1737d8bd9f3f050e36d0a58f90e1df9f3', 'a1fa802b32f6315c6bdb80a33614848ad07a7772d2e51e85ba535d8247888a53'],
    ['stages: { prune: { mode: at-init } }\n', 'dcd49717ca0abe9449100991d6a5cd1f080be5aa6a7f1c1e2d013e6bd13510c0', 240, 'e7d221ccb663785d527279e89d40fe50fd7bb85c0a9478c60da69db003dabb17', 'ac0dc6a3f6dde741b3c188d9043387d9011de21fd6b1c0fa3b7e28d57a18e6e2', 'a1fa802b32f6315c6bdb80a33614848ad07a7772d2e51e85ba535d8247888a53'],
    ['cosine', '351ae2e203777d71de3a22e1f995924cc61a1b5bf1badff59b520b84c0a54863', 312, '10a61b2d4c4c49fe4f1f13262ae366f2501bdbf94a569a759cf26264183dc576', '5a1619ef5cb13999795388dc9bbff68a55a199c25ad36623c9eb3b550f3b0e35', '58df59fc04e1a40d74d2edbcd46820e6f81e6b1ed6e286bcc54b7219a1ebb0dc'],
  ];
  for (const [extra, sweepId, stages, train, prune, evaluate] of cases) {
    const p = plan(extra === 'cosine' ? KNOWN.replace('nHidden: 16', 'nHidden: 16, lrSchedule: cosine') : KNOWN + extra);
    assert.deepEqual([p.sweepId, p.stages.length, first(p, 'train'), first(p, 'prune'), first(p, 'evaluate')], [sweepId, stages, train, prune, evaluate], extra);
  }
  const ct = plan(CELLTYPE);
  assert.deepEqual([ct.sweepId, first(ct, 'finetune')], ['ce4e97f3fbaa4edc1f7683c333ecca51d727ea660665bd00251771512fe5c0f5', '4cb7ab57419f2aa9326c9b5fea5c3e24d1784d7de8ec616423f1a7deec88854a']);
});

test('every planned stage id is stageId of its kind, config, parents and code version', () => {
  const variants = [
    KNOWN,
    `${KNOWN}stages: { prune: { mode: iterative, rounds: 3 }, evaluateWithoutRetraining: false }\n`,
    `${KNOWN}stages: { prune: { mode: at-init } }\n`,
    `${KNOWN}stages: { finetune: false }\n`,
    KNOWN.replace('nHidden: 16', 'nHidden: 16, lrSchedule: cosine, lrTMax: 4'),
    CELLTYPE,
  ];
  for (const text of variants) {
    const p = plan(text);
    for (const s of p.stages) assert.equal(s.id, stageId(s.kind, s.config, s.parents, CV));
    assert.equal(p.sweepId, sweepIdOf(p.name, p.stages.map((s) => s.id)));
  }
});

test('planning a sweep twice gives the same JSON (the dense-stage memo changes nothing)', () => {
  // Seed first: each dense model recurs in consecutive runs; seed last: 36 runs apart.
  const seedFirst = KNOWN.replace('  seed: [0, 1, 2]\n', '').replace('axes:\n', 'axes:\n  seed: [0, 1, 2]\n');
  for (const text of [KNOWN, seedFirst]) assert.equal(JSON.stringify(plan(text)), JSON.stringify(plan(text)));
  assert.deepEqual(new Set(plan(seedFirst).stages.map((s) => s.id)), new Set(plan(KNOWN).stages.map((s) => s.id)));
});

test('stagesPerRunBound is the number of stages one run plans, in every mode', () => {
  const one = 'name: one\nfixed: { nHidden: 16, task: flipflop, rule: dale, pruning: random, sparsity: 0.5 }\naxes: { seed: [0] }\n';
  for (const stages of ['', 'stages: { prune: { mode: iterative, rounds: 4 } }', 'stages: { prune: { mode: iterative, rounds: 2 }, evaluateWithoutRetraining: false }', 'stages: { prune: { mode: at-init } }', 'stages: { finetune: false }', 'stages: { evaluateWithoutRetraining: false }']) {
    const spec = parseSpec(`${one}${stages}\n`, 'one.yaml');
    assert.equal(planSweep(spec, { codeVersion: CV }).stages.length, stagesPerRunBound(spec), stages);
  }
  const dense = parseSpec('name: d\nfixed: { nHidden: 16, task: wave, rule: dale }\naxes: { seed: [0, 1] }\n', 'd.yaml');
  assert.equal(stagesPerRunBound(dense), 2);
});

test('a sweep over the planning limit is refused before planning, naming its runs and the limit (exit status 2)', () => {
  const spec = parseSpec(KNOWN, 'huge.yaml');
  const seeds = Array.from({ length: 5000 }, (_, i) => i); // 2 x 2 x 2 x 3 x 5000 = 120,000 runs of up to 6 stages
  const huge = { ...spec, axes: { ...spec.axes, seed: seeds } };
  assert.throws(
    () => planSweep(huge, { codeVersion: CV }),
    (err: unknown) => {
      assert.ok(err instanceof PlanTooLargeError && err instanceof SpecError);
      assert.equal(err.exitCode, 2); // a UsageError: the CLI prints the message and exits 2
      assert.deepEqual([err.runs, err.stagesPerRun, err.limit], [120_000, 6, MAX_PLANNED_STAGES]);
      assert.match(err.message, /^huge\.yaml: axes: the sweep expands to 120,000 runs of up to 6 stages each \(720,000 before sharing\); a plan holds at most 600,000 \(100,000 runs of this sweep\)/);
      return true;
    },
  );
  // Excluded runs do not count (90,000 runs without wave/dale: 540,000 slots); iterative pruning
  // (3 rounds: 10 stages a run) is over; 4,000 seeds are 96,000 runs, 576,000 slots.
  const excluded = { ...huge, exclude: [{ task: 'wave' as const, rule: 'dale' as const }] };
  assert.doesNotThrow(() => checkPlanSize(excluded));
  assert.throws(() => checkPlanSize({ ...huge, stages: { ...huge.stages, pruneMode: 'iterative' as const } }), PlanTooLargeError);
  assert.doesNotThrow(() => checkPlanSize({ ...huge, axes: { ...huge.axes, seed: seeds.slice(0, 4000) } }));
});

test('a sweep file over the planning limit is refused while it loads, before any run is resolved', () => {
  const seeds = Array.from({ length: 5000 }, (_, i) => i).join(', ');
  const text = KNOWN.replace('  seed: [0, 1, 2]\n', `  seed: [${seeds}]\n`);
  assert.notEqual(text, KNOWN);
  assert.throws(() => parseSpec(text, 'huge.yaml'), (err: unknown) => err instanceof SpecError && /axes: the sweep expands to 120,000 runs .* a plan holds at most 600,000/.test(err.message));
});
