/**
 * Cell-type model benchmark: training steps per second of the 1440-neuron CelltypeRNN with the
 * `js` backend (batch 200, T = 15, nIn = nOut = 18, Dale's rule), dense and fine-tuning (with the
 * real pruned recurrent mask: Table 1 blocks + inter-area bands, ~5% kept), each step = loss and
 * gradients + Adam + projection + masks as the generic training loop does (which passes the masks
 * to the backend, so fine-tuning runs the sparse path of rnn/model-js.ts), and the estimated time
 * of one condition's full protocol: 100 dense + 50 fine-tuning epochs of 2000 samples (10 steps
 * per epoch), plus one evaluation pass over the 2000 samples per epoch (dense model in the dense
 * epochs, pruned model in the fine-tuning epochs).
 *
 *   node dist/bench/celltype.js [--steps 3] [--scale 16]   (or through bench/main.ts)
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { effectiveRecurrent, zerosLike } from '../rnn/init.js';
import { jsBackend } from '../rnn/model-js.js';
import { train } from '../rnn/train.js';
import type { Params } from '../rnn/types.js';
import { celltypeTask } from '../tasks/celltype.js';

export const name = 'celltype';

/** Figures of one benchmark run. */
export interface CelltypeBenchResult {
  N: number;
  batchSize: number;
  T: number;
  /** Training steps per second, dense model. */
  denseStepsPerSec: number;
  /** Training steps per second while fine-tuning with the pruned mask. */
  finetuneStepsPerSec: number;
  /** Forward-only (evaluation) batches per second, dense model. */
  denseEvalBatchesPerSec: number;
  /** Forward-only (evaluation) batches per second, pruned model. */
  evalBatchesPerSec: number;
  /** Fraction of W_hh kept by the prune (Table 1 blocks + inter-area bands). */
  keptFraction: number;
  /** Estimated seconds of 100 dense + 50 fine-tune epochs of 10 steps, with one eval pass per epoch. */
  protocolSeconds: number;
}

/**
 * Runs the benchmark once. Each measurement is one `train` call of `steps` steps (one epoch of
 * steps·200 synthetic samples, no test set), after a warm-up gradient call.
 * @param opts.steps steps per measurement @default 3
 * @param opts.latentScaling population scaling (16 = paper, N = 1440) @default 16
 */
export async function run(opts: { steps?: number; latentScaling?: number } = {}): Promise<CelltypeBenchResult> {
  const steps = opts.steps ?? 3;
  const B = 200;
  const t = await celltypeTask({
    condition: 'familiar_change_full',
    seed: 0,
    dataSource: 'synthetic',
    syntheticSamples: steps * B,
    latentScaling: opts.latentScaling ?? 16,
  });
  const common = { cfg: t.cfg, backend: jsBackend, train: t.train, batchSize: B, frozen: t.frozen, seed: 0 };
  const init = t.initParams();
  const batch = t.train.batch(Int32Array.from({ length: B }, (_, i) => i));
  const time = (params: Params, masks: ReturnType<typeof t.masks>): { sps: number; params: Params } => {
    jsBackend.lossAndGrad(t.cfg, params, batch, zerosLike(params)); // warm-up (JIT, work buffers)
    const t0 = performance.now();
    const r = train({ ...common, params, masks, epochs: 1 });
    return { sps: steps / ((performance.now() - t0) / 1000), params: r.params };
  };
  const dense = time(init, t.masks());
  const pr = t.prune(effectiveRecurrent(t.cfg, dense.params), 1);
  const ft = time({ ...dense.params, wHh: pr.weights }, pr.masks);
  const evalRate = (params: Params): number => {
    jsBackend.evaluate(t.cfg, params, batch);
    const e0 = performance.now();
    for (let s = 0; s < steps; s++) jsBackend.evaluate(t.cfg, params, batch);
    return steps / ((performance.now() - e0) / 1000);
  };
  const denseEvalBps = evalRate(dense.params);
  const evalBps = evalRate(ft.params);
  let kept = 0;
  for (const v of pr.mask) kept += v;
  const stepsPerEpoch = 2000 / B;
  const protocolSeconds = 100 * (stepsPerEpoch / dense.sps + stepsPerEpoch / denseEvalBps) + 50 * (stepsPerEpoch / ft.sps + stepsPerEpoch / evalBps);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    N: t.cfg.nHidden,
    batchSize: B,
    T: t.train.T,
    denseStepsPerSec: r2(dense.sps),
    finetuneStepsPerSec: r2(ft.sps),
    denseEvalBatchesPerSec: r2(denseEvalBps),
    evalBatchesPerSec: r2(evalBps),
    keptFraction: Math.round((kept / pr.mask.length) * 1e4) / 1e4,
    protocolSeconds: Math.round(protocolSeconds),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const arg = (k: string): number | undefined => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : undefined);
  console.log(JSON.stringify(await run({ steps: arg('--steps'), latentScaling: arg('--scale') }), null, 2));
}
