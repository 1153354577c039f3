import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bandMeans, blockAverages } from '../celltype/analysis.js';
import { celltypeLayout, population } from '../celltype/populations.js';
import { aggregate } from './aggregate.js';
import { CELLTYPE_PAIRS } from './celltype-summary.js';
import { mean, welchT } from './stats.js';
import { celltypeSyntheticInput, syntheticInput } from './synthetic.js';
import type { CelltypeDifference, ResultRow } from './types.js';

test('the pairs are the authors\u2019 comparisons, second minus first, in both windows', () => {
  assert.equal(CELLTYPE_PAIRS.length, 18);
  for (const w of ['full', 'half']) {
    for (const f of ['familiar', 'novel']) {
      assert.ok(CELLTYPE_PAIRS.some(([a, b]) => a === `${f}_no_change_${w}` && b === `${f}_change_${w}`));
      assert.ok(CELLTYPE_PAIRS.some(([a, b]) => a === `${f}_no_change_${w}` && b === `${f}_omission_${w}`));
    }
    for (const e of ['change', 'no_change', 'omission']) assert.ok(CELLTYPE_PAIRS.some(([a, b]) => a === `familiar_${e}_${w}` && b === `novel_${e}_${w}`));
  }
});

test('summary.celltype on a synthetic sweep with a planted feedforward effect: change minus no change has the planted sign, per phase and window', async () => {
  const input = celltypeSyntheticInput({ seeds: 5 });
  const s = await aggregate(input);
  const ct = s.celltype;
  assert.ok(ct, 'celltype section present');
  // JSON-safe: no NaN or Infinity anywhere.
  const json = JSON.stringify(s);
  assert.ok(!/NaN|Infinity/.test(json));
  assert.deepEqual(JSON.parse(json).celltype.pairs.length, 18);
  // 4 conditions x 2 phases; each averaged over 5 seeds.
  assert.equal(ct.conditions.length, 8);
  for (const c of ct.conditions) {
    assert.equal(c.seeds.length, 5);
    assert.equal(c.population.rows.length, 18);
    assert.equal(c.population.values.length, 18);
    assert.deepEqual(c.layer.rows, ['V1 L4', 'V1 L2/3', 'V1 L5', 'LM L4', 'LM L2/3', 'LM L5']);
    assert.deepEqual(c.bands.map((b) => b.kind), ['feedforward', 'feedback', 'feedback']);
    for (const b of c.bands) assert.ok(typeof b.mean === 'number' && b.values.length === 5);
  }
  // Band cells: the feedforward band is rows LM L4 Pyr..Vip (9..11) x column V1 L2/3 Pyr (3).
  assert.deepEqual(ct.bandCells.population.map((b) => [b.rows, b.cols]), [[[9, 12], [3, 4]], [[3, 6], [15, 16]], [[6, 9], [15, 16]]]);
  assert.deepEqual(ct.bandCells.layer.map((b) => [b.rows, b.cols]), [[[3, 4], [1, 2]], [[1, 2], [5, 6]], [[2, 3], [5, 6]]]);

  // change - no change in both windows and both phases.
  const diffs = ct.differences.filter((d) => d.first.includes('no_change') && d.second === d.first.replace('no_change', 'change'));
  assert.equal(diffs.length, 4);
  assert.equal(ct.differences.length, 4, 'only pairs whose two conditions were run');
  const L = celltypeLayout(1);
  for (const d of diffs) {
    const ff = d.bands.find((b) => b.kind === 'feedforward')!;
    assert.equal(ff.name, 'feedforward V1 L2/3 \u2192 LM L4');
    assert.ok(ff.difference! > 0, `${d.label}: feedforward difference ${ff.difference}`);
    assert.ok(Math.abs(ff.difference! - (ff.second! - ff.first!)) < 1e-15);
    const welch = ff.pValues.find((p) => p.test === 'welch-t' && p.correction === 'none')!;
    assert.equal(welch.method, 'welch-satterthwaite');
    assert.equal(welch.alternative, 'two-sided');
    assert.ok(welch.p! < 0.01, `${d.label}: Welch p ${welch.p}`);
    assert.ok(welch.statistic! > 0, 't has the sign of second - first');
    assert.ok(ff.pValues.find((p) => p.test === 'welch-t' && p.correction === 'bh')!.p! >= welch.p!);
    assert.ok(ff.pValues.some((p) => p.test === 'mann-whitney-u' && p.method === 'asymptotic-continuity'));
    for (const fb of d.bands.filter((b) => b.kind === 'feedback')) assert.ok(Math.abs(fb.difference!) < ff.difference! / 5, `${fb.name}: ${fb.difference}`);
    // Population heatmap: the band cells are positive and starred (BH over 324 cells).
    const row = population(L, 'LM', 'L4', 'Pyr').index;
    const col = population(L, 'V1', 'L23', 'Pyr').index;
    assert.ok(d.population.difference.values[row][col]! > 0);
    assert.equal(d.population.difference.values[row][col], d.population.second.values[row][col]! - d.population.first.values[row][col]!);
    const [raw, bh] = d.population.p;
    assert.deepEqual([raw.test, raw.correction, bh.test, bh.correction], ['welch-t', 'none', 'welch-t', 'bh']);
    assert.ok(raw.values[row][col]! < 0.05, `raw p ${raw.values[row][col]}`);
    assert.ok(bh.values[row][col]! >= raw.values[row][col]!);
    // Dense models: the band survives BH over the 324 cells (after pruning, random masks dilute
    // the effect to about 0.3 of it and 5 seeds are too few for BH over ~100 testable cells).
    if (d.phase === 'dense') {
      for (const r of [row, row + 1, row + 2]) assert.ok(d.population.stars![r][col].startsWith('*'), `star at row ${r}: '${d.population.stars![r][col]}'`);
      assert.equal(d.population.stars!.flat().filter((x) => x !== '').length, 3, 'no other cell is starred');
    } else {
      // Cells zero in every pruned model have no test (null, not counted in BH).
      assert.ok(raw.values.flat().some((v) => v === null));
    }
    // Layer heatmap: LM L4 (row 3) <- V1 L2/3 (column 1) is the largest positive difference.
    const flat = d.layer.difference.values.flat() as number[];
    assert.equal(flat.indexOf(Math.max(...flat)), 3 * 6 + 1);
  }
  // Same numbers from the building blocks: per-seed band and layer-block means, Welch's t.
  const d0 = diffs.find((d) => d.phase === 'finetuned' && d.first === 'familiar_no_change_full') as CelltypeDifference;
  const load = async (cond: string): Promise<Float32Array[]> => {
    const rows = input.rows.filter((r: ResultRow) => r.params.condition === cond && r.params.phase === 'finetuned');
    return Promise.all(rows.map(async (r) => (await input.loadWeights(r))!.w));
  };
  const [first, second] = [await load(d0.first), await load(d0.second)];
  const ffA = first.map((w) => bandMeans(L, w)[0].value);
  const ffB = second.map((w) => bandMeans(L, w)[0].value);
  assert.ok(Math.abs(mean(ffB) - mean(ffA) - d0.bands[0].difference!) < 1e-15);
  assert.ok(Math.abs(welchT(ffA, ffB).p - d0.bands[0].pValues[0].p!) < 1e-12);
  const layerMean = (ws: Float32Array[]): number => mean(ws.map((w) => blockAverages(L, w, 'layer').values[3 * 6 + 1]));
  assert.ok(Math.abs(layerMean(second) - layerMean(first) - d0.layer.difference.values[3][1]!) < 1e-15);
});

test('one seed per condition: differences without tests or stars; non-celltype sweeps have no celltype section', async () => {
  const s = await aggregate(celltypeSyntheticInput({ seeds: 1, conditions: ['novel_omission_half', 'familiar_omission_half'] }));
  assert.ok(s.celltype);
  assert.equal(s.celltype.differences.length, 2); // familiar -> novel, per phase
  for (const d of s.celltype.differences) {
    assert.equal(d.first, 'familiar_omission_half');
    assert.equal(d.second, 'novel_omission_half');
    assert.deepEqual(d.population.p, []);
    assert.equal(d.population.stars, null);
    assert.equal(d.bands[0].pValues.find((p) => p.test === 'welch-t')!.p, null);
  }
  assert.equal((await aggregate(syntheticInput())).celltype, undefined);
});

test('weights missing or of the wrong size are left out with a note', async () => {
  const input = celltypeSyntheticInput({ seeds: 2, conditions: ['familiar_change_full'] });
  const bad = input.rows[0].stageId;
  const s = await aggregate({
    ...input,
    async loadWeights(row) {
      if (row.stageId === bad) return { w: new Float32Array(4), n: 2, nExc: 1 };
      return input.loadWeights(row);
    },
  });
  assert.ok(s.notes.some((n) => n.includes(bad) && n.includes('cell-type')), s.notes.join('\n'));
  assert.equal(s.celltype!.conditions.find((c) => c.phase === 'dense')!.seeds.length, 1);
});
