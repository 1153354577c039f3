import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../io/npy.js';
import { Rng } from '../rnn/rng.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), 'main.js');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cli-mst-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes an N×N Dale matrix (E columns >= 0, I columns <= 0), float32 or float64. */
function daleMatrix(dir: string, name: string, N: number, f64 = false): string {
  const rng = new Rng(N, 'test:cli');
  const nExc = Math.round(0.8 * N);
  const data = f64 ? new Float64Array(N * N) : new Float32Array(N * N);
  for (let k = 0; k < data.length; k++) data[k] = (k % N < nExc ? 1 : -1) * rng.uniform();
  const p = join(dir, name);
  writeFileSync(p, encodeNpy({ data, shape: [N, N] }));
  return p;
}

test('mst prints the edge count and the overlap with a pruned matrix', () => {
  withDir((dir) => {
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
    const j = JSON.parse(r.stdout) as { overlap: number; overlapEdges: number; randomTheory: { fraction: number }; topProbLowerBound: { fraction: number } };
    assert.ok(j.overlap > 0 && j.overlap < 1);
    assert.equal(j.overlapEdges, Math.round(j.overlap * 47));
    assert.equal(j.randomTheory.fraction, 0.5);
    assert.ok(j.topProbLowerBound.fraction > 0);
  });
});
