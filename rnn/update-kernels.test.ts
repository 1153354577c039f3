import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam } from './optim.js';
import { applyMasks, daleProject } from './rules.js';
import { train } from './train.js';
import { jsBackend } from './model-js.js';
import { defaultModelConfig, initParams } from './init.js';
import { flipFlopDataset } from '../tasks/flipflop.js';
import { PARAM_NAMES, type Backend, type Params } from './types.js';
import { MAX_UPDATE_BYTES, UpdateMemory, setUpdateKernelsEnabled, updateKernelsOf } from './update-kernels.js';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBits = (a: Params, b: Params): boolean => PARAM_NAMES.every((k) => bytes(a[k]).equals(bytes(b[k])));

/** Deterministic values of many magnitudes and signs, with zeros of both signs, subnormals and huge values. */
function values(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const u = s / 4294967296 - 0.5;
    out[i] = u * scale * Math.pow(10, (s % 7) - 3);
    if (i % 17 === 3) out[i] = 0;
    if (i % 19 === 5) out[i] = -0;
    if (i % 23 === 7) out[i] = u * 1e-40; // subnormal float32
  }
  return out;
}

/** Parameters shaped like a small model with odd tensor lengths (the kernel does pairs, the loop the last one). */
function shaped(seed: number, scale: number): Params {
  return {
    wIn: values(12 * 3, seed, scale), bIn: values(12, seed + 1, scale), wHh: values(12 * 12, seed + 2, scale),
    bHh: values(12, seed + 3, scale), wOut: values(3 * 12 + 1, seed + 4, scale), bOut: values(3, seed + 5, scale),
  };
}

function adamRun(kernels: boolean, placed: boolean): { params: Params; m: Params; v: Params } {
  setUpdateKernelsEnabled(kernels);
  try {
    const start = shaped(1, 0.5);
    const opt = new Adam(start, { lr: 3e-3 });
    const io = placed ? opt.placeParams(start) : { params: shaped(1, 0.5), grads: shaped(9, 1e-3) };
    assert.equal(updateKernelsOf(io.params.wHh) !== null, kernels && placed);
    for (let step = 0; step < 7; step++) {
      const g = shaped(100 + step, step === 3 ? 1e3 : 1e-3);
      for (const k of PARAM_NAMES) io.grads[k].set(g[k]);
      opt.step(io.params, io.grads, new Set(['bOut']));
    }
    const st = opt.getState();
    return { params: io.params, m: st.m!, v: st.v! };
  } finally {
    setUpdateKernelsEnabled(true);
  }
}

test('the Adam kernel gives the JavaScript loop\'s bits, placed or copied, over steps of very different gradients', () => {
  const ref = adamRun(false, false);
  assert.ok(PARAM_NAMES.some((k) => !bytes(ref.params[k]).equals(bytes(shaped(1, 0.5)[k]))), 'the steps changed the parameters');
  assert.ok(bytes(ref.params.bOut).equals(bytes(shaped(1, 0.5).bOut)), 'frozen tensor unchanged');
  for (const [kernels, placed] of [[true, true], [true, false], [false, true]] as const) {
    const got = adamRun(kernels, placed);
    assert.ok(sameBits(got.params, ref.params), `params, kernels=${kernels} placed=${placed}`);
    assert.ok(sameBits(got.m, ref.m) && sameBits(got.v, ref.v), `moments, kernels=${kernels} placed=${placed}`);
  }
});

test('Adam\'s state round-trips through the kernel memory (setState copies in, getState copies out)', () => {
  const p = shaped(3, 0.5);
  const a = new Adam(p);
  const io = a.placeParams(p);
  for (const k of PARAM_NAMES) io.grads[k].set(shaped(4, 1e-2)[k]);
  a.step(io.params, io.grads);
  const st = a.getState();
  assert.equal(updateKernelsOf(st.m!.wHh), null, 'state is a plain copy');
  const b = new Adam(p);
  b.setState(st);
  const q = b.placeParams(io.params);
  for (const k of PARAM_NAMES) q.grads[k].set(io.grads[k]);
  a.step(io.params, io.grads);
  b.step(q.params, q.grads);
  assert.ok(sameBits(io.params, q.params));
});

test('the Dale kernel gives daleProject\'s loop bits (−0 and NaN kept, +0 written) at any nExc, and N not a multiple of 4 falls back', () => {
  for (const [N, nExc] of [[16, 12], [20, 8], [12, 9], [16, 13], [8, 7], [8, 0], [8, 8], [10, 8]] as const) {
    const w0 = values(N * N, N + nExc, 1);
    w0[1] = Number.NaN;
    w0[N * N - 1] = -Number.NaN;
    w0[2] = -1e-45;
    w0[N - 1] = 1e-45;
    const ref = daleProject(w0.slice(), N, nExc);
    const mem = UpdateMemory.create(N * N, 1);
    assert.ok(mem !== null);
    const w = mem.alloc(N * N);
    w.set(w0);
    assert.equal(mem.dale(w, N, nExc), N % 4 === 0);
    const viaRule = mem.alloc(N * N);
    viaRule.set(w0);
    daleProject(viaRule, N, nExc);
    assert.ok(bytes(viaRule).equals(bytes(ref)), `N=${N} nExc=${nExc}`);
    if (N % 4 === 0) assert.ok(bytes(w).equals(bytes(ref)), `kernel N=${N} nExc=${nExc}`);
    assert.ok(Number.isNaN(ref[1]));
    if (nExc > 2) assert.ok(Object.is(ref[2], 0), 'a negative excitatory weight becomes +0');
    if (nExc < N) assert.ok(Object.is(ref[N - 1], 0), 'a positive inhibitory weight becomes +0');
  }
});

test('the mask kernel gives applyMasks\' loop bits (+0 wherever the mask is ±0, even on NaN and ±Infinity; products elsewhere), odd lengths included', () => {
  for (const n of [4, 7, 64, 4099, 9001]) {
    const t0 = values(n, n, 3);
    const m0 = values(n, n + 1, 1).map((v, i) => (i % 3 === 0 ? 1 : i % 5 === 0 ? 0 : i % 7 === 0 ? -0 : v));
    t0[0] = Number.NaN; m0[0] = 0;
    t0[1] = Number.POSITIVE_INFINITY; m0[1] = -0;
    t0[2] = Number.NEGATIVE_INFINITY; m0[2] = 0.5;
    t0[3] = -2; m0[3] = 0;
    m0[n - 1] = 0;
    const ref = { ...shaped(0, 1), wHh: t0.slice() };
    applyMasks(ref, { recurrent: m0 });
    const mem = UpdateMemory.create(2 * n, 2)!;
    const t = mem.alloc(n), m = mem.alloc(n);
    t.set(t0); m.set(m0);
    const job = mem.maskJob(t, m);
    assert.equal(job.args[2], n & ~3, 'the kernel takes whole vectors');
    mem.runAt(job, 0, job.units);
    for (let i = job.args[2]; i < n; i++) t[i] = ref.wHh[i]; // (the caller's loop does the tail)
    assert.ok(bytes(t).equals(bytes(ref.wHh)), `kernel, n=${n}`);
    // Through applyMasks: the kernel when tensor and mask are views of one memory.
    const via = { ...shaped(0, 1), wHh: mem.alloc(n) };
    via.wHh.set(t0);
    applyMasks(via, { recurrent: m });
    assert.ok(bytes(via.wHh).equals(bytes(ref.wHh)), `applyMasks, n=${n}`);
    assert.ok(Object.is(ref.wHh[0], 0) && Object.is(ref.wHh[1], 0) && Object.is(ref.wHh[3], 0) && ref.wHh[2] === Number.NEGATIVE_INFINITY);
  }
});

test('train() with masks gives the same bits with and without the update kernels (the masks placed beside the parameters)', () => {
  const cfg = defaultModelConfig({ nHidden: 16, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const ds = flipFlopDataset(2, 'train', { n: 64, T: 10 });
  const recurrent = values(16 * 16, 5, 1).map((v, i) => (i % 3 === 0 ? 1 : 0));
  const input = new Float32Array(16).map((_, i) => (i % 2 === 0 ? 1 : 0));
  const run = (kernels: boolean): Params => {
    setUpdateKernelsEnabled(kernels);
    try {
      return train({ cfg, params: initParams(cfg, 4), backend: jsBackend, train: ds, epochs: 3, batchSize: 16, seed: 4, masks: { recurrent, input } }).params;
    } finally {
      setUpdateKernelsEnabled(true);
    }
  };
  const withK = run(true);
  assert.ok(sameBits(withK, run(false)));
  for (let i = 0; i < recurrent.length; i++) if (recurrent[i] === 0) assert.ok(Object.is(withK.wHh[i], 0), `pruned weight ${i} is +0`);
  const opt = new Adam(initParams(cfg, 4));
  const placed = opt.placeParams(initParams(cfg, 4));
  const masks = opt.placeMasks({ recurrent, input });
  assert.ok(updateKernelsOf(masks.recurrent!) === updateKernelsOf(placed.params.wHh) && updateKernelsOf(masks.recurrent!) !== null, 'the masks lie in the parameters\' memory');
  assert.ok(bytes(masks.recurrent!).equals(bytes(recurrent)) && masks.readout === undefined);
  opt.release();
  // A mask of the wrong length, however long, is not copied: train() names it (MaskShapeError).
  const tooLong = new Float32Array(40 * 16 * 16).fill(1);
  const opt2 = new Adam(initParams(cfg, 4));
  opt2.placeParams(initParams(cfg, 4));
  assert.equal(opt2.placeMasks({ recurrent: tooLong }).recurrent, tooLong);
  opt2.release();
  assert.throws(
    () => train({ cfg, params: initParams(cfg, 4), backend: jsBackend, train: ds, epochs: 1, batchSize: 16, seed: 4, masks: { recurrent: tooLong } }),
    (e: Error) => e.name === 'MaskShapeError' && /masks\.recurrent has length 10240, expected 256/.test(e.message),
  );
});

test('train() gives the same bits with and without the update kernels, and returns plain arrays', () => {
  const cfg = defaultModelConfig({ nHidden: 16, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  assert.equal(cfg.nExc % 4, 1, 'the straddling vector is used');
  const ds = flipFlopDataset(2, 'train', { n: 64, T: 10 });
  const run = (kernels: boolean): { params: Params; inKernelMemory: boolean[] } => {
    const inKernelMemory: boolean[] = [];
    const backend: Backend = {
      name: 'js',
      lossAndGrad(c, params, batch, grads) {
        inKernelMemory.push(updateKernelsOf(params.wHh) !== null && updateKernelsOf(grads.wHh) !== null);
        return jsBackend.lossAndGrad(c, params, batch, grads);
      },
      evaluate: (c, params, batch) => jsBackend.evaluate(c, params, batch),
    };
    setUpdateKernelsEnabled(kernels);
    try {
      return { params: train({ cfg, params: initParams(cfg, 3), backend, train: ds, epochs: 3, batchSize: 16, seed: 3 }).params, inKernelMemory };
    } finally {
      setUpdateKernelsEnabled(true);
    }
  };
  const withK = run(true);
  const without = run(false);
  assert.deepEqual(new Set(withK.inKernelMemory), new Set([true]));
  assert.deepEqual(new Set(without.inKernelMemory), new Set([false]));
  assert.ok(sameBits(withK.params, without.params));
  assert.ok(!sameBits(withK.params, initParams(cfg, 3)), 'training changed the weights');
  for (const k of PARAM_NAMES) {
    assert.equal(updateKernelsOf(withK.params[k]), null, `${k} is not a view of the optimiser's memory`);
    assert.equal(withK.params[k].buffer.byteLength, withK.params[k].byteLength, `${k} owns its buffer`);
  }
});

test('a model too large for a 32-bit WebAssembly memory gets no kernel memory (the loops run)', () => {
  assert.equal(UpdateMemory.create(MAX_UPDATE_BYTES / 4, 1), null);
  assert.notEqual(UpdateMemory.create(1024, 1), null);
});

test('a released memory is reused, zeroed, by the next one of its size and kind (at most 2 kept); train() releases its optimiser\'s', () => {
  // (sizes no other test uses: the memories handed back are kept per process)
  for (const shared of [false, true]) {
    const a = UpdateMemory.create(123_457, 4, shared)!;
    assert.equal(a.shared, shared);
    const x = a.alloc(123_457);
    x.fill(3);
    a.release();
    a.release(); // twice: kept once
    const b = UpdateMemory.create(123_457, 4, shared)!;
    assert.equal(b, a, 'the same memory');
    const y = b.alloc(123_457);
    assert.ok(y.every((v) => v === 0), 'its arrays come back zeroed');
    assert.notEqual(UpdateMemory.create(123_457, 4, shared), b, 'in use: not handed out twice');
    assert.notEqual(UpdateMemory.create(345_678, 4, shared), b, 'another size: a new memory');
    b.release();
    assert.notEqual(UpdateMemory.create(123_457, 4, !shared), b, 'the other kind: a new memory');
    // At most 2 kept: releasing 3 of one size leaves the last 2.
    const three = [0, 1, 2].map(() => UpdateMemory.create(234_567, 4, shared)!);
    for (const m of three) m.release();
    const again = [UpdateMemory.create(234_567, 4, shared), UpdateMemory.create(234_567, 4, shared), UpdateMemory.create(234_567, 4, shared)];
    assert.deepEqual(again.map((m) => three.indexOf(m!)), [1, 2, -1]);
  }
  // train(): the views onEpoch saw belong to the memory the next optimiser of that size gets.
  const cfg = defaultModelConfig({ nHidden: 32, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const ds = flipFlopDataset(1, 'train', { n: 20, T: 6 });
  let seen: ArrayBufferLike | null = null;
  train({ cfg, params: initParams(cfg, 1), backend: jsBackend, train: ds, epochs: 1, batchSize: 10, seed: 1, onEpoch: (_r, p) => { seen = p.wHh.buffer; } });
  assert.ok(seen !== null);
  const next = new Adam(initParams(cfg, 1)).placeParams(initParams(cfg, 1));
  assert.equal(next.params.wHh.buffer, seen, 'train() handed its memory back');
});
