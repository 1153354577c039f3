#!/usr/bin/env node
// Exports what a dalesweep flip-flop train stage starts from (initial parameters, data, the batch
// order of every epoch) and runs that stage's training, recording the loss of every step, so that
// scripts/torch-harness/torch_flipflop.py can train the authors' PyTorch formulation from the same
// state on the same batches and compare the two curves step by step.
//
// A development check (docs/conventional-backprop.md), not part of `npm test`. Imports the built
// code from dist/ (run `npx tsc -p tsconfig.json` first).
//
// Usage:
//   node scripts/torch-harness/export.mjs --seed 0 --out /tmp/torch-harness/seed0 [--epochs 100]
//     [--rule conventional] [--fidelity paper-code] [--n-hidden 128] [--n-train 6000]
//     [--n-test 1000] [--batch 200] [--lr 1e-3] [--no-train] [--snapshots]
//
// Writes into --out (float32 arrays [post, pre] row-major, like the stores' weights):
//   config.json              the settings above and the model config
//   init/<name>.npy          initial wIn [N,1], bIn [N], wHh [N,N], bHh [N], wOut [1,N], bOut [1]
//   data/{train,test}_{x,y}.npy   [n, T] float32 (nIn = nOut = 1)
//   perm.npy                 int32 [epochs, nTrain]: epoch e visits perm[e] in batches of --batch
//   grad0/<name>.npy         dalesweep's gradients on the first batch at the initial parameters
//   dalesweep_step_loss.npy  float64 [epochs * batches]: train loss of every step (before its update)
//   dalesweep_epochs.json    per-epoch records (trainLoss = mean of the epoch's step losses,
//                            testLoss = mean over the test set), plus seconds per epoch
//   snap/e<k>/<name>.npy, snap/e<k>/adam.json   (--snapshots) parameters and Adam state after
//                            epoch k (k = 0: initial), for the per-epoch re-synchronised comparison
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../../dist/', import.meta.url);
const imp = (p) => import(new URL(p, dist).href);
const { makeTask } = await imp('tasks/index.js');
const { defaultModelConfig, initParams, zerosLike } = await imp('rnn/init.js');
const { train } = await imp('rnn/train.js');
const { jsBackend } = await imp('rnn/model-js.js');
const { Rng } = await imp('rnn/rng.js');
const { encodeNpy } = await imp('io/npy.js');
const { optimizerStateToJSON } = await imp('rnn/optim.js');
const { PARAM_NAMES } = await imp('rnn/types.js');

function parseArgs(argv) {
  const o = {
    seed: 0, out: '', epochs: 100, rule: 'conventional', fidelity: 'paper-code',
    nHidden: 128, nTrain: 6000, nTest: 1000, batch: 200, lr: 1e-3, train: true, snapshots: false,
  };
  const num = (k, v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k} needs a number, got ${v}`);
    return n;
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--seed': o.seed = num('seed', v()); break;
      case '--out': o.out = v(); break;
      case '--epochs': o.epochs = num('epochs', v()); break;
      case '--rule': o.rule = v(); break;
      case '--fidelity': o.fidelity = v(); break;
      case '--n-hidden': o.nHidden = num('n-hidden', v()); break;
      case '--n-train': o.nTrain = num('n-train', v()); break;
      case '--n-test': o.nTest = num('n-test', v()); break;
      case '--batch': o.batch = num('batch', v()); break;
      case '--lr': o.lr = num('lr', v()); break;
      case '--no-train': o.train = false; break;
      case '--snapshots': o.snapshots = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (o.out === '') throw new Error('--out DIR is required');
  return o;
}

const opts = parseArgs(process.argv);
const out = opts.out;
for (const d of ['', 'init', 'data', 'grad0']) mkdirSync(join(out, d), { recursive: true });
const save = (rel, data, shape) => writeFileSync(join(out, rel), encodeNpy({ data, shape }));

// The same set-up as a train stage (activities/model-stages.ts buildSetup): data and weights
// from the stage seed, nExc = round(0.8 N).
const task = makeTask('flipflop', { seed: opts.seed, fidelity: opts.fidelity, nTrain: opts.nTrain, nTest: opts.nTest });
const cfg = defaultModelConfig({
  nInput: task.nIn, nHidden: opts.nHidden, nOutput: task.nOut, nExc: Math.round(0.8 * opts.nHidden),
  rule: opts.rule, head: task.head, threshold: 0, fidelity: opts.fidelity,
});
const N = cfg.nHidden;
const shapes = { wIn: [N, cfg.nInput], bIn: [N], wHh: [N, N], bHh: [N], wOut: [cfg.nOutput, N], bOut: [cfg.nOutput] };
const saveParams = (dir, p) => {
  mkdirSync(join(out, dir), { recursive: true });
  for (const k of PARAM_NAMES) save(`${dir}/${k}.npy`, p[k], shapes[k]);
};
const params0 = initParams(cfg, opts.seed);
saveParams('init', params0);

for (const [split, ds] of [['train', task.train], ['test', task.test]]) {
  save(`data/${split}_x.npy`, ds.x, [ds.n, ds.T]);
  save(`data/${split}_y.npy`, ds.target, [ds.n, ds.T]);
}

// The batch order of rnn/train.ts: epoch e uses the e-th permutation of new Rng(seed, 'batches').
const rng = new Rng(opts.seed, 'batches');
const perm = new Int32Array(opts.epochs * task.train.n);
for (let e = 0; e < opts.epochs; e++) perm.set(rng.permutation(task.train.n), e * task.train.n);
save('perm.npy', perm, [opts.epochs, task.train.n]);

// dalesweep's gradients on the first batch at the initial parameters.
const first = task.train.batch(perm.subarray(0, Math.min(opts.batch, task.train.n)));
const g0 = zerosLike(params0);
const r0 = jsBackend.lossAndGrad(cfg, params0, first, g0);
for (const k of PARAM_NAMES) save(`grad0/${k}.npy`, g0[k], shapes[k]);

const config = { ...opts, cfg, T: task.train.T, loss0: r0.loss, backend: jsBackend.name };
writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
console.log(`seed ${opts.seed}: exported init, data, perm (${opts.epochs} epochs) to ${out}; first-batch loss ${r0.loss}`);

if (opts.train) {
  // The train stage's code path: rnn/train.ts `train` with the js backend, wrapped to record
  // the loss of every step.
  const stepLoss = [];
  const recording = {
    name: jsBackend.name,
    lossAndGrad(c, p, b, g, m) {
      const r = jsBackend.lossAndGrad(c, p, b, g, m);
      stepLoss.push(r.loss);
      return r;
    },
    evaluate: (c, p, b) => jsBackend.evaluate(c, p, b),
  };
  const epochs = [];
  let t0 = performance.now();
  const tStart = t0;
  if (opts.snapshots) saveParams('snap/e0', params0);
  train({
    cfg, params: params0, backend: recording, train: task.train, test: task.test,
    epochs: opts.epochs, batchSize: opts.batch, lr: opts.lr, seed: opts.seed,
    masks: task.masks(N, cfg.nExc),
    onEpoch: (rec, p, progress) => {
      const now = performance.now();
      epochs.push({ ...rec, seconds: (now - t0) / 1000 });
      t0 = now;
      if (opts.snapshots) {
        saveParams(`snap/e${rec.epoch}`, p);
        writeFileSync(join(out, `snap/e${rec.epoch}/adam.json`), JSON.stringify(optimizerStateToJSON(progress.optimizerState())));
      }
      process.stdout.write(`  epoch ${rec.epoch}: train ${rec.trainLoss.toFixed(6)} test ${rec.testLoss.toFixed(6)}\n`);
    },
  });
  save('dalesweep_step_loss.npy', Float64Array.from(stepLoss), [stepLoss.length]);
  writeFileSync(join(out, 'dalesweep_epochs.json'), JSON.stringify({ seconds: (performance.now() - tStart) / 1000, epochs }, null, 2));
}
