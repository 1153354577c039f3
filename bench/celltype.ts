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
 * {@link runThreads} measures dense training with 1 and 2 threads per stage (rnn/parallel-gemm.ts)
 * in interleaved rounds; {@link runTrained} the same from a trained state (most rectified units
 * silent: the activity-sparse products), beside the dense products only; {@link runFinetune}
 * fine-tuning the pruned model (the weight-sparse products) with 1 and 2 threads; {@link runUpdate}
 * the per-step parameter update (Adam, Dale's projection) with the update kernels and the loops.
 *
 *   node dist/bench/celltype.js [--steps 3] [--scale 16] [--rounds 3] [--warm-epochs 2]   (or through bench/main.ts)
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { cloneParams, effectiveRecurrent, zerosLike } from '../rnn/init.js';
import { jsBackend, lastActiveFraction, setActivityMode, type ActivityMode } from '../rnn/model-js.js';
import { gemmThreadsUsed, resetGemmThreadsUsed, shutdownGemmThreads, startGemmThreads, useGemmThreads } from '../rnn/parallel-gemm.js';
import { evaluateDataset, train } from '../rnn/train.js';
import { makeOptimizer } from '../rnn/optim.js';
import { Rng } from '../rnn/rng.js';
import { applyRuleProjection, ruleContext } from '../rnn/rules.js';
import { PARAM_NAMES, type Params } from '../rnn/types.js';
import { setUpdateKernelsEnabled } from '../rnn/update-kernels.js';
import { celltypeTask } from '../tasks/celltype.js';
import { median } from './figures.js';

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

/** Dense training of the cell-type model with 1 and with 2 threads per stage. */
export interface ThreadScalingResult {
  N: number;
  rounds: number;
  stepsPerRound: number;
  /** Threads the products actually used in the 2-thread runs (1 on a 1-core machine). */
  threadsUsed: number;
  /** Median steps/s (wall clock) with 1 and with 2 threads. */
  stepsPerSec1: number;
  stepsPerSec2: number;
  /** Median over rounds of (2-thread steps/s) / (1-thread steps/s). */
  speedup: number;
  /** Median process CPU seconds (user + system, all threads) per step with 1 and with 2 threads. */
  cpuSecPerStep1: number;
  cpuSecPerStep2: number;
  /**
   * Median CPU seconds per step of the calling thread alone in the 2-thread runs (its share of the
   * products plus all the work that is not split), when the runtime has `process.threadCpuUsage`
   * (Node ≥ 23.9), else null.
   */
  mainCpuSecPerStep2: number | null;
  /**
   * Speedup the CPU times predict on idle cores, load-independent: 1-thread CPU per step over the
   * calling thread's CPU per step with 2 threads (its work is the critical path; it also polls for
   * up to 1 ms while it waits for the helpers' last chunks, counted here, so the prediction is a
   * lower bound). Null without `process.threadCpuUsage`.
   */
  cpuPredictedSpeedup: number | null;
  /** Whether the weights after the 1- and 2-thread runs were the same bytes in every round. */
  identical: boolean;
}

/**
 * Dense training steps/s of the cell-type model with 1 and 2 threads (rnn/parallel-gemm.ts), in
 * interleaved rounds (1, 2, 1, 2, …) so both see the same machine load; each measurement is one
 * `train` call of `steps` steps from the same initial weights, after a warm-up of each.
 * @param opts.rounds rounds @default 3
 * @param opts.steps steps per measurement @default 2
 * @param opts.latentScaling population scaling (16 = paper, N = 1440) @default 16
 */
export async function runThreads(opts: { rounds?: number; steps?: number; latentScaling?: number } = {}): Promise<ThreadScalingResult> {
  const rounds = opts.rounds ?? 3;
  const steps = opts.steps ?? 2;
  const B = 200;
  const t = await celltypeTask({
    condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: steps * B, latentScaling: opts.latentScaling ?? 16,
  });
  const init = t.initParams();
  const masks = t.masks();
  let used = 1;
  const threadCpu = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  const measure = (threads: number): { sps: number; cpu: number; mainCpu: number | null; bytes: Buffer } => {
    useGemmThreads(threads);
    resetGemmThreadsUsed();
    const m0 = threadCpu?.call(process);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = train({ cfg: t.cfg, backend: jsBackend, train: t.train, batchSize: B, frozen: t.frozen, seed: 0, params: init, masks, epochs: 1 });
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const m1 = threadCpu?.call(process);
    const mainCpu = m0 !== undefined && m1 !== undefined ? (m1.user - m0.user + m1.system - m0.system) / 1e6 / steps : null;
    if (threads > 1) used = gemmThreadsUsed();
    const bytes = Buffer.concat(Object.values(r.params).map((a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    return { sps: steps / wall, cpu: (c.user + c.system) / 1e6 / steps, mainCpu, bytes };
  };
  try {
    measure(1); // warm-up: JIT, work buffers
    measure(2); // warm-up: helper threads
    const one: number[] = [], two: number[] = [], ratio: number[] = [], cpu1: number[] = [], cpu2: number[] = [], main2: number[] = [], pred: number[] = [];
    let identical = true;
    for (let i = 0; i < rounds; i++) {
      const a = measure(1);
      const b = measure(2);
      one.push(a.sps); two.push(b.sps); ratio.push(b.sps / a.sps); cpu1.push(a.cpu); cpu2.push(b.cpu);
      if (b.mainCpu !== null) { main2.push(b.mainCpu); pred.push(a.cpu / b.mainCpu); }
      identical &&= a.bytes.equals(b.bytes);
    }
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      N: t.cfg.nHidden, rounds, stepsPerRound: steps, threadsUsed: used,
      stepsPerSec1: r3(median(one)), stepsPerSec2: r3(median(two)), speedup: r3(median(ratio)),
      cpuSecPerStep1: r3(median(cpu1)), cpuSecPerStep2: r3(median(cpu2)),
      mainCpuSecPerStep2: main2.length > 0 ? r3(median(main2)) : null, cpuPredictedSpeedup: pred.length > 0 ? r3(median(pred)) : null, identical,
    };
  } finally {
    useGemmThreads(1);
    await shutdownGemmThreads();
  }
}

/** Dense training of the cell-type model from a trained state (where most rectified units are silent). */
export interface TrainedResult {
  N: number;
  /** Epochs of 2000 synthetic samples trained from the initial weights before measuring. */
  warmEpochs: number;
  rounds: number;
  stepsPerRound: number;
  /** Fraction of units active (a > 0) over the steps of the measured batch's forward pass. */
  activeFraction: number;
  /** Median steps/s, one thread: from the initial weights; from the trained ones with the activity-sparse products (the default) and with the dense ones only. */
  initStepsPerSec: number;
  trainedStepsPerSec: number;
  trainedDenseStepsPerSec: number;
  /** Median steps/s from the trained weights with 2 threads (default products). */
  trainedStepsPerSec2: number;
  /** Median over rounds of (2-thread steps/s) / (1-thread steps/s), from the trained weights (default products). */
  trainedSpeedup2: number;
  /** Forward-only (evaluation) batches per second of the trained model, one thread. */
  trainedEvalBatchesPerSec: number;
  /** Threads the 2-thread runs used. */
  threadsUsed: number;
  /** Whether every run from the trained weights ended with the same weight bytes (sparse or dense products, 1 or 2 threads). */
  identical: boolean;
  /** Estimated seconds of the 100 dense epochs of 10 steps: the first at the initial rate, the other 99 at the trained rate (1 thread). */
  denseEpochsSeconds: number;
}

/**
 * Steps/s of dense (unpruned) cell-type training from a trained state, the one most of the
 * protocol's 100 dense epochs run in: after `warmEpochs` epochs the rectified state is 80-97 %
 * zeros, which the activity-sparse products skip (rnn/model-js.ts). Interleaved rounds of: one
 * thread with the default products, one thread with dense products only, two threads; each one
 * `train` call of `steps` steps from the same trained weights and optimizer state (10: one epoch
 * of the protocol's 2000 samples, as a training stage calls `train` once per epoch; each call
 * also copies the weights and the optimizer's state in and out, ~35 ms at N = 1440).
 * @param opts.warmEpochs epochs trained first @default 2
 * @param opts.rounds rounds @default 3
 * @param opts.steps steps per measurement @default 10
 */
export async function runTrained(opts: { warmEpochs?: number; rounds?: number; steps?: number; latentScaling?: number } = {}): Promise<TrainedResult> {
  const warmEpochs = opts.warmEpochs ?? 2;
  const rounds = opts.rounds ?? 3;
  const steps = opts.steps ?? 10;
  const B = 200;
  const task = (nTrain: number): ReturnType<typeof celltypeTask> =>
    celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: 2000, nTrain, latentScaling: opts.latentScaling ?? 16 });
  const warm = await task(2000);
  const t = await task(steps * B);
  const masks = t.masks();
  const common = { cfg: t.cfg, backend: jsBackend, batchSize: B, frozen: t.frozen, seed: 0, masks };
  const warmRun = train({ ...common, train: warm.train, params: warm.initParams(), epochs: warmEpochs });
  const trained = warmRun.params;
  // From the trained weights the optimizer's state continues too: a fresh Adam's first steps are
  // large, and they wake silent units up (12.5 → 25 % active over 10 steps from 5-epoch weights).
  const resume = { optimizerState: warmRun.optimizerState, startEpoch: warmEpochs, epochs: warmEpochs + 1 };
  let used = 1;
  const measure = (params: typeof trained, threads: number, mode: ActivityMode, fromInit = false): { sps: number; bytes: Buffer } => {
    useGemmThreads(threads);
    setActivityMode(mode);
    resetGemmThreadsUsed();
    const t0 = performance.now();
    const r = train({ ...common, train: t.train, params, ...(fromInit ? { epochs: 1 } : resume) });
    const wall = (performance.now() - t0) / 1000;
    if (threads > 1) used = gemmThreadsUsed();
    setActivityMode('auto');
    return { sps: steps / wall, bytes: Buffer.concat(Object.values(r.params).map((a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))) };
  };
  try {
    await startGemmThreads(2);
    const init = measure(t.initParams(), 1, 'auto', true).sps;
    const batch = t.train.batch(Int32Array.from({ length: B }, (_, i) => i));
    jsBackend.evaluate(t.cfg, trained, batch);
    const activeFraction = lastActiveFraction() ?? 1;
    useGemmThreads(1);
    const e0 = performance.now();
    for (let s = 0; s < steps; s++) jsBackend.evaluate(t.cfg, trained, batch);
    const evalBps = steps / ((performance.now() - e0) / 1000);
    measure(trained, 2, 'auto'); // warm-up of the helpers
    const a: number[] = [], d: number[] = [], two: number[] = [];
    let identical = true;
    for (let i = 0; i < rounds; i++) {
      const x = measure(trained, 1, 'auto');
      const y = measure(trained, 1, 'never');
      const z = measure(trained, 2, 'auto');
      a.push(x.sps); d.push(y.sps); two.push(z.sps);
      identical &&= x.bytes.equals(y.bytes) && x.bytes.equals(z.bytes);
    }
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      N: t.cfg.nHidden, warmEpochs, rounds, stepsPerRound: steps, activeFraction: r3(activeFraction),
      initStepsPerSec: r3(init), trainedStepsPerSec: r3(median(a)), trainedDenseStepsPerSec: r3(median(d)), trainedStepsPerSec2: r3(median(two)),
      trainedSpeedup2: r3(median(two.map((x, i) => x / a[i]))),
      trainedEvalBatchesPerSec: r3(evalBps),
      threadsUsed: used, identical, denseEpochsSeconds: Math.round(10 / init + (99 * 10) / median(a)),
    };
  } finally {
    useGemmThreads(1);
    await shutdownGemmThreads();
  }
}

/** Fine-tuning of the pruned cell-type model (the weight-sparse products) with 1 and 2 threads. */
export interface FinetuneResult {
  N: number;
  /** Fraction of W_hh the prune kept. */
  keptFraction: number;
  rounds: number;
  stepsPerRound: number;
  /** Median fine-tuning steps/s with 1 and with 2 threads, and the median of the per-round ratios. */
  stepsPerSec1: number;
  stepsPerSec2: number;
  speedup2: number;
  /** Median evaluation batches/s of the pruned model (forward only) with 1 and with 2 threads. */
  evalBatchesPerSec1: number;
  evalBatchesPerSec2: number;
  threadsUsed: number;
  /** Whether the 1- and 2-thread runs ended with the same weight bytes (and losses) in every round. */
  identical: boolean;
}

/**
 * Steps/s of fine-tuning the pruned cell-type model, as the protocol's fine-tune stage runs it:
 * weights trained `warmEpochs` epochs, pruned block-wise with top-prob (Table 1 and the inter-area
 * bands, ~5 % kept), one fine-tuning epoch for the optimizer's state, then interleaved rounds of
 * one `train` call of `steps` steps with the mask (the weight-sparse products of rnn/model-js.ts)
 * on 1 and on 2 threads, and of one evaluation pass of `steps` batches.
 * @param opts.warmEpochs dense epochs before the prune @default 2
 * @param opts.rounds rounds @default 3
 * @param opts.steps steps (and evaluation batches) per measurement @default 10
 */
export async function runFinetune(opts: { warmEpochs?: number; rounds?: number; steps?: number; latentScaling?: number } = {}): Promise<FinetuneResult> {
  const warmEpochs = opts.warmEpochs ?? 2;
  const rounds = opts.rounds ?? 3;
  const steps = opts.steps ?? 10;
  const B = 200;
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: steps * B, nTrain: steps * B, latentScaling: opts.latentScaling ?? 16 });
  const common = { cfg: t.cfg, backend: jsBackend, batchSize: B, frozen: t.frozen, seed: 0, train: t.train };
  const dense = train({ ...common, params: t.initParams(), masks: t.masks(), epochs: warmEpochs });
  const pr = t.prune(effectiveRecurrent(t.cfg, dense.params), 1);
  const first = train({ ...common, params: { ...dense.params, wHh: pr.weights }, masks: pr.masks, epochs: 1 });
  let used = 1;
  const measure = (threads: number): { sps: number; eps: number; bytes: Buffer; loss: number } => {
    useGemmThreads(threads);
    resetGemmThreadsUsed();
    const t0 = performance.now();
    const r = train({ ...common, params: first.params, masks: pr.masks, optimizerState: first.optimizerState, startEpoch: 1, epochs: 2 });
    const t1 = performance.now();
    const ev = evaluateDataset(jsBackend, t.cfg, first.params, t.train, B);
    const t2 = performance.now();
    if (threads > 1) used = gemmThreadsUsed();
    const bytes = Buffer.concat(Object.values(r.params).map((a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    return { sps: (1000 * steps) / (t1 - t0), eps: (1000 * steps) / (t2 - t1), bytes, loss: ev.loss };
  };
  try {
    await startGemmThreads(2);
    measure(2); // warm-up of the helpers and the workspaces
    const s1: number[] = [], s2: number[] = [], ratio: number[] = [], e1: number[] = [], e2: number[] = [];
    let identical = true;
    for (let i = 0; i < rounds; i++) {
      const a = measure(1);
      const b = measure(2);
      s1.push(a.sps); s2.push(b.sps); ratio.push(b.sps / a.sps); e1.push(a.eps); e2.push(b.eps);
      identical &&= a.bytes.equals(b.bytes) && a.loss === b.loss;
    }
    let kept = 0;
    for (const v of pr.mask) kept += v;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      N: t.cfg.nHidden, keptFraction: Math.round((kept / pr.mask.length) * 1e4) / 1e4, rounds, stepsPerRound: steps,
      stepsPerSec1: r3(median(s1)), stepsPerSec2: r3(median(s2)), speedup2: r3(median(ratio)),
      evalBatchesPerSec1: r3(median(e1)), evalBatchesPerSec2: r3(median(e2)), threadsUsed: used, identical,
    };
  } finally {
    useGemmThreads(1);
    await shutdownGemmThreads();
  }
}

/** The per-step parameter update of the cell-type model (Adam's step, then Dale's projection), with and without the update kernels. */
export interface UpdateResult {
  N: number;
  /** Parameters updated per step (the frozen readouts excluded). */
  params: number;
  rounds: number;
  stepsPerRound: number;
  /** Median milliseconds per update (Adam + projection) with the WebAssembly kernels (rnn/update-kernels.ts) and with the JavaScript loops. */
  kernelMs: number;
  loopMs: number;
  /** Whether both gave the same parameter and moment bytes in every round. */
  identical: boolean;
}

/**
 * Milliseconds of one training step's parameter update of the cell-type model (Adam's step on
 * the trainable tensors, then Dale's projection of W_hh), with the update kernels (parameters
 * and gradients in the optimizer's memory, as `train` places them) and with the JavaScript loops
 * (`setUpdateKernelsEnabled(false)`), in interleaved rounds of `steps` updates from the same
 * initial weights and fixed synthetic gradients.
 * @param opts.rounds rounds @default 5
 * @param opts.steps updates per measurement @default 5
 * @param opts.latentScaling population scaling (16 = paper, N = 1440) @default 16
 */
export async function runUpdate(opts: { rounds?: number; steps?: number; latentScaling?: number } = {}): Promise<UpdateResult> {
  const rounds = opts.rounds ?? 5;
  const steps = opts.steps ?? 5;
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: 10, latentScaling: opts.latentScaling ?? 16 });
  const init = t.initParams();
  const frozen = new Set(t.frozen);
  const ctx = ruleContext(t.cfg);
  // Gradients of every sign and a few magnitudes, fixed across runs.
  const grads = zerosLike(init);
  const rng = new Rng(0, 'bench:update');
  for (const k of PARAM_NAMES) for (let i = 0; i < grads[k].length; i++) grads[k][i] = (rng.uniform() - 0.5) * 1e-3;
  const measure = (kernels: boolean): { ms: number; bytes: Buffer } => {
    setUpdateKernelsEnabled(kernels);
    try {
      const opt = makeOptimizer(init, { kind: 'adam', lr: 1e-3 });
      const io = opt.placeParams?.(init) ?? { params: cloneParams(init), grads: zerosLike(init) };
      for (const k of PARAM_NAMES) io.grads[k].set(grads[k]);
      opt.step(io.params, io.grads, frozen); // warm-up: first touch of the pages, JIT
      applyRuleProjection(t.cfg, io.params, ctx);
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) {
        opt.step(io.params, io.grads, frozen);
        applyRuleProjection(t.cfg, io.params, ctx);
      }
      const ms = (performance.now() - t0) / steps;
      const st = opt.getState();
      const all = [io.params, st.m!, st.v!].flatMap((p) => PARAM_NAMES.map((k) => Buffer.from(p[k].buffer, p[k].byteOffset, p[k].byteLength)));
      const bytes = Buffer.concat(all);
      opt.release?.(); // (its memory is reused by the next round's optimizer)
      return { ms, bytes };
    } finally {
      setUpdateKernelsEnabled(true);
    }
  };
  const kern: number[] = [], loop: number[] = [];
  let identical = true;
  for (let i = 0; i < rounds; i++) {
    const a = measure(true);
    const b = measure(false);
    kern.push(a.ms); loop.push(b.ms);
    identical &&= a.bytes.equals(b.bytes);
  }
  let n = 0;
  for (const k of PARAM_NAMES) if (!frozen.has(k)) n += init[k].length;
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return { N: t.cfg.nHidden, params: n, rounds, stepsPerRound: steps, kernelMs: r2(median(kern)), loopMs: r2(median(loop)), identical };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const arg = (k: string): number | undefined => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : undefined);
  console.log(JSON.stringify(await run({ steps: arg('--steps'), latentScaling: arg('--scale') }), null, 2));
  console.log(JSON.stringify(await runThreads({ rounds: arg('--rounds'), steps: arg('--steps'), latentScaling: arg('--scale') }), null, 2));
  console.log(JSON.stringify(await runTrained({ rounds: arg('--rounds'), steps: arg('--steps'), latentScaling: arg('--scale'), warmEpochs: arg('--warm-epochs') }), null, 2));
  console.log(JSON.stringify(await runUpdate({ rounds: arg('--rounds'), latentScaling: arg('--scale') }), null, 2));
}
