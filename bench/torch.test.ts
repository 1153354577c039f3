import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpySync } from '../io/npy.js';
import { initParams } from '../rnn/init.js';
import { jsBackend } from '../rnn/model-js.js';
import { PARAM_NAMES } from '../rnn/types.js';
import { startParams, taskSetup } from './model.js';
import { exportTorchCase, run, summarize, torchAvailable, TorchServer, TORCH_CASES, TORCH_CHECK_TOLERANCE, type TorchRound } from './torch.js';

function withTmp(f: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'torch-bench-test-'));
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'exportTorchCase writes the bench batch, the initial weights and the js step in the layout torch_rnn.py reads',
  withTmp(async (dir) => {
    for (const task of ['flipflop', 'smnist'] as const) {
      const ex = await exportTorchCase(task, join(dir, task));
      const { cfg, batch } = await taskSetup(task);
      const N = cfg.nHidden;
      const conf = JSON.parse(readFileSync(join(ex.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(conf.nHidden, N);
      assert.equal(conf.nExc, cfg.nExc);
      assert.equal(conf.head, cfg.head);
      assert.equal(conf.rule, 'dale');
      assert.deepEqual([conf.B, conf.T, conf.lr, conf.beta1, conf.beta2, conf.eps], [200, task === 'flipflop' ? 50 : 28, 1e-3, 0.9, 0.999, 1e-8]);
      assert.equal(conf.jsLoss, jsBackend.evaluate(cfg, initParams(cfg, 0), batch).loss);
      const x = readNpySync(join(ex.dir, 'batch', 'x.npy'));
      assert.deepEqual(x.shape, [200, batch.T, cfg.nInput]);
      assert.deepEqual(Array.from(x.data as Float32Array), Array.from(batch.x));
      if (task === 'smnist') {
        const l = readNpySync(join(ex.dir, 'batch', 'labels.npy'));
        assert.equal(l.dtype, 'int32');
        assert.deepEqual(Array.from(l.data as Int32Array), Array.from(batch.labels!));
      } else {
        assert.deepEqual(readNpySync(join(ex.dir, 'batch', 'target.npy')).shape, [200, batch.T, 1]);
      }
      const p0 = initParams(cfg, 0);
      const expShape = { wIn: [N, cfg.nInput], bIn: [N], wHh: [N, N], bHh: [N], wOut: [cfg.nOutput, N], bOut: [cfg.nOutput] };
      for (const k of PARAM_NAMES) {
        const init = readNpySync(join(ex.dir, 'init', `${k}.npy`));
        assert.deepEqual(init.shape, expShape[k], k);
        assert.deepEqual(Array.from(init.data as Float32Array), Array.from(p0[k]), k);
        const step = readNpySync(join(ex.dir, 'js', 'step', `${k}.npy`)).data as Float32Array;
        const grad = readNpySync(join(ex.dir, 'js', 'grad', `${k}.npy`)).data as Float32Array;
        // Adam's first step moves every entry with a gradient by about lr (no projection involved).
        for (let i = 0; i < grad.length; i++) {
          if (k !== 'wHh' && Math.abs(grad[i]) > 1e-6) assert.ok(Math.abs(Math.abs(step[i] - p0[k][i]) - 1e-3) < 1e-5, `${k}[${i}]`);
        }
      }
      // Dale's projection after the step: E columns >= 0, I columns <= 0.
      const w = readNpySync(join(ex.dir, 'js', 'step', 'wHh.npy')).data as Float32Array;
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) assert.ok(j < cfg.nExc ? w[i * N + j] >= 0 : w[i * N + j] <= 0);
    }
  }),
);

test(
  'exportTorchCase with the trained start writes the trained weights as the case\'s start, and the js step from them',
  withTmp(async (dir) => {
    const ex = await exportTorchCase('flipflop', join(dir, 'trained'), 'trained');
    const p = startParams('flipflop', ex.cfg, 'trained');
    for (const k of PARAM_NAMES) assert.deepEqual(Array.from(readNpySync(join(ex.dir, 'init', `${k}.npy`)).data as Float32Array), Array.from(p[k]), k);
    const { batch } = await taskSetup('flipflop');
    assert.equal(ex.jsLoss, jsBackend.evaluate(ex.cfg, p, batch).loss);
    assert.deepEqual(TORCH_CASES.map((c) => c.key), ['flipflop', 'flipflop-trained', 'smnist']);
  }),
);

test('summarize takes medians of steps/s and of the per-round ratios (not the ratio of medians)', () => {
  const rounds: TorchRound[] = [
    { task: 'flipflop', js: 10, eager: 10, eagerFtz: 40, compile: 20 },
    { task: 'flipflop', js: 20, eager: 10, eagerFtz: 10, compile: 20 },
    { task: 'flipflop', js: 30, eager: 60, eagerFtz: 15, compile: 30 },
    { task: 'smnist', js: 30, eager: 20 },
  ];
  const { figures, rows } = summarize(rounds, { smnist: { compile: 'torch.compile failed: no compiler' } });
  const get = (task: string, figure: string, key: string, v: string): unknown => figures.find((f) => f.task === task && f.figure === figure && f[key] === v)?.value;
  assert.equal(get('flipflop', 'steps_per_s', 'backend', 'js'), 20);
  assert.equal(get('flipflop', 'steps_per_s', 'backend', 'torch-eager'), 10);
  // per-round js/eager: 1, 2, 0.5 -> median 1 (the ratio of the medians would be 2)
  assert.equal(get('flipflop', 'js_ratio', 'versus', 'torch-eager'), 1);
  assert.equal(get('flipflop', 'js_ratio', 'versus', 'torch-compile'), 1);
  // eager with flushed subnormals: steps/s median 15; per-round js/ftz 0.25, 2, 2 -> median 2
  assert.equal(get('flipflop', 'steps_per_s', 'backend', 'torch-eager-ftz'), 15);
  assert.equal(get('flipflop', 'js_ratio', 'versus', 'torch-eager-ftz'), 2);
  // columns: js, eager, eager FTZ, compile, compile FTZ, then the four ratios
  assert.deepEqual(rows[0], ['flipflop', 'wall', '20.00', '10.00', '15.00', '20.00', 'skipped', '1.00x', '2.00x', '1.00x', '-', '3']);
  assert.equal(get('smnist', 'steps_per_s', 'backend', 'torch-eager-ftz'), 'skipped');
  assert.equal(get('smnist', 'steps_per_s', 'backend', 'torch-compile'), 'skipped');
  assert.equal(figures.find((f) => f.task === 'smnist' && f.backend === 'torch-compile')?.reason, 'torch.compile failed: no compiler');
  assert.equal(get('smnist', 'js_ratio', 'versus', 'torch-compile'), undefined);
  assert.deepEqual(rows[1], ['smnist', 'wall', '30.00', '20.00', 'skipped', 'skipped', 'skipped', '1.50x', '-', '-', '-', '1']);
  assert.equal(figures.find((f) => f.task === 'flipflop' && f.backend === 'torch-compile-ftz')?.reason, 'not measured');
  const cpu = summarize(rounds, {}, 'cpu');
  assert.ok(cpu.figures.every((f) => f.clock === 'cpu'));
  assert.equal(cpu.figures.find((f) => f.figure === 'steps_per_s' && f.backend === 'js')?.unit, 'steps/cpu-s');
});

test('without a Python that imports torch the bench says "skipped: no torch" and returns', async () => {
  const lines: string[] = [];
  await run({ python: join(tmpdir(), 'no-such-python-for-dalesweep'), log: (l) => lines.push(l) });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^skipped: no torch/);
});

test(
  'with torch: one eager PyTorch step from the exported flip-flop case agrees with the js step',
  { skip: torchAvailable() ? false : 'no torch' },
  withTmp(async (dir) => {
    const ex = await exportTorchCase('flipflop', join(dir, 'ff'));
    const server = new TorchServer();
    try {
      await server.must({ cmd: 'load', task: 'ff', dir: ex.dir });
      const r = await server.must({ cmd: 'check', task: 'ff', mode: 'eager' });
      assert.ok((r.lossRelDiff as number) <= TORCH_CHECK_TOLERANCE.lossAndWeights, JSON.stringify(r));
      for (const v of Object.values(r.paramRelDiff as Record<string, number>)) assert.ok(v <= TORCH_CHECK_TOLERANCE.lossAndWeights, JSON.stringify(r));
      for (const v of Object.values(r.gradRelDiff as Record<string, number>)) assert.ok(v <= TORCH_CHECK_TOLERANCE.gradients, JSON.stringify(r));
      // An unknown command is answered, not fatal.
      assert.equal((await server.request({ cmd: 'nope' })).ok, false);
    } finally {
      await server.close();
    }
  }),
);
