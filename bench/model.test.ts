import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure, resultFigures, resultTable, startParams, taskSetup, type ModelBenchResult, type ModelBenchSpec } from './model.js';
import { initParams } from '../rnn/init.js';
import { jsBackend, lastActiveFraction } from '../rnn/model-js.js';
import { daleViolations } from '../rnn/rules.js';
import { PARAM_NAMES } from '../rnn/types.js';
import { formatTable } from './figures.js';

const one = { warmup: 0, minSteps: 1, minSeconds: 0, maxSteps: 1 };

test('model bench: one js and one tfjs-wasm flip-flop step measure speed and memory; tfjs leaks no tensor', async () => {
  const js = await measure({ backend: 'js', task: 'flipflop', ...one });
  assert.equal(js.steps, 1);
  assert.ok(js.stepsPerSec > 0 && Number.isFinite(js.stepsPerSec));
  assert.ok(Math.abs(js.msPerStep * js.stepsPerSec - 1000) < 1e-6 * 1000);
  assert.ok(js.peakRssMB > 0 && Number.isFinite(js.lastLoss));
  const tf = await measure({ backend: 'tfjs-wasm', task: 'flipflop', ...one });
  assert.equal(tf.tfTensorsAfter, 0);
  assert.ok((tf.wasmThreads ?? 0) >= 1);
  assert.ok((tf.tfPeakTensorMB ?? 0) > 0);
  // Same initial parameters and batch: the first losses agree to float32 accuracy.
  assert.ok(Math.abs(js.lastLoss - tf.lastLoss) <= 1e-5 * js.lastLoss, `${js.lastLoss} vs ${tf.lastLoss}`);
});

test('the trained bench start: the flip-flop Dale model after TRAINED_EPOCHS epochs, most units silent, a fresh copy each time', async () => {
  const { cfg, batch } = await taskSetup('flipflop');
  const p = startParams('flipflop', cfg, 'trained');
  const init = initParams(cfg, 0);
  assert.ok(PARAM_NAMES.some((k) => p[k].some((v, i) => v !== init[k][i])), 'trained weights differ from the initial ones');
  assert.equal(daleViolations(p.wHh, cfg.nHidden, cfg.nExc).count, 0);
  jsBackend.evaluate(cfg, p, batch);
  const active = lastActiveFraction();
  assert.ok(active !== null && active < 0.5, `active fraction ${active}`);
  jsBackend.evaluate(cfg, init, batch);
  assert.ok(lastActiveFraction()! > 0.9, 'the initial weights: nearly every unit active');
  const again = startParams('flipflop', cfg, 'trained');
  assert.notEqual(again.wHh, p.wHh);
  assert.deepEqual(Array.from(again.wHh), Array.from(p.wHh));
  const js = await measure({ backend: 'js', task: 'flipflop', start: 'trained', ...one });
  assert.ok(Number.isFinite(js.lastLoss));
  const sm = (await taskSetup('smnist')).cfg;
  assert.throws(() => startParams('smnist', sm, 'trained'), /defined for flipflop only/);
});

function fake(backend: ModelBenchSpec['backend'], task: ModelBenchSpec['task'], stepsPerSec: number): ModelBenchResult {
  return {
    spec: { backend, task, warmup: 0, minSteps: 1, minSeconds: 0, maxSteps: 1 },
    steps: 10,
    seconds: 10 / stepsPerSec,
    stepsPerSec,
    stepsPerCpuSec: stepsPerSec,
    msPerStep: 1000 / stepsPerSec,
    peakRssMB: 100,
    peakHeapMB: 10,
    lastLoss: 0.5,
  };
}

test('model bench figures: js speedup per task against each tfjs engine, with the 1.5x target on wasm', () => {
  const figs = resultFigures([fake('js', 'flipflop', 15), fake('tfjs-wasm', 'flipflop', 10), fake('tfjs-cpu', 'flipflop', 1), fake('js', 'smnist', 20), fake('tfjs-wasm', 'smnist', 10)]);
  const speedups = figs.filter((f) => f.figure === 'js_speedup');
  assert.deepEqual(
    speedups.map((f) => [f.task, f.versus, f.value, f.targetMet]),
    [
      ['flipflop', 'tfjs-wasm', 1.5, true],
      ['flipflop', 'tfjs-cpu', 15, undefined],
      ['smnist', 'tfjs-wasm', 2, true],
    ],
  );
  assert.equal(figs.filter((f) => f.figure === 'steps_per_s').length, 5);
  for (const f of figs) assert.equal(f.bench, 'model');
  assert.match(resultTable([fake('js', 'flipflop', 15), fake('tfjs-wasm', 'flipflop', 12)]), /tfjs-wasm\s+12\.00\s+83\.3\s+10\s+1\.25x/);
});

test('formatTable aligns columns: first left, others right', () => {
  const t = formatTable(['name', 'v'], [['a', '1'], ['long', '100']]).split('\n');
  assert.deepEqual(t, ['name    v', '----  ---', 'a       1', 'long  100']);
});
