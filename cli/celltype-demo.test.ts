/**
 * The cell-type demonstration (sweeps/celltype-synthetic.yaml, docs/celltype-demo.md) recovers the
 * feedforward coupling planted in the synthetic data, at a budget small enough for `npm test`:
 * the demo sweep file itself, with only its scale turned down (latentScaling 2, N = 180; 40 dense
 * and 20 fine-tuning epochs; 6 seeds instead of 8), run through the real CLI (`dalesweep run`,
 * train → Table 1 prune → fine-tune → evaluate → aggregate), then summary.json's
 * `celltype.differences` read as a user would.
 *
 * The data plant V1 L2/3 Pyr → LM L4 coupling 1 on change and 0.1 on no change and nothing else
 * (celltype/data.ts `synthesizeFileCondition`), so in every phase (dense, pruned, fine-tuned) the
 * feedforward band must be larger on change (sign), with Welch and Mann-Whitney p < 0.2 (a looser
 * bound than the demo's p < 0.05 at full budget), and be the band that moved: the smallest Welch
 * p and the largest relative difference of the three bands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { CelltypeBandDifference, Summary, TestName } from '../analysis/types.js';
import { cli } from './test-support.js';

/** The demo sweep file in the source tree. */
const DEMO = fileURLToPath(new URL('../../sweeps/celltype-synthetic.yaml', import.meta.url));

/** Uncorrected two-sided p of one test of a band. */
function pOf(b: CelltypeBandDifference, t: TestName): number {
  const p = b.pValues.find((x) => x.test === t && x.correction === 'none')?.p;
  assert.ok(typeof p === 'number', `${b.name}: no ${t} p-value`);
  return p;
}

/** second / first − 1. */
function relative(b: CelltypeBandDifference): number {
  assert.ok(b.first !== null && b.second !== null && b.first > 0, `${b.name}: band means ${b.first}, ${b.second}`);
  return b.second / b.first - 1;
}

test('cell-type demo at a small budget: the feedforward band is larger on change than on no change in every phase (p < 0.2), the feedback bands move less', { timeout: 240_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-celltype-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = parse(readFileSync(DEMO, 'utf8')) as {
    name: string;
    fixed: Record<string, unknown>;
    axes: { condition: string[]; seed: number[] };
    stages: { finetune: { epochs: number } };
  };
  // The demo's own settings (data, rule, optimiser, lr, batch, samples, pruning, conditions), scaled down.
  assert.deepEqual(spec.axes.condition, ['familiar_no_change_full', 'familiar_change_full']);
  spec.name = 'celltype-demo-small';
  spec.fixed = { ...spec.fixed, latentScaling: 2, epochs: 40 };
  spec.stages.finetune.epochs = 20;
  spec.axes.seed = [0, 1, 2, 3, 4, 5];
  const file = join(dir, 'demo.yaml');
  writeFileSync(file, stringify(spec));
  const store = join(dir, 'store');

  const r = cli(['run', file, '--store', store, '--concurrency', '1', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const sweeps = readdirSync(join(store, 'sweeps'));
  assert.equal(sweeps.length, 1);
  const summary = JSON.parse(readFileSync(join(store, 'sweeps', sweeps[0], 'summary.json'), 'utf8')) as Summary;
  const diffs = summary.celltype?.differences ?? [];
  assert.deepEqual(diffs.map((d) => String(d.phase)).sort(), ['dense', 'finetuned', 'pruned']);
  for (const d of diffs) {
    const where = `phase ${String(d.phase)}`;
    assert.equal(d.first, 'familiar_no_change_full');
    assert.equal(d.second, 'familiar_change_full');
    assert.deepEqual([d.nFirst, d.nSecond], [6, 6], where);
    const ff = d.bands.find((b) => b.kind === 'feedforward');
    const fb = d.bands.filter((b) => b.kind === 'feedback');
    assert.ok(ff !== undefined && fb.length === 2, where);
    const line = d.bands.map((b) => `${b.name}: ${b.first} -> ${b.second} (welch p ${pOf(b, 'welch-t')}, mw p ${pOf(b, 'mann-whitney-u')})`).join('; ');
    // Sign and band: the planted coupling is larger on change.
    assert.ok(ff.difference !== null && ff.difference > 0, `${where}: feedforward difference ${ff.difference}; ${line}`);
    assert.ok(pOf(ff, 'welch-t') < 0.2, `${where}: feedforward Welch p; ${line}`);
    assert.ok(pOf(ff, 'mann-whitney-u') < 0.2, `${where}: feedforward Mann-Whitney p; ${line}`);
    // The feedback bands, the same in the data of both conditions, move less.
    for (const b of fb) {
      assert.ok(pOf(b, 'welch-t') > pOf(ff, 'welch-t'), `${where}: ${b.name} Welch p below the feedforward band's; ${line}`);
      assert.ok(Math.abs(relative(b)) < relative(ff), `${where}: ${b.name} moved ${relative(b)}, the feedforward band ${relative(ff)}; ${line}`);
    }
  }
});
