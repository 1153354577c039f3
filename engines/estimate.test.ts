import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindKey, type KindConfig, type KindTiming, type MachineIdentity } from '../activities/calibration.js';
import { FsStore } from '../store/fs.js';
import { StoreError } from '../store/types.js';
import { writeStageArtifacts } from '../store/stage-io.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { Plan } from '../sweeps/types.js';
import { estimatePlan, formatDuration, formatPlanEstimate, shapeKey, STAGE_OVERHEAD_SECONDS, stageDurations, storedSecondsByShape } from './estimate.js';

function tinyPlan(seeds: number[], codeVersion = 'v-test', nHidden = 8, rule = 'dale', backend = 'js'): Plan {
  const text = [
    'name: est',
    `fixed: { backend: ${backend}, nHidden: ${nHidden}, lr: 0.001, optimizer: adam }`,
    'tasks:',
    '  flipflop: { epochs: 4, batchSize: 10, nTrain: 100, nTest: 20 }',
    'axes:',
    '  task: [flipflop]',
    `  rule: [${rule}]`,
    '  pruning: [random]',
    '  sparsity: [0.5]',
    `  seed: [${seeds.join(', ')}]`,
    'stages:',
    '  finetune: { epochs: 2 }',
  ].join('\n');
  return planSweep(parseSpec(text, 'est.yaml'), { codeVersion });
}

const timing = (stepSeconds: number, evalSeconds: number): KindTiming => ({ stepSeconds, evalSeconds, stepCpuSeconds: stepSeconds / 2, evalCpuSeconds: evalSeconds / 2, stepMacs: 1e6, steps: 2, load1: 0, measuredAt: '' });

test('stageDurations: complete stages cost 0, stored durations come before calibration', () => {
  const plan = tinyPlan([0]);
  const train = plan.stages.find((s) => s.kind === 'train')!;
  const finetune = plan.stages.find((s) => s.kind === 'finetune')!;
  const evals = plan.stages.filter((s) => s.kind === 'evaluate');
  const prune = plan.stages.find((s) => s.kind === 'prune')!;
  const kinds = new Map([[kindKey(train.config as KindConfig), timing(0.01, 0.004)]]);

  const cal = stageDurations(plan, new Set(), new Map(), kinds);
  const at = (id: string) => plan.stages.findIndex((s) => s.id === id);
  // train: 4 epochs × (100/10 steps × 0.01 + 20/10 test batches × 0.004)
  assert.ok(Math.abs(cal.seconds[at(train.id)] - (4 * (10 * 0.01 + 2 * 0.004) + STAGE_OVERHEAD_SECONDS)) < 1e-12);
  assert.ok(Math.abs(cal.seconds[at(finetune.id)] - (2 * (10 * 0.01 + 2 * 0.004) + STAGE_OVERHEAD_SECONDS)) < 1e-12);
  // evaluate: 20 test samples at 0.004 s per 10
  for (const e of evals) assert.ok(Math.abs(cal.seconds[at(e.id)] - (20 * 0.0004 + STAGE_OVERHEAD_SECONDS)) < 1e-12);
  assert.equal(cal.seconds[at(prune.id)], STAGE_OVERHEAD_SECONDS);
  assert.ok(cal.source.every((s) => s === 'calibration'));
  // On an idle machine: the CPU times (half the wall times here).
  const idle = stageDurations(plan, new Set(), new Map(), kinds, 'cpu');
  assert.ok(Math.abs(idle.seconds[at(train.id)] - (4 * (10 * 0.005 + 2 * 0.002) + STAGE_OVERHEAD_SECONDS)) < 1e-12);

  // A stored per-epoch time for the train shape wins; a complete stage costs 0.
  const stored = new Map([[shapeKey(train.config)!, { seconds: 7 }]]);
  const mixed = stageDurations(plan, new Set([evals[0].id]), stored, kinds);
  assert.equal(mixed.seconds[at(train.id)], 4 * 7 + STAGE_OVERHEAD_SECONDS);
  assert.equal(mixed.source[at(train.id)], 'store');
  assert.equal(mixed.seconds[at(evals[0].id)], 0);
  assert.equal(mixed.source[at(evals[0].id)], 'complete');
  assert.equal(mixed.source[at(finetune.id)], 'calibration', 'the finetune shape has no stored duration');

  // Nothing known: no estimate.
  const none = stageDurations(plan, new Set(), new Map(), new Map());
  assert.ok(none.source.filter((s, i) => plan.stages[i].kind !== 'prune').every((s) => s === 'none'));
});

test('stageDurations: calibrated training of rectifying js models counts as an upper bound', () => {
  const count = (N: number, rule: string, backend = 'js'): number => {
    const plan = tinyPlan([0], 'v-test', N, rule, backend);
    const train = plan.stages.find((s) => s.kind === 'train')!;
    return stageDurations(plan, new Set(), new Map(), new Map([[kindKey(train.config as KindConfig), timing(0.01, 0.004)]])).upperBounds;
  };
  assert.equal(count(1440, 'dale'), 2, 'train and fine-tune');
  assert.equal(count(128, 'dale'), 2, 'small models too');
  assert.equal(count(128, 'rectified'), 2);
  assert.equal(count(128, 'conventional'), 0, 'tanh state: no silent units');
  assert.equal(count(128, 'dale', 'tfjs'), 0, 'other backends compute every unit');
  // Stored durations are what the stages took: no upper bound.
  const plan = tinyPlan([0], 'v-test', 128);
  const stored = new Map(plan.stages.filter((s) => shapeKey(s.config) !== null).map((s) => [shapeKey(s.config)!, { seconds: 1 }]));
  assert.equal(stageDurations(plan, new Set(), stored, new Map()).upperBounds, 0);
});

test('storedSecondsByShape: training-like stages per epoch run (a resumed stage counts its own epochs), medians', () => {
  const plan = tinyPlan([0, 1, 2]);
  const trains = plan.stages.filter((s) => s.kind === 'train');
  const m = storedSecondsByShape([
    { id: trains[0].id, config: trains[0].config, seconds: 8, epochsRun: 4, codeVersion: 'v' }, // 2 s/epoch
    { id: trains[1].id, config: trains[1].config, seconds: 3, epochsRun: 1, codeVersion: 'v' }, // resumed at epoch 3: 3 s/epoch
    { id: trains[2].id, config: trains[2].config, seconds: 40, epochsRun: 4, codeVersion: 'v' }, // 10 s/epoch
  ]);
  assert.deepEqual(m.get(shapeKey(trains[0].config)!), { seconds: 3, samples: 3 });
});

test('estimatePlan: stages complete in the store cost 0, same-shape stored durations are used, calibration covers the rest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'estimate-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FsStore(join(dir, 'store'));
  const done = tinyPlan([0]);
  const plan = tinyPlan([0, 1]);
  const doneTrain = done.stages.find((s) => s.kind === 'train')!;
  // Seed 0's train stage is complete (4 epochs in 6 s), written by this code version.
  await writeStageArtifacts(store, doneTrain, { files: {}, metrics: {}, timings: { wallMs: 6000 }, backend: 'js', codeVersion: 'v-test', status: 'succeeded', extra: { resumedFromEpoch: 0 } });
  // A stage of another code version gives no duration.
  const oldPrune = tinyPlan([0], 'v-old').stages.find((s) => s.kind === 'prune')!;
  await writeStageArtifacts(store, oldPrune, { files: {}, metrics: {}, timings: { wallMs: 99_000 }, backend: 'js', codeVersion: 'v-old', status: 'succeeded' });

  const measured: string[] = [];
  const machine: MachineIdentity = { hostname: 'h', cpuModel: 'c', cores: 2 };
  const calibration = {
    dir: join(dir, 'cache'),
    machine,
    measureKind: async (c: KindConfig): Promise<KindTiming> => {
      measured.push(kindKey(c));
      return timing(0.01, 0.004);
    },
  };
  const before = readdirSync(join(dir, 'store'), { recursive: true }).sort();
  const e = await estimatePlan(plan, { codeVersion: 'v-test', store, measure: true, cores: 2, workers: [1, 3], calibration });
  assert.deepEqual(readdirSync(join(dir, 'store'), { recursive: true }).sort(), before, 'the store is only read');
  assert.equal(e.stages.complete, 1);
  assert.equal(e.stages.store, 1, "seed 1's train stage has seed 0's shape");
  assert.equal(e.stages.calibration, plan.stages.length - 2);
  assert.equal(e.stages.none, 0);
  assert.deepEqual(measured, [kindKey(doneTrain.config as KindConfig)], 'the finetunes still need the kind');
  assert.equal(e.store?.durations, 1);
  assert.ok(e.local.seconds !== null && e.local.seconds > 0);
  assert.equal(e.local.concurrency, 2);
  assert.deepEqual(e.temporal.map((w) => [w.workers, w.slots]), [[1, 1], [3, 3]]);
  assert.ok(Math.abs(e.temporal[0].seconds! - e.stageSeconds!) < 1e-9, 'one worker: the sum of the stages');
  assert.ok(e.temporal[1].seconds! <= e.temporal[0].seconds! && e.temporal[1].seconds! >= e.criticalPathSeconds! - 1e-9);
  // The seed-1 train stage: 4 epochs at 1.5 s (the stored 6 s / 4 epochs) is on the critical path.
  assert.ok(e.criticalPathSeconds! >= 4 * 1.5);

  assert.ok(e.idle.localSeconds! < e.local.seconds!, 'idle: the CPU times, half the wall times here');
  assert.ok(e.idle.stageSeconds! < e.stageSeconds!);
  const lines = formatPlanEstimate(e);
  assert.equal(lines.length, 4);
  assert.equal(e.stages.upperBounds, 2, 'the calibrated train and fine-tune stages of a Dale model');
  assert.match(lines[3], /; upper bounds for 2 training stages of rectifying models: timed from initial weights, they run faster as units fall silent/);
  assert.doesNotMatch(formatPlanEstimate({ ...e, stages: { ...e.stages, upperBounds: 0 } })[3], /upper bound/);
  assert.match(lines[0], /^estimated wall time: .+ on this machine \(2 cores, local engine, concurrency 2\); critical path .+, .+ of stage time$/);
  assert.match(lines[1], /^on an idle machine \(calibration CPU time instead of wall time\): .+; with K workers 1: .+, 3: .+$/);
  assert.match(lines[2], /^with K Temporal workers .*: 1: .+, 3: .+$/);
  assert.match(lines[3], /store durations for 1 stage .*calibration for \d+ stages \(model kinds: 1 measured now/);
  assert.match(lines[3], /1 of \d+ stages already complete \(cost 0\)/);

  // Without measuring and without a cache: no wall time, one line that says why.
  const none = await estimatePlan(tinyPlan([5]), { codeVersion: 'v-test', store: null, measure: false, calibration: { ...calibration, dir: join(dir, 'empty') } });
  assert.equal(none.local.seconds, null);
  assert.match(formatPlanEstimate(none)[0], /^estimated wall time: not estimated \(\d+ of \d+ remaining stages .*--no-calibrate/);
});

test('formatDuration', () => {
  assert.equal(formatDuration(4.26), '4.3 s');
  assert.equal(formatDuration(42.4), '42 s');
  assert.equal(formatDuration(150), '2.5 min');
  assert.equal(formatDuration(21.7 * 60), '22 min');
  assert.equal(formatDuration(3 * 3600), '3.0 h');
});

test('estimatePlan: a store that cannot be read leaves the estimate to calibration and says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'estimate-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const broken = new FsStore(join(dir, 'store'));
  broken.list = async () => {
    throw new StoreError('s3://bucket: connection refused');
  };
  const calibration = { dir: join(dir, 'cache'), machine: { hostname: 'h', cpuModel: 'c', cores: 2 }, measureKind: async (): Promise<KindTiming> => timing(0.01, 0.004) };
  const e = await estimatePlan(tinyPlan([0], 'v-test', 8, 'conventional'), { codeVersion: 'v-test', store: broken, measure: true, cores: 2, calibration });
  assert.equal(e.store?.error, 's3://bucket: connection refused');
  assert.equal(e.stages.complete, 0);
  assert.ok(e.local.seconds! > 0);
  assert.match(formatPlanEstimate(e)[3], /; store not read \(s3:\/\/bucket: connection refused\): nothing counted as complete$/);
});
