/**
 * End-to-end test of a cell-type sweep through the real CLI (`dalesweep run`, then `report`) on
 * synthetic data at the smallest scale (latentScaling 1, N = 90): dense training → Table 1 block
 * pruning + inter-area bands → masked fine-tuning → evaluation, for two conditions and two
 * seeds. Checks the results table (rows per condition and phase), that every evaluated W_hh is
 * zero outside the allowed population blocks (and, once pruned, outside the prune mask), that no
 * Dale sign is violated, that inputs stay on their own channel, and that the frozen readouts and
 * biases are bit-identical from dense training to fine-tuning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { populationConnectionProbabilities } from '../celltype/connectivity.js';
import { celltypeLayout } from '../celltype/populations.js';
import { parseNpy } from '../io/npy.js';
import type { Plan } from '../sweeps/types.js';
import { cli } from './test-support.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONDITIONS = ['familiar_change_full', 'familiar_no_change_half'];

const SPEC = `name: celltype-e2e
fixed:
  task: celltype
  celltypeData: synthetic
  latentScaling: 1
  epochs: 3
  batchSize: 20
  nTrain: 60
  pruning: celltype
axes:
  condition: [${CONDITIONS.join(', ')}]
  seed: [0, 1]
stages:
  finetune: { epochs: 2 }
`;

/** A stage's file as float32 data with its shape. */
function npy(store: string, stageId: string, file: string): { data: Float32Array; shape: number[] } {
  const a = parseNpy(readFileSync(join(store, 'stages', stageId, file)), file);
  assert.ok(a.data instanceof Float32Array, `${file}: float32`);
  return { data: a.data, shape: a.shape };
}

function sameBytes(store: string, a: string, b: string, file: string): boolean {
  return readFileSync(join(store, 'stages', a, file)).equals(readFileSync(join(store, 'stages', b, file)));
}

test('celltype sweep on synthetic data: train -> Table 1 prune -> finetune -> evaluate keeps blocks, signs and frozen readouts', { timeout: 120_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-celltype-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const specFile = join(dir, 'celltype.yaml');
  writeFileSync(specFile, SPEC);
  const store = join(dir, 'store');

  const r = cli(['run', specFile, '--store', store, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const sweeps = readdirSync(join(store, 'sweeps'));
  assert.equal(sweeps.length, 1);
  const folder = join(store, 'sweeps', sweeps[0]);
  for (const f of ['results.csv', 'results.json', 'summary.json', 'report.html']) assert.ok(existsSync(join(folder, f)), f);

  // results.csv: 3 phases x 2 seeds per condition, all succeeded.
  const [header, ...lines] = readFileSync(join(folder, 'results.csv'), 'utf8').trim().split('\n');
  assert.ok(!lines.some((l) => l.includes('"')), 'no quoted cells expected');
  const cols = header.split(',');
  const table = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
  assert.equal(table.length, CONDITIONS.length * 3 * 2);
  for (const cond of CONDITIONS) {
    const rows = table.filter((x) => x.condition === cond);
    assert.deepEqual(rows.map((x) => x.phase).sort(), ['dense', 'dense', 'finetuned', 'finetuned', 'pruned', 'pruned'], cond);
    for (const x of rows) {
      assert.equal(x.status, 'succeeded');
      assert.equal(x.nHidden, '90');
      assert.equal(x.signViolations, '0');
      assert.ok(Number.isFinite(Number(x.testLoss)) && x.testLoss !== '', `testLoss ${x.testLoss}`);
      assert.ok(x.bandFeedforward !== '', 'band metrics reported');
      if (x.phase !== 'dense') assert.ok(Number(x.achievedSparsity) > 0.5, `achievedSparsity ${x.achievedSparsity}`);
    }
  }

  // Weights: allowed population blocks (Table 1 > 0 within an area, the three bands across).
  const layout = celltypeLayout(1);
  const N = layout.N;
  const P = populationConnectionProbabilities(layout);
  const plan = JSON.parse(readFileSync(join(folder, 'plan.json'), 'utf8')) as Plan;
  const kindOf = new Map(plan.stages.map((s) => [s.id, s.kind]));
  let finetuned = 0;
  for (const row of plan.rows) {
    const phase = row.params.phase;
    const w = npy(store, row.stageId, 'wEff.npy');
    assert.deepEqual(w.shape, [N, N]);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const v = w.data[i * N + j];
        assert.ok(j < layout.nExc ? v >= 0 : v <= 0, `${phase}: sign of w[${i}, ${j}] = ${v}`);
        if (phase !== 'dense' && P[layout.popOfInternal[i] * 18 + layout.popOfInternal[j]] === 0) {
          assert.equal(v, 0, `${phase}: w[${i}, ${j}] outside the allowed blocks`);
        }
      }
    }
    if (phase !== 'finetuned') continue;
    finetuned++;
    const [train, prune, fine] = row.stageIds;
    assert.deepEqual([kindOf.get(train), kindOf.get(prune), kindOf.get(fine)], ['train', 'prune', 'finetune']);
    // Fine-tuning kept the prune mask (and trained what it kept).
    const mask = npy(store, prune, 'mask.npy').data;
    let kept = 0;
    for (let k = 0; k < N * N; k++) {
      if (mask[k] === 0) assert.equal(w.data[k], 0, `finetuned: w[${k}] outside the prune mask`);
      else if (w.data[k] !== 0) kept++;
    }
    assert.ok(kept > 0, 'some recurrent weights survive');
    assert.ok(!sameBytes(store, prune, fine, 'weights/wHh.npy'), 'fine-tuning changed W_hh');
    // Frozen readouts and biases: bit-identical from dense training to fine-tuning.
    for (const f of ['wOut', 'bOut', 'bIn', 'bHh']) assert.ok(sameBytes(store, train, fine, `weights/${f}.npy`), `${f} changed`);
    // Inputs: each neuron receives its own population's channel only.
    const wIn = npy(store, fine, 'weights/wIn.npy').data;
    for (let i = 0; i < N; i++) for (let k = 0; k < 18; k++) if (k !== layout.popOfInternal[i]) assert.equal(wIn[i * 18 + k], 0, `wIn[${i}, ${k}]`);
  }
  assert.equal(finetuned, CONDITIONS.length * 2);

  // The report can be rebuilt on demand; its groups are per condition.
  const rep = cli(['report', specFile, '--store', store]);
  assert.equal(rep.status, 0, rep.stderr);
  const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as { groups: { key: Record<string, unknown>; seeds: unknown[] }[] };
  for (const cond of CONDITIONS) {
    const groups = summary.groups.filter((g) => g.key.condition === cond);
    assert.equal(groups.length, 3, `${cond}: one group per phase`);
    for (const g of groups) assert.equal(g.seeds.length, 2);
  }
});
