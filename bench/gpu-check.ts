/**
 * `npm run gpu-check`: does the GPU engine train the models as the js backend does, and how fast?
 * Trains flip-flop (N = 128, T = 50, batch 200) and the CelltypeRNN (N = 1440, T = 15, batch 200,
 * synthetic data) for a few hundred steps with the generic training loop (rnn/train.ts: Adam,
 * Dale's projection, the cell-type model's frozen readouts) on the js backend and on the engine,
 * from the same initial weights and batches, and compares the two loss curves step by step:
 * every step's loss must agree within {@link LOSS_CURVE_RTOL} (relative). Prints steps/s of both.
 *
 *   node dist/bench/gpu-check.js [--engine tfjs-node-gpu] [--steps 200] [--celltype-steps 200] [--celltype-batch 200]
 *
 * `--engine tfjs-node` runs the same check on native TensorFlow on the CPU. Exit status: 0 when
 * every curve agrees, 1 when one does not, 2 when the engine is not there ("no GPU engine").
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createBackend } from '../rnn/backends.js';
import { defaultModelConfig, initParams } from '../rnn/init.js';
import { jsBackend } from '../rnn/model-js.js';
import { train } from '../rnn/train.js';
import type { Backend, BackendChoice, ModelConfig, ParamName, Params } from '../rnn/types.js';
import type { Dataset } from '../rnn/dataset.js';
import { flipFlopDataset } from '../tasks/flipflop.js';
import { celltypeTask } from '../tasks/celltype.js';
import { formatTable } from './figures.js';

/**
 * Largest relative difference allowed between the engine's and the js backend's loss at any step.
 * Both compute in float32 (TF32 is switched off: NVIDIA_TF32_OVERRIDE=0), but sum in other orders;
 * over a few hundred Adam steps the curves drift apart by ~1e-5..1e-4 relative (measured on the
 * CPU engine); 1e-3 leaves room for GPU kernels while catching any wrong gradient.
 */
export const LOSS_CURVE_RTOL = 1e-3;

/** One model's training problem. */
interface Problem {
  label: string;
  cfg: ModelConfig;
  params: Params;
  data: Dataset;
  batchSize: number;
  frozen?: readonly ParamName[];
}

/** Result of one model's comparison. */
export interface CurveCheck {
  label: string;
  steps: number;
  jsStepsPerSec: number;
  engineStepsPerSec: number;
  /** Largest |L_engine − L_js| / |L_js| over the steps. */
  maxRelDiff: number;
  firstLoss: number;
  lastLossJs: number;
  lastLossEngine: number;
  ok: boolean;
}

/** Train `steps` steps of one batch each (an epoch of exactly one batch); the loss per step and the steps/s. */
function curve(p: Problem, backend: Backend, steps: number): { losses: number[]; stepsPerSec: number } {
  const t0 = performance.now();
  const r = train({ cfg: p.cfg, params: p.params, backend, train: p.data, epochs: steps, batchSize: p.batchSize, frozen: p.frozen, seed: 0, lr: 1e-3 });
  const s = (performance.now() - t0) / 1000;
  return { losses: r.records.map((x) => x.trainLoss), stepsPerSec: steps / s };
}

/** Compare the js backend and `engine` on one problem. */
export function checkCurve(p: Problem, engine: Backend, steps: number): CurveCheck {
  const js = curve(p, jsBackend, steps);
  const en = curve(p, engine, steps);
  let maxRel = 0;
  for (let i = 0; i < steps; i++) maxRel = Math.max(maxRel, Math.abs(en.losses[i] - js.losses[i]) / Math.abs(js.losses[i]));
  return {
    label: p.label,
    steps,
    jsStepsPerSec: js.stepsPerSec,
    engineStepsPerSec: en.stepsPerSec,
    maxRelDiff: maxRel,
    firstLoss: js.losses[0],
    lastLossJs: js.losses[steps - 1],
    lastLossEngine: en.losses[steps - 1],
    ok: maxRel <= LOSS_CURVE_RTOL && Number.isFinite(maxRel),
  };
}

async function problems(celltypeBatch: number): Promise<[Problem, Problem]> {
  const B = 200;
  const ffCfg = defaultModelConfig({ nHidden: 128, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const ff: Problem = { label: 'flip-flop N=128 T=50 B=200', cfg: ffCfg, params: initParams(ffCfg, 0), data: flipFlopDataset(0, 'train', { n: B, T: 50 }), batchSize: B };
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: celltypeBatch, latentScaling: 16 });
  const ct: Problem = { label: `CelltypeRNN N=${t.cfg.nHidden} T=15 B=${celltypeBatch}`, cfg: t.cfg, params: t.initParams(), data: t.train, batchSize: celltypeBatch, frozen: t.frozen };
  return [ff, ct];
}

/** Runs the check; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      engine: { type: 'string', default: 'tfjs-node-gpu' },
      steps: { type: 'string', default: '200' },
      'celltype-steps': { type: 'string', default: '200' },
      'celltype-batch': { type: 'string', default: '200' },
    },
  });
  const engineName = values.engine as BackendChoice;
  if (engineName !== 'tfjs-node-gpu' && engineName !== 'tfjs-node') {
    process.stderr.write(`gpu-check: --engine must be tfjs-node-gpu or tfjs-node, got '${engineName}'\n`);
    return 2;
  }
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`gpu-check: --${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const steps = int('steps', values.steps);
  const ctSteps = int('celltype-steps', values['celltype-steps']);
  const ctBatch = int('celltype-batch', values['celltype-batch']);
  // Full float32 on Ampere and later GPUs (TensorFlow would use TF32 for float32 matmuls).
  process.env.NVIDIA_TF32_OVERRIDE ??= '0';
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  let engine: Backend;
  try {
    engine = await createBackend(engineName);
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`gpu-check: no ${engineName === 'tfjs-node-gpu' ? 'GPU' : 'native TensorFlow'} engine: ${e.message.split('\n')[0]}\n`);
    return 2;
  }
  const facts = engine.facts?.() ?? {};
  process.stdout.write(`gpu-check: backend ${engineName}: ${facts.engineVersion ?? '?'} on the ${facts.device ?? '?'}; tolerance: every step's loss within ${LOSS_CURVE_RTOL} relative of js\n`);
  const [ff, ct] = await problems(ctBatch);
  const results = [checkCurve(ff, engine, steps), checkCurve(ct, engine, ctSteps)];
  process.stdout.write(
    formatTable(
      ['model', 'steps', 'js steps/s', `${engineName} steps/s`, 'speed-up', 'max rel diff', 'loss first -> last (js / engine)', 'verdict'],
      results.map((r) => [
        r.label,
        String(r.steps),
        r.jsStepsPerSec.toFixed(2),
        r.engineStepsPerSec.toFixed(2),
        (r.engineStepsPerSec / r.jsStepsPerSec).toFixed(2) + 'x',
        r.maxRelDiff.toExponential(2),
        `${r.firstLoss.toFixed(4)} -> ${r.lastLossJs.toFixed(4)} / ${r.lastLossEngine.toFixed(4)}`,
        r.ok ? 'ok' : 'DIFFERS',
      ]),
    ) + '\n',
  );
  for (const r of results) process.stdout.write(JSON.stringify({ bench: 'gpu-check', engine: engineName, device: facts.device, ...r }) + '\n');
  return results.every((r) => r.ok) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
