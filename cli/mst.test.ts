import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, daleMatrix, withDir } from './test-support.js';

test('mst prints the edge count and the overlap with a pruned matrix', () => {
  withDir('cli-mst-', (dir) => {
    const w = daleMatrix(dir, 'w.npy', 24);
    const dense = cli(['mst', '--weights', w]);
    assert.equal(dense.status, 0, dense.stderr);
    const d = JSON.parse(dense.stdout) as Record<string, unknown>;
    assert.equal(d.mstEdges, 47);
    assert.equal(d.overlap, undefined);
    // The unpruned matrix keeps every MST edge.
    const self = JSON.parse(cli(['mst', '--weights', w, '--pruned', w]).stdout) as Record<string, number>;
    assert.equal(self.overlap, 1);
    const p = join(dir, 'p.npy');
    assert.equal(cli(['prune', '--weights', w, '--method', 'random', '--sparsity', '0.5', '--seed', '1', '--out', p]).status, 0);
    const r = cli(['mst', '--weights', w, '--pruned', p, '--sparsity', '0.5']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { overlap: number; overlapEdges: number; randomTheory: { fraction: number }; topProbLowerBoundFormula: { fraction: number }; topProbLowerBoundRenormalised: { fraction: number } };
    assert.ok(j.overlap > 0 && j.overlap < 1);
    assert.equal(j.overlapEdges, Math.round(j.overlap * 47));
    assert.equal(j.randomTheory.fraction, 0.5);
    assert.ok(j.topProbLowerBoundRenormalised.fraction > 0 && j.topProbLowerBoundRenormalised.fraction <= 1);
    assert.ok(Number.isFinite(j.topProbLowerBoundFormula.fraction) && j.topProbLowerBoundFormula.fraction > 0, 'the printed formula of SCIENCE.md 4 too, by name');
  });
});
