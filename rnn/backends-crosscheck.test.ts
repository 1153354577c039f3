import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendNameError, createBackend } from './backends.js';
import { TfjsEngineUnavailableError, type TfjsBackend } from './backend-tfjs.js';
import { jsBackend } from './model-js.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { Rng } from './rng.js';
import { PARAM_NAMES, type Backend, type BackendName, type Batch, type Fidelity, type Head, type ModelConfig, type Params, type Rule } from './types.js';
import { assertClose } from './grad-testing.js';

const COMBOS: { rule: Rule; fidelity: Fidelity }[] = [
  { rule: 'conventional', fidelity: 'corrected' },
  { rule: 'dale', fidelity: 'corrected' },
  { rule: 'rectified', fidelity: 'paper-code' },
  { rule: 'rectified', fidelity: 'corrected' },
];

let tfjsP: Promise<Backend> | undefined;
function tfjsWasm(): Promise<Backend> {
  tfjsP ??= createBackend('tfjs', { tfjsBackend: 'wasm' });
  return tfjsP;
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

for (const { rule, fidelity } of COMBOS) {
  test(`js and tfjs (wasm) agree on N=128 losses and gradients: ${rule}/${fidelity} (flip-flop tanh, softmax-last, wave-ei)`, async () => {
    const tfjs = await tfjsWasm();
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

test('createBackend: js is the js backend; tfjs wasm and cpu are tfjs backends on those engines', async () => {
  assert.equal(await createBackend('js'), jsBackend);
  const w = (await createBackend('tfjs', { tfjsBackend: 'wasm' })) as TfjsBackend;
  assert.equal(w.name, 'tfjs');
  assert.equal(w.engine, 'wasm');
  const c = (await createBackend('tfjs', { tfjsBackend: 'cpu' })) as TfjsBackend;
  assert.equal(c.engine, 'cpu');
});

test('createBackend: tfjs auto falls back to wasm when neither tfjs-node package is installed', async () => {
  const asked: string[] = [];
  const be = (await createBackend('tfjs', {
    isInstalled: (pkg) => {
      asked.push(pkg);
      return false;
    },
  })) as TfjsBackend;
  assert.equal(be.engine, 'wasm');
  assert.deepEqual(asked, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
});

test('createBackend: tfjs node-gpu / node asked for but absent throw TfjsEngineUnavailableError naming the install command', async () => {
  const absent = (): boolean => false;
  await assert.rejects(createBackend('tfjs', { tfjsBackend: 'node-gpu', isInstalled: absent }), (e: unknown) => {
    assert.ok(e instanceof TfjsEngineUnavailableError);
    assert.equal(e.packageName, '@tensorflow/tfjs-node-gpu');
    assert.match(e.message, /^@tensorflow\/tfjs-node-gpu is not installed; install it on GPU nodes with `npm install @tensorflow\/tfjs-node-gpu`/);
    return true;
  });
  await assert.rejects(createBackend('tfjs', { tfjsBackend: 'node', isInstalled: absent }), (e: unknown) => {
    assert.ok(e instanceof TfjsEngineUnavailableError);
    assert.match(e.message, /^@tensorflow\/tfjs-node is not installed; install it .*`npm install @tensorflow\/tfjs-node`/);
    return true;
  });
});

test('createBackend: an unknown backend name throws BackendNameError', async () => {
  await assert.rejects(createBackend('torch' as BackendName), (e: unknown) => e instanceof BackendNameError && /js, tfjs/.test(e.message));
});
