/**
 * Micro-benchmark of the `js` backend: steps/s of jsBackend.lossAndGrad + Adam step on the
 * flip-flop (N=128, T=50, B=200, nIn=1, tanh head) and sequential-MNIST (N=128, T=28, B=200,
 * nIn=28, nOut=10, softmax-last) shapes, on synthetic data. Optionally compares the tfjs backend
 * when rnn/backend-tfjs.js exports `createTfjsBackend` (pass `--tfjs`).
 *
 * Usage: node dist/bench/model-js.js [--steps 10] [--rule dale] [--tfjs]
 */
import { jsBackend } from '../rnn/model-js.js';
import { defaultModelConfig, initParams, zerosLike } from '../rnn/init.js';
import { Adam } from '../rnn/optim.js';
import { Rng } from '../rnn/rng.js';
import type { Backend, Batch, ModelConfig, Rule } from '../rnn/types.js';

interface Case {
  name: string;
  cfg: ModelConfig;
  batch: Batch;
}

function makeCases(rule: Rule): Case[] {
  const rng = new Rng(1, 'bench');
  const B = 200;
  const ff = defaultModelConfig({ nHidden: 128, nInput: 1, nOutput: 1, head: 'tanh', rule });
  const ffx = new Float32Array(B * 50);
  for (let k = 0; k < ffx.length; k++) ffx[k] = rng.bernoulli(0.05) ? (rng.bernoulli(0.5) ? 1 : -1) : 0;
  const ffy = new Float32Array(B * 50).map(() => rng.uniformRange(-1, 1));
  const sm = defaultModelConfig({ nHidden: 128, nInput: 28, nOutput: 10, head: 'softmax-last', rule });
  const smx = rng.fillUniform(new Float32Array(B * 28 * 28), 0, 1);
  const labels = new Int32Array(B).map(() => rng.int(10));
  return [
    { name: 'flip-flop N=128 T=50 B=200', cfg: ff, batch: { B, T: 50, x: ffx, target: ffy } },
    { name: 'sMNIST N=128 T=28 nIn=28 B=200', cfg: sm, batch: { B, T: 28, x: smx, target: new Float32Array(0), labels } },
  ];
}

function bench(backend: Backend, c: Case, steps: number): number {
  const params = initParams(c.cfg, 0);
  const grads = zerosLike(params);
  const opt = new Adam(params);
  backend.lossAndGrad(c.cfg, params, c.batch, grads); // warm-up
  opt.step(params, grads);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    backend.lossAndGrad(c.cfg, params, c.batch, grads);
    opt.step(params, grads);
  }
  return (steps * 1000) / (performance.now() - t0);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const steps = Number(args[args.indexOf('--steps') + 1] ?? 10) || 10;
  const rule = (args.includes('--rule') ? args[args.indexOf('--rule') + 1] : 'dale') as Rule;
  const backends: Backend[] = [jsBackend];
  if (args.includes('--tfjs')) {
    const path = '../rnn/backend-tfjs.js';
    const mod = (await import(path)) as { createTfjsBackend?: (opts?: unknown) => Promise<Backend> | Backend };
    if (mod.createTfjsBackend !== undefined) backends.push(await mod.createTfjsBackend({ engine: 'wasm' }));
  }
  for (const c of makeCases(rule)) {
    for (const b of backends) {
      const sps = bench(b, c, steps);
      console.log(`${b.name.padEnd(5)} ${rule.padEnd(12)} ${c.name.padEnd(32)} ${sps.toFixed(2)} steps/s (${(1000 / sps).toFixed(1)} ms/step)`);
    }
  }
}

await main();
