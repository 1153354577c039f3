import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, withDir, writeTinySweep } from './test-support.js';
import type { Scorecard } from '../analysis/scorecard.js';

test('scorecard prints the paper comparison of stored sweeps as Markdown (and JSON); the report has the same section', { timeout: 180_000 }, () => {
  withDir('cli-scorecard-', (dir) => {
    const store = join(dir, 'runs');
    const spec = writeTinySweep(join(dir, 'tiny.yaml'), { name: 'tiny', seeds: [0, 1, 2] });
    const run = cli(['run', spec, '--store', store, '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const md = cli(['scorecard', 'tiny', spec, '--store', store]);
    assert.equal(md.status, 0, md.stderr);
    assert.match(md.stdout, /^## Numbers$/m);
    assert.match(md.stdout, /\| tiny-[0-9a-f]{12} \| flipflop \| dense test loss, dale \| [0-9.e+-]+ ± [0-9.e+-]+ \(n = 3\) \| 0\.00240 ± 0\.00150 \|/);
    assert.match(md.stdout, /\| flipflop \| top-prob < random: test loss after pruning without retraining \| \*\*(reproduced|not reproduced)\*\* \|/);
    assert.equal(md.stdout.match(/dense test loss, dale/g)?.length, 2, 'one row per sweep named (the same sweep twice)');
    const js = cli(['scorecard', 'tiny', '--store', store, '--json']);
    assert.equal(js.status, 0, js.stderr);
    const cards = JSON.parse(js.stdout) as { sweep: string; card: Scorecard }[];
    assert.equal(cards.length, 1);
    const folder = readdirSync(join(store, 'sweeps'))[0];
    const summary = JSON.parse(readFileSync(join(store, 'sweeps', folder, 'summary.json'), 'utf8')) as { paperComparison?: Scorecard };
    assert.deepEqual(summary.paperComparison, cards[0].card, 'the same comparison as summary.json');
    assert.match(readFileSync(join(store, 'sweeps', folder, 'report.html'), 'utf8'), /<section id="paper"><h2>Paper comparison<\/h2>/);
    const bad = cli(['scorecard', 'nope', '--store', store]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /no sweep 'nope'/);
  });
});
