import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendNameError, createBackend } from './backends.js';
import { TFJS_NODE_PACKAGES, TfjsEngineUnavailableError, isPackageInstalled, tensorflowThreads, type TfjsBackend } from './backend-tfjs.js';
import { jsBackend } from './model-js.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { Rng } from './rng.js';
import { celltypeTask } from '../tasks/celltype.js';
import { PARAM_NAMES, type Backend, type BackendChoice, type Batch, type Fidelity, type Head, type ModelConfig, type Params, type Rule } from './types.js';
import { assertClose } from './grad-testing.js';

const COMBOS: { rule: Rule; fidelity: Fidelity }[] = [
  { rule: 'conventional', fidelity: 'corrected' },
  { rule: 'dale', fidelity: 'corrected' },
  { rule: 'rectified', fidelity: 'paper-code' },
  { rule: 'rectified', fidelity: 'corrected' },
];

let tfjsP: Promise<Backend> | undefined;
function tfjsWasm(): Promise<Backend> {
  tfjsP ??= createBackend('tfjs');
  return tfjsP;
}

/**
 * The native TensorFlow engine (backend tfjs-node) runs here when @tensorflow/tfjs-node is
 * installed, as `npm test` does (scripts/test.sh: bash infra/tensorflow.sh install cpu); otherwise
 * its tests are skipped with this reason.
 */
const NODE_SKIP = isPackageInstalled(TFJS_NODE_PACKAGES.node) ? false : '@tensorflow/tfjs-node is not installed (bash infra/tensorflow.sh install cpu)';
let nodeP: Promise<Backend> | undefined;
function tfjsNode(): Promise<Backend> {
  nodeP ??= createBackend('tfjs-node');
  return nodeP;
}

interface Case {
  label: string;
  cfg: ModelConfig;
  params: Params;
  batch: Batch;
}

/** N = 128 networks on three input kinds, all with T = 10, B = 8. */
function cases(rule: Rule, fidelity: Fidelity): Case[] {
  const N = 128;
  const B = 8;
  const T = 10;
  const out: Case[] = [];
  const rng = new Rng(11, `test:crosscheck:${rule}:${fidelity}`);
  const make = (label: string, head: Head, nIn: number, nOut: number, fill: (b: Batch) => void): void => {
    const cfg = defaultModelConfig({ nHidden: N, nInput: nIn, nOutput: nOut, head, rule, fidelity });
    const params = initParams(cfg, 3);
    // Inputs strong enough that states cross the rectification threshold both ways, yet not so
    // strong that tanh saturates (where 1 - a² loses float32 digits in either backend).
    for (let i = 0; i < params.wIn.length; i++) params.wIn[i] *= 8 / Math.sqrt(nIn);
    const batch: Batch = { B, T, x: new Float32Array(B * T * nIn), target: new Float32Array(0) };
    fill(batch);
    out.push({ label, cfg, params, batch });
  };
  // Flip-flop-like: sparse ±1 pulses, target holds the last sign; tanh head.
  make('flip-flop tanh', 'tanh', 1, 1, (b) => {
    b.target = new Float32Array(B * T);
    for (let s = 0; s < B; s++) {
      let state = 0;
      for (let t = 0; t < T; t++) {
        if (rng.bernoulli(0.3)) {
          state = rng.bernoulli(0.5) ? 1 : -1;
          b.x[s * T + t] = state;
        }
        b.target[s * T + t] = state;
      }
    }
  });
  make('softmax-last', 'softmax-last', 6, 10, (b) => {
    rng.fillUniform(b.x, -1, 1);
    b.labels = Int32Array.from({ length: B }, () => rng.int(10));
  });
  make('wave-ei', 'wave-ei', 2, 2, (b) => {
    rng.fillUniform(b.x, -1, 1);
    b.target = rng.fillUniform(new Float32Array(B * T * 2), -1.5, 1.5);
  });
  // The wave readout mask (applied by the training loop): row 0 reads E units, row 1 I units.
  const wave = out[out.length - 1];
  for (let i = 0; i < N; i++) wave.params.wOut[i < wave.cfg.nExc ? N + i : i] = 0;
  return out;
}

const ENGINES: { label: string; make: () => Promise<Backend>; skip: string | false }[] = [
  { label: 'tfjs (wasm)', make: tfjsWasm, skip: false },
  { label: 'tfjs-node (native TensorFlow)', make: tfjsNode, skip: NODE_SKIP },
];

// Tolerance at N = 128 for every engine: relative L2 error of each gradient <= 1e-4 and every
// entry within 1e-4 of the largest entry; losses within 1e-5 relative.
for (const { label: engineLabel, make, skip } of ENGINES) for (const { rule, fidelity } of COMBOS) {
  test(`js and ${engineLabel} agree on N=128 losses and gradients: ${rule}/${fidelity} (flip-flop tanh, softmax-last, wave-ei)`, { skip }, async () => {
    const tfjs = await make();
    for (const { label, cfg, params, batch } of cases(rule, fidelity)) {
      const gj = zerosLike(params);
      const gt = zerosLike(params);
      const rj = jsBackend.lossAndGrad(cfg, params, batch, gj);
      const rt = tfjs.lossAndGrad(cfg, params, batch, gt);
      assert.ok(Math.abs(rj.loss - rt.loss) <= 1e-5 * Math.abs(rj.loss), `${label}: loss js ${rj.loss} vs tfjs ${rt.loss}`);
      assert.equal(rt.correct, rj.correct, `${label}: correct`);
      for (const k of PARAM_NAMES) {
        assert.ok(gj[k].some((v) => v !== 0), `${label}: js d${k} is all zero`);
        assertClose(gt[k], gj[k], `${label}: d${k}`, 1e-4, 1e-4);
      }
      if (rule === 'dale') {
        // The rectification is active in these cases: without it the gradient differs.
        const gc = zerosLike(params);
        jsBackend.lossAndGrad({ ...cfg, rule: 'conventional' }, params, batch, gc);
        assert.notDeepEqual(gc.wHh, gj.wHh, `${label}: rectification inactive`);
      }
      const ej = jsBackend.evaluate(cfg, params, batch);
      const et = tfjs.evaluate(cfg, params, batch);
      assert.ok(Math.abs(ej.loss - et.loss) <= 1e-5 * Math.abs(ej.loss), `${label}: evaluate loss`);
      assert.equal(et.correct, ej.correct);
    }
  });
}

// The CelltypeRNN at the paper's size (N = 1440, nIn = nOut = 18, Dale's rule, T = 15), one
// gradient of a batch of 20 synthetic samples. Native TensorFlow sums 1440-term products in
// another order than js (measured: relative L2 errors ~2e-7, loss ~1e-7): tolerance relative L2
// error <= 1e-5 per gradient, every entry within 1e-5 of the largest entry, loss within 1e-6.
test('js and tfjs-node (native TensorFlow) agree on the CelltypeRNN N=1440 loss and gradients (one step)', { skip: NODE_SKIP }, async () => {
  const tfjs = await tfjsNode();
  const B = 20;
  const t = await celltypeTask({ condition: 'familiar_change_full', seed: 0, dataSource: 'synthetic', syntheticSamples: B, latentScaling: 16 });
  assert.equal(t.cfg.nHidden, 1440);
  const params = t.initParams();
  const batch = t.train.batch(Int32Array.from({ length: B }, (_, i) => i));
  const gj = zerosLike(params);
  const gt = zerosLike(params);
  const rj = jsBackend.lossAndGrad(t.cfg, params, batch, gj);
  const rt = tfjs.lossAndGrad(t.cfg, params, batch, gt);
  assert.ok(Math.abs(rj.loss - rt.loss) <= 1e-6 * Math.abs(rj.loss), `loss js ${rj.loss} vs tfjs-node ${rt.loss}`);
  for (const k of PARAM_NAMES) {
    assert.ok(gj[k].some((v) => v !== 0), `js d${k} is all zero`);
    assertClose(gt[k], gj[k], `d${k}`, 1e-5, 1e-5);
  }
});

test('createBackend: js is the js backend; tfjs and tfjs-cpu are tfjs backends on the wasm and cpu engines, and say so', async () => {
  assert.equal(await createBackend('js'), jsBackend);
  const w = (await createBackend('tfjs')) as TfjsBackend;
  assert.equal(w.name, 'tfjs');
  assert.equal(w.engine, 'wasm');
  assert.equal(w.facts?.().engine, 'wasm');
  assert.match(w.facts?.().engineVersion ?? '', /^tfjs-backend-wasm \d+\.\d+/);
  const c = (await createBackend('tfjs-cpu')) as TfjsBackend;
  assert.equal(c.engine, 'cpu');
  assert.equal(c.facts?.().device, 'cpu');
});

test('createBackend: tfjs-node is native TensorFlow on the CPU, and its facts say which', { skip: NODE_SKIP }, async () => {
  const be = (await tfjsNode()) as TfjsBackend;
  assert.equal(be.engine, 'tensorflow');
  assert.deepEqual(be.facts?.(), { engine: 'tensorflow', device: 'cpu', threads: tensorflowThreads(), engineVersion: 'TensorFlow 2.10.1', enginePackage: '@tensorflow/tfjs-node' });
  assert.equal(tensorflowThreads({ TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '2' }), 'intra-op 1, inter-op 2');
  assert.match(tensorflowThreads({}), /^intra-op \d+ \(all cores\), inter-op \d+ \(all cores\)$/);
});

test('createBackend: tfjs-node-gpu / tfjs-node asked for but absent throw TfjsEngineUnavailableError naming the install command (no fallback)', async () => {
  const absent = (): boolean => false;
  await assert.rejects(createBackend('tfjs-node-gpu', { isInstalled: absent }), (e: unknown) => {
    assert.ok(e instanceof TfjsEngineUnavailableError);
    assert.equal(e.packageName, '@tensorflow/tfjs-node-gpu');
    assert.equal(e.message.split('\n').length, 1);
    assert.match(e.message, /^backend tfjs-node-gpu needs @tensorflow\/tfjs-node-gpu, which is not installed: run `bash infra\/tensorflow\.sh install gpu`/);
    return true;
  });
  await assert.rejects(createBackend('tfjs-node', { isInstalled: absent }), (e: unknown) => {
    assert.ok(e instanceof TfjsEngineUnavailableError);
    assert.match(e.message, /^backend tfjs-node needs @tensorflow\/tfjs-node, which is not installed: run `bash infra\/tensorflow\.sh install cpu`/);
    return true;
  });
});

test('createBackend: an unknown backend name throws BackendNameError listing the choices', async () => {
  await assert.rejects(createBackend('torch' as BackendChoice), (e: unknown) => e instanceof BackendNameError && /js, tfjs, tfjs-cpu, tfjs-node, tfjs-node-gpu/.test(e.message));
});
