import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { LIST_DESC, SimdGemm, TN_CHUNK, fmaSupported, kernelArithmetic, type Arithmetic } from './model-js-simd.js';
import { activityProducts, clearWorkspaceCache, gemmNT, jsBackend, resetActivityCounts, setActivityMode } from './model-js.js';
import {
  BESIDE_MIN_MACS, GemmThreadError, PARALLEL_MIN_MACS, costCuts, helperChunks, parallelUpdate, ThreadCountError, gemmThreadCap, gemmThreadsUsed, liveGemmThreads,
  parallelGemm, parallelKernel, resetGemmThreadsUsed, shutdownGemmThreads, simulateHelperExit, startGemmThreads, useGemmThreads,
} from './parallel-gemm.js';
import { blockBounds } from './gemm-job.js';
import { UpdateMemory } from './update-kernels.js';
import { train } from './train.js';
import { defaultModelConfig, initParams, zerosLike } from './init.js';
import { Rng } from './rng.js';
import { flipFlopDataset } from '../tasks/flipflop.js';
import { ArrayDataset } from './dataset.js';
import { PARAM_NAMES, type Params } from './types.js';

// Up to 3 threads here, whatever the machine's core count (the workspaces reserve helper scratch for it).
process.env.DALESWEEP_THREADS = '3';

const bytes = (p: Params): Buffer => Buffer.concat(PARAM_NAMES.map((k) => Buffer.from(p[k].buffer, p[k].byteOffset, p[k].byteLength)));

test('blockBounds cuts at multiples of the unit, tiles [0, n) and gives the remainder to the last block', () => {
  const cuts = (n: number, p: number, u: number): number[] => [...Array.from({ length: p }, (_, i) => blockBounds(n, p, u, i)[0]), n];
  assert.deepEqual(cuts(1440, 2, 4), [0, 720, 1440]);
  assert.deepEqual(cuts(1442, 3, 4), [0, 480, 960, 1442]);
  for (const [n, p, u] of [[203, 3, 2], [1030, 16, 8], [50, 12, 4]]) {
    for (let i = 0; i < p; i++) {
      const [lo, hi] = blockBounds(n, p, u, i);
      assert.equal(lo, i === 0 ? 0 : blockBounds(n, p, u, i - 1)[1], `block ${i} starts where ${i - 1} ends`);
      assert.equal(lo % u, 0);
      assert.ok(hi > lo);
    }
    assert.equal(blockBounds(n, p, u, p - 1)[1], n);
  }
});

test('costCuts tiles [0, units) at multiples of align into chunks of about equal cost', () => {
  const out = new Int32Array(17);
  // Uniform cost: even cuts.
  const uniform = Int32Array.from({ length: 1441 }, (_, u) => 5 + 3 * u);
  assert.deepEqual([...costCuts(uniform, 1440, 4, 16, out).subarray(0, 5)], [0, 368, 720, 1088, 1440]);
  // All the cost in the last 100 units: the first chunk takes the free units, the rest split the costly ones.
  const skewed = Int32Array.from({ length: 1001 }, (_, u) => Math.max(0, u - 900) * 7);
  const c = [...costCuts(skewed, 1000, 4, 4, out).subarray(0, 5)];
  assert.deepEqual(c, [0, 924, 952, 976, 1000]);
  // Random costs: cuts nondecreasing, aligned (or the end), each chunk within a unit's cost + an alignment's of its share.
  const rng = new Rng(3, 'test:cuts');
  for (const [units, chunks, align] of [[1440, 16, 16], [333, 7, 4], [10, 16, 1], [64, 3, 16]]) {
    const prefix = new Int32Array(units + 1);
    for (let u = 0; u < units; u++) prefix[u + 1] = prefix[u] + Math.floor(rng.uniform() * 100);
    const cuts = costCuts(prefix, units, chunks, align, out);
    assert.equal(cuts[0], 0);
    assert.equal(cuts[chunks], units);
    for (let i = 1; i <= chunks; i++) {
      assert.ok(cuts[i] >= cuts[i - 1], `cut ${i} after cut ${i - 1}`);
      if (i < chunks) assert.ok(cuts[i] % align === 0 || cuts[i] === units, `cut ${i} = ${cuts[i]} is a multiple of ${align}`);
      const share = prefix[cuts[i]] - prefix[cuts[i - 1]];
      assert.ok(share <= prefix[units] / chunks + 100 * (align + 1), `chunk ${i - 1} costs ${share} of ${prefix[units]}`);
    }
  }
});

test('the copy, transpose and pack jobs split over 3 threads copy exactly what one call copies', async () => {
  await startGemmThreads(3);
  // Large enough for the helpers to wake up before the caller has copied everything.
  const N = 1024, rows = N;
  const k = sharedKernels(3 * N * N + 64, kernelArithmetic());
  const rng = new Rng(12, 'test:copies');
  const src = k.alloc(N * N);
  for (let i = 0; i < src.length; i++) src[i] = rng.normal();
  const f32 = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const one = k.alloc(N * N), three = k.alloc(N * N);
  const jobs = [
    () => k.copyJob(src, 4, N, one, 8, 40, rows, 36),
    () => k.transposeJob(src, 0, N, one, 0, N, N, N)!,
    () => k.packJob(src, N, one),
  ];
  const before = helperChunks();
  for (let attempt = 0; attempt < 50 && helperChunks() === before; attempt++) {
    for (const [i, make] of jobs.entries()) {
      one.fill(0); three.fill(0);
      const job = make();
      k.runAt(job, 0, job.units);
      const split = { ...job, args: job.args.map((a) => (a >= one.byteOffset && a < one.byteOffset + one.byteLength ? a - one.byteOffset + three.byteOffset : a)) };
      useGemmThreads(3);
      parallelKernel(k, split, 1e12);
      useGemmThreads(1);
      assert.ok(f32(one).equals(f32(three)), `job ${job.kind} (${i}), attempt ${attempt}`);
    }
  }
  assert.ok(helperChunks() > before, 'the helpers never computed a chunk');
  // What they copy: a transpose and the slab layout of spFwd.
  const job = k.transposeJob(src, 0, N, one, 0, N, N, N)!;
  k.runAt(job, 0, job.units);
  assert.equal(one[3 * N + 7], src[7 * N + 3]);
  const pack = k.packJob(src, N, one);
  k.runAt(pack, 0, pack.units);
  assert.equal(one[N * 24 + 5 * 24 + 2], src[(24 + 2) * N + 5]);
  assert.equal(k.transposeJob(src, 1, N, one, 0, N, N, N), null);
});

test('the weight-sparse products (spmm, sddmm jobs) split over 3 threads by rows of equal entry counts give one call\'s bits', async () => {
  await startGemmThreads(3);
  // A pruned [N, N] pattern with uneven rows (empty ones, a few dense ones) times a [N, Bp] block.
  const N = 1024, nb = 200, Bp = 200;
  const rng = new Rng(13, 'test:sparse-jobs');
  const rows: number[][] = [];
  for (let i = 0; i < N; i++) {
    const density = i % 97 === 0 ? 0.6 : i % 5 === 0 ? 0 : 0.05;
    const js: number[] = [];
    for (let j = 0; j < N; j++) if (rng.uniform() < density) js.push(j);
    rows.push(js);
  }
  const nnz = rows.reduce((n, r) => n + r.length, 0);
  const k = sharedKernels(2 * nnz + 5 * N * Bp + 20 * N + 256, kernelArithmetic());
  const rp = k.allocI32(N + 1), cols = k.allocI32(nnz), vals = k.alloc(nnz);
  let e = 0;
  rows.forEach((js, i) => {
    rp[i] = e;
    for (const j of js) { cols[e] = j * Bp; vals[e] = rng.normal(); e++; }
  });
  rp[N] = e;
  const x = k.alloc(N * Bp), a = k.alloc(N * Bp);
  for (let i = 0; i < x.length; i++) { x[i] = rng.normal(); a[i] = rng.normal(); }
  const f32 = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const one = k.alloc(nb * (N + 8) + 4), three = k.alloc(nb * (N + 8) + 4);
  const before = helperChunks();
  for (let attempt = 0; attempt < 50 && helperChunks() === before; attempt++) {
    for (const acc of [false, true]) {
      // out (+)= (W·x)ᵀ, [nb, N] with row stride N + 8.
      for (let i = 0; i < one.length; i++) one[i] = three[i] = i % 5;
      k.spmm(rp, cols, vals, N, x, 0, nb, one, 4, N + 8, acc);
      const job = k.spmmJob(rp, cols, vals, N, x, 0, nb, three, 4, N + 8, acc)!;
      job.cost = { prefix: rp, align: 16 };
      useGemmThreads(3);
      parallelKernel(k, job, 1e12);
      useGemmThreads(1);
      assert.ok(f32(one).equals(f32(three)), `spmm acc=${acc}, attempt ${attempt}`);
    }
    // g[e] += a_i · x_j over the pattern.
    const g1 = one.subarray(0, nnz), g3 = three.subarray(0, nnz);
    for (let i = 0; i < nnz; i++) g1[i] = g3[i] = i % 3;
    k.sddmm(rp, cols, g1, N, a, 0, Bp, x, 0);
    const job = k.sddmmJob(rp, cols, g3, N, a, 0, Bp, x, 0)!;
    job.cost = { prefix: rp, align: 16 };
    useGemmThreads(3);
    parallelKernel(k, job, 1e12);
    useGemmThreads(1);
    assert.ok(f32(g1).equals(f32(g3)), `sddmm, attempt ${attempt}`);
  }
  assert.ok(helperChunks() > before, 'the helpers never computed a chunk');
  // What they compute: one output of each against its definition.
  k.spmm(rp, cols, vals, N, x, 0, nb, one, 4, N + 8, false);
  const i0 = 97, b0 = 3;
  let want = 0;
  for (let q = rp[i0]; q < rp[i0 + 1]; q++) want += vals[q] * x[cols[q] + b0];
  assert.ok(rp[i0 + 1] - rp[i0] > 100 && Math.abs(one[4 + b0 * (N + 8) + i0] - want) < 1e-4 * (1 + Math.abs(want)));
  // Shapes the kernels cannot take: no job (the caller runs spmm / sddmm itself).
  assert.equal(k.spmmJob(rp, cols, vals, N, x, 2, nb, one, 0, N, false), null);
  assert.equal(k.sddmmJob(rp, cols, one, N, a, 0, 198, x, 0), null);
});

test('a lists job (column lists of several steps and chunked sample lists) split over 3 threads writes what columnLists writes', async () => {
  await startGemmThreads(3);
  const N = 512, B = 64, T = 9, S = 4 * B + 1, Q = (T - 1) * B;
  const nC = Math.ceil(Q / TN_CHUNK);
  const k = sharedKernels(16 * T * B * N + 8 * nC * N, kernelArithmetic());
  const rng = new Rng(13, 'test:lists');
  const a = rng.fillUniform(k.alloc(T * B * N), -1, 1);
  const idx = k.allocI32(T * B * N), vals = k.alloc(T * B * N), starts = k.allocI32(T * S);
  for (let t = 0; t < T - 1; t++) k.rowLists(a, a, t * B * N, B, N, 0.3, idx, vals, t * B * N, starts, t * S, k.allocI32(4));
  // Outputs of both runs: each step's lists, then the sample lists (with states, row bytes 4·96).
  const outputs = () => ({ col: k.allocI32(Q * N), cs: k.allocI32((T - 1) * (N + 1)), smp: k.allocI32(Q * N), smpV: k.alloc(Q * N), smpCs: k.allocI32(nC * N + 1), pos: k.allocI32((T - 1) * (N + 1) + nC * N + 1) });
  const one = outputs(), three = outputs();
  // (the lists touch only their entries: the rest stays -1 on both sides)
  for (const x of [one.col, one.cs, one.smp, one.smpCs]) x.fill(-1);
  one.smpV.fill(-1);
  for (let t = 0; t < T - 1; t++) k.columnLists(idx, t * B * N, null, starts, t * S, 1, B, N, B, 4 * N, one.col.subarray(t * B * N), null, one.cs.subarray(t * (N + 1)), one.pos);
  assert.equal(k.columnLists(idx, 0, vals, starts, 0, T - 1, B, N, TN_CHUNK, 384, one.smp, one.smpV, one.smpCs, one.pos), nC);
  const desc = k.allocI32(T * LIST_DESC);
  const o = three;
  let u = 0;
  assert.equal(k.describeLists(desc, u++, idx, 0, vals, starts, 0, T - 1, B, TN_CHUNK, 384, o.smp, o.smpV, o.smpCs, o.pos.subarray((T - 1) * (N + 1))), nC);
  for (let t = 0; t < T - 1; t++) k.describeLists(desc, u++, idx, t * B * N, null, starts, t * S, 1, B, B, 4 * N, o.col.subarray(t * B * N), null, o.cs.subarray(t * (N + 1)), o.pos.subarray(t * (N + 1)));
  const i32 = (x: Int32Array | Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const before = helperChunks();
  for (let attempt = 0; attempt < 50 && helperChunks() === before; attempt++) {
    for (const x of [o.col, o.cs, o.smp, o.smpCs]) x.fill(-1);
    o.smpV.fill(-1);
    useGemmThreads(3);
    parallelKernel(k, k.listsJob(desc, u, B, N), 1e12);
    useGemmThreads(1);
    for (const key of ['col', 'cs', 'smp', 'smpV', 'smpCs'] as const) assert.ok(i32(one[key]).equals(i32(three[key])), `${key}, attempt ${attempt}`);
  }
  assert.ok(helperChunks() > before, 'the helpers never computed a chunk');
});

test('the update jobs (Adam, Dale\'s projection, masks) on a shared update memory split over 3 threads give the one-call bits', async () => {
  await startGemmThreads(3);
  const n = 1030 * 1030 + 7, N = 1032, nExc = 517; // an odd tensor length (the loop's last element); nExc inside a vector
  const run = (threads: number): { bytes: Buffer; helped: number } => {
    const mem = UpdateMemory.create(5 * n + N * N, 8, true)!;
    assert.equal(mem.shared, true);
    const [p, g, m, v, mask] = [0, 1, 2, 3, 4].map(() => mem.alloc(n));
    const w = mem.alloc(N * N);
    const r = new Rng(15, 'test:update-values');
    for (const x of [p, g, m, w]) for (let i = 0; i < x.length; i++) x[i] = r.normal();
    for (let i = 0; i < v.length; i++) v[i] = Math.abs(r.normal()) * 1e-3;
    for (let i = 0; i < mask.length; i++) mask[i] = r.uniform() < 0.1 ? 1 : 0;
    const before = helperChunks();
    useGemmThreads(threads);
    for (let step = 1; step <= 3; step++) {
      parallelUpdate(mem, mem.maskJob(g, mask), 1e12);
      parallelUpdate(mem, mem.adamJob(p, g, m, v, 0.9, 0.999, 1e-3 / (1 - 0.9 ** step), Math.sqrt(1 - 0.999 ** step), 1e-8), 1e12);
      parallelUpdate(mem, mem.daleJob(w, N, nExc)!, 1e12);
      parallelUpdate(mem, mem.maskJob(p, mask), 1e12);
    }
    useGemmThreads(1);
    // The projection did project: no excitatory weight < 0, no inhibitory one > 0.
    for (let i = 0; i < w.length; i++) assert.ok(i % N < nExc ? !(w[i] < 0) : !(w[i] > 0), `weight ${i}`);
    const bytes = Buffer.concat([p, m, v, w].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)));
    return { bytes, helped: helperChunks() - before };
  };
  const one = run(1);
  assert.equal(one.helped, 0);
  let helped = 0;
  for (let attempt = 0; attempt < 10 && helped === 0; attempt++) {
    const three = run(3);
    assert.ok(three.bytes.equals(one.bytes), `3 threads differ from 1 (attempt ${attempt})`);
    helped = three.helped;
  }
  assert.ok(helped > 0, 'the helpers never computed a chunk');
  const mem = UpdateMemory.create(N * N, 1, true)!;
  assert.equal(mem.daleJob(mem.alloc(1030 * 1030), 1030, nExc), null, 'N not a multiple of 4: no kernel job');
});

test('training a few steps with 1, 2 and 3 threads gives the same weights byte for byte', async () => {
  await startGemmThreads(3);
  const cfg = defaultModelConfig({ nHidden: 256, nInput: 1, nOutput: 1, head: 'tanh', rule: 'dale' });
  const ds = flipFlopDataset(3, 'train', { n: 256, T: 5 });
  const run = (threads: number): { params: Buffer; used: number; helped: number } => {
    clearWorkspaceCache();
    const before = helperChunks();
    useGemmThreads(threads);
    resetGemmThreadsUsed();
    const r = train({ cfg, params: initParams(cfg, 3), backend: jsBackend, train: ds, epochs: 2, batchSize: 128, seed: 3, lr: 0.01 });
    return { params: bytes(r.params), used: gemmThreadsUsed(), helped: helperChunks() - before };
  };
  const one = run(1);
  assert.equal(one.used, 1);
  for (const threads of [2, 3]) {
    // Until the helpers took part (on a loaded machine the caller may claim every chunk itself).
    let helped = 0;
    for (let attempt = 0; attempt < 10 && helped === 0; attempt++) {
      const r = run(threads);
      assert.equal(r.used, threads, `products split over ${threads} threads`);
      assert.ok(r.params.equals(one.params), `weights after training with ${threads} threads differ from 1 thread (attempt ${attempt})`);
      helped = r.helped;
    }
    assert.ok(helped > 0, `helper threads computed no chunk with ${threads} threads in 10 runs`);
  }
  useGemmThreads(1);
});

test('fine-tuning a pruned model (weight-sparse products, masked gradient) with 1, 2 and 3 threads gives the same weights byte for byte', async () => {
  await startGemmThreads(3);
  // Large enough for the sparse products to split: 6 % of [1024, 1024] kept, batch 200.
  const N = 1024, B = 200, T = 4;
  const cfg = defaultModelConfig({ nHidden: N, nInput: 2, nOutput: 2, head: 'linear', rule: 'dale', threshold: 0.05 });
  const rng = new Rng(14, 'test:finetune-threads');
  const recurrent = new Float32Array(N * N);
  for (let i = 0; i < recurrent.length; i++) recurrent[i] = rng.uniform() < 0.06 ? 1 : 0;
  const init = initParams(cfg, 14);
  for (let i = 0; i < init.wHh.length; i++) init.wHh[i] *= 3 * recurrent[i];
  const n = 2 * B;
  const x = rng.fillUniform(new Float32Array(n * T * 2), -1, 1), target = rng.fillUniform(new Float32Array(n * T * 2), -1, 1);
  const ds = new ArrayDataset(n, T, 2, 2, x, target);
  const run = (threads: number): { params: Buffer; helped: number; pruned: number } => {
    clearWorkspaceCache();
    resetActivityCounts();
    useGemmThreads(threads);
    const before = helperChunks();
    const r = train({ cfg, params: init, backend: jsBackend, train: ds, epochs: 2, batchSize: B, seed: 14, lr: 0.01, masks: { recurrent } });
    return { params: bytes(r.params), helped: helperChunks() - before, pruned: activityProducts().pruned };
  };
  const one = run(1);
  assert.ok(one.pruned > 0, 'the products are restricted to the active units');
  for (const threads of [2, 3]) {
    let helped = 0;
    for (let attempt = 0; attempt < 10 && helped === 0; attempt++) {
      const r = run(threads);
      assert.ok(r.params.equals(one.params), `weights after fine-tuning with ${threads} threads differ from 1 thread (attempt ${attempt})`);
      assert.ok(r.pruned > 0);
      helped = r.helped;
    }
    assert.ok(helped > 0, `helper threads computed no chunk with ${threads} threads in 10 runs`);
  }
  useGemmThreads(1);
});

/** A shared kernel memory with room for the operands and 2 helpers' scratch. */
function sharedKernels(floats: number, arithmetic: Arithmetic): SimdGemm {
  const k = new SimdGemm(floats + 3 * 200_000, gemmNT, true, { shared: true, arithmetic });
  for (let w = 0; w < 2; w++) k.helperScratch.push(k.alloc(200_000));
  return k;
}

// Each arithmetic the kernels have here: the helpers compute in the owner's, whatever their default.
for (const arith of fmaSupported() ? (['fma', 'mul-add'] as const) : (['mul-add'] as const)) for (const [kind, M, Nc, K] of [['nt', 203, 1030, 45], ['nt', 2001, 50, 101], ['tn', 1030, 203, 45], ['tn', 2001, 50, 101]] as const) {
  test(`parallelGemm ${kind} ${M}x${Nc}x${K} (odd edges, ${Nc >= 96 ? 'column' : 'row'} chunks, ${arith}): same bits as one thread, set and accumulate`, async () => {
    const [ra, ca] = kind === 'nt' ? [M, K] : [K, M];
    const [rb, cb] = kind === 'nt' ? [Nc, K] : [K, Nc];
    assert.ok(M * Nc * K >= PARALLEL_MIN_MACS);
    await startGemmThreads(3);
    const k = sharedKernels(ra * ca + rb * cb + 2 * M * Nc + 64, arith);
    const rng = new Rng(7, `test:${kind}`);
    const A = k.alloc(ra * ca + 3);
    const Bm = k.alloc(rb * cb + 5);
    for (let i = 0; i < A.length; i++) A[i] = rng.normal();
    for (let i = 0; i < Bm.length; i++) Bm[i] = rng.normal();
    const C1 = k.alloc(M * Nc);
    const C3 = k.alloc(M * Nc);
    const same = (): boolean => Buffer.from(C1.buffer, C1.byteOffset, C1.byteLength).equals(Buffer.from(C3.buffer, C3.byteOffset, C3.byteLength));
    for (const acc of [false, true]) {
      // Until the helpers took part (on a loaded machine the caller may claim every chunk itself).
      const before = helperChunks();
      for (let attempt = 0; attempt < 50 && helperChunks() === before; attempt++) {
        for (let i = 0; i < C1.length; i++) C1[i] = C3[i] = i % 7;
        useGemmThreads(1);
        parallelGemm(k, kind, M, Nc, K, A, 3, ca, Bm, 5, cb, C1, 0, Nc, acc);
        useGemmThreads(3);
        resetGemmThreadsUsed();
        parallelGemm(k, kind, M, Nc, K, A, 3, ca, Bm, 5, cb, C3, 0, Nc, acc);
        assert.equal(gemmThreadsUsed(), 3);
        assert.ok(same(), `acc=${acc}, attempt ${attempt}`);
      }
      assert.ok(helperChunks() > before, 'the helpers never computed a chunk');
    }
    useGemmThreads(1);
  });
}

test('parallelGemm with work beside it: the helpers compute the product while the caller works; same bits; the work\'s error after the product; no job from the work', async () => {
  await startGemmThreads(3);
  // The CelltypeRNN's per-step readout: too small to split, large enough to hand over.
  const M = 200, Nc = 20, K = 1440;
  assert.ok(M * Nc * K < PARALLEL_MIN_MACS && M * Nc * K >= BESIDE_MIN_MACS);
  const k = sharedKernels(M * K + Nc * K + 2 * M * Nc + 64, kernelArithmetic());
  const rng = new Rng(8, 'test:beside');
  const A = k.alloc(M * K), Bm = k.alloc(Nc * K), C1 = k.alloc(M * Nc), C3 = k.alloc(M * Nc);
  for (let i = 0; i < A.length; i++) A[i] = rng.normal();
  for (let i = 0; i < Bm.length; i++) Bm[i] = rng.normal();
  const f32 = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const product = (C: Float32Array, beside: () => void): void => parallelGemm(k, 'nt', M, Nc, K, A, 0, K, Bm, 0, K, C, 0, Nc, false, beside);
  useGemmThreads(1);
  parallelGemm(k, 'nt', M, Nc, K, A, 0, K, Bm, 0, K, C1, 0, Nc, false);
  // Without helpers: the product, then the work.
  const order: string[] = [];
  product(C3, () => order.push(f32(C3).equals(f32(C1)) ? 'work after the product' : 'work before the product'));
  assert.deepEqual(order, ['work after the product']);

  useGemmThreads(3);
  // Work that outlasts the product (2 ms): the helpers compute it (on a loaded machine the caller takes what is left).
  const before = helperChunks();
  for (let attempt = 0; attempt < 50 && helperChunks() === before; attempt++) {
    C3.fill(0);
    let worked = 0;
    resetGemmThreadsUsed();
    product(C3, () => {
      const t0 = performance.now();
      while (performance.now() - t0 < 2) worked++;
    });
    assert.ok(worked > 0);
    assert.equal(gemmThreadsUsed(), 3);
    assert.ok(f32(C3).equals(f32(C1)), `attempt ${attempt}: the product differs from one thread's`);
  }
  assert.ok(helperChunks() > before, 'the helpers never computed a chunk');

  // The work throws: its error comes once the product is complete.
  C3.fill(0);
  assert.throws(() => product(C3, () => { throw new RangeError('the work failed'); }), /the work failed/);
  assert.ok(f32(C3).equals(f32(C1)), 'the product is complete when the work\'s error arrives');
  // The work posts a job of its own: refused (one job on the board at a time), the product still complete.
  C3.fill(0);
  const C2 = k.alloc(M * Nc);
  assert.throws(() => product(C3, () => product(C2, () => undefined)), /started by the work run beside another one/);
  assert.ok(f32(C3).equals(f32(C1)));
  // Later products work.
  product(C2, () => undefined);
  assert.ok(f32(C2).equals(f32(C1)));
  useGemmThreads(1);
});

test('the elementwise passes (act, bwd) split over 3 threads by rows give the direct call\'s bits', async () => {
  await startGemmThreads(3);
  const rows = 37, N = 40, nOut = 5, dzS = 8;
  const k = sharedKernels(8 * rows * N + rows * dzS + nOut * N + 64, kernelArithmetic());
  const rng = new Rng(11, 'test:elementwise');
  const fill = (n: number): Float32Array => { const x = k.alloc(n); for (let i = 0; i < n; i++) x[i] = rng.normal(); return x; };
  const pre = fill(rows * N);
  const a1 = k.alloc(rows * N), r1 = k.alloc(rows * N), a3 = k.alloc(rows * N), r3 = k.alloc(rows * N);
  const bytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const dr = fill(rows * N), dz = fill(rows * dzS), w = fill(nOut * N);
  const d1 = k.alloc(rows * N), d3 = k.alloc(rows * N);
  const before = helperChunks();
  for (let attempt = 0; attempt < 50 && helperChunks() === before; attempt++) {
    a1.set(pre); a3.set(pre);
    assert.equal(k.act(a1, r1, 0, rows * N, 0.1, true), rows * N);
    useGemmThreads(3);
    parallelKernel(k, k.actJob(a3, r3, 0, rows, N, 0.1, true), 1e12);
    assert.ok(bytes(a1).equals(bytes(a3)) && bytes(r1).equals(bytes(r3)), `act, attempt ${attempt}`);
    assert.equal(k.bwd(d1, pre, 0, dr, dz, 0, dzS, w, rows, N, nOut, 0.1, true, true, true, 1e-3), true);
    parallelKernel(k, k.bwdJob(d3, pre, 0, dr, dz, 0, dzS, w, rows, N, nOut, 0.1, true, true, true, 1e-3), 1e12);
    assert.ok(bytes(d1).equals(bytes(d3)), `bwd, attempt ${attempt}`);
    useGemmThreads(1);
  }
  assert.ok(helperChunks() > before, 'the helpers never computed a chunk');
});

test('activity-sparse products split over 1, 2 and 3 threads give the dense single-thread bits', async () => {
  await startGemmThreads(3);
  // (nInput 4, nOutput 16: the input product, the per-step readout and the readout gradient are
  // large enough to run beside the caller's serial work, parallelGemm's `beside`)
  const N = 512, B = 64, T = 5, nIn = 4, nOut = 16;
  assert.ok(B * nOut * N >= BESIDE_MIN_MACS && T * B * N * (nIn + 1) >= BESIDE_MIN_MACS);
  const cfg = defaultModelConfig({ nHidden: N, nInput: nIn, nOutput: nOut, head: 'linear', rule: 'dale', threshold: 0.05 });
  const params = initParams(cfg, 5);
  for (let i = 0; i < params.wHh.length; i++) params.wHh[i] *= 3;
  const rng = new Rng(5, 'test:activity-threads');
  const batch = { B, T, x: rng.fillUniform(new Float32Array(B * T * nIn), -1, 1), target: rng.fillUniform(new Float32Array(B * T * nOut), -1, 1) };
  const run = (threads: number, mode: 'never' | 'always'): { g: Buffer; helped: number } => {
    clearWorkspaceCache();
    setActivityMode(mode);
    useGemmThreads(threads);
    const before = helperChunks();
    const g = zerosLike(params);
    jsBackend.lossAndGrad(cfg, params, batch, g);
    setActivityMode('auto');
    return { g: bytes(g), helped: helperChunks() - before };
  };
  const dense = run(1, 'never');
  for (const threads of [1, 2, 3]) {
    resetActivityCounts();
    let helped = 0;
    for (let attempt = 0; attempt < 10 && (threads === 1 || helped === 0); attempt++) {
      const r = run(threads, 'always');
      assert.ok(r.g.equals(dense.g), `gradients with ${threads} threads differ from the dense single-thread ones`);
      helped = r.helped;
    }
    assert.ok(activityProducts().forward > 0);
    if (threads > 1) assert.ok(helped > 0, `helper threads computed no chunk with ${threads} threads`);
  }
  useGemmThreads(1);
});

test('a block that fails (out of bounds) or a helper that exits surfaces as GemmThreadError; later products work', async () => {
  const M = 64;
  const Nc = 512;
  const K = 256;
  const k = sharedKernels(M * K + Nc * K + 64, kernelArithmetic());
  const A = k.alloc(M * K);
  const Bm = k.alloc(Nc * K);
  const whole = k.wholeView()!;
  A.fill(1);
  Bm.fill(1);
  useGemmThreads(2);
  // C's last row ends past the memory: the chunks of its last columns fail (on whichever thread claims them).
  const cOff = whole.length - (M - 1) * Nc - Nc / 2;
  assert.throws(() => parallelGemm(k, 'nt', M, Nc, K, A, 0, K, Bm, 0, K, whole, cOff, Nc, false), (e: Error) => e instanceof GemmThreadError && /failed.*RuntimeError/.test(e.message));
  assert.equal(liveGemmThreads(), 0, 'helpers stopped after the failure');
  const C = k.alloc(M * Nc);
  parallelGemm(k, 'nt', M, Nc, K, A, 0, K, Bm, 0, K, C, 0, Nc, false);
  assert.equal(C[M * Nc - 1], K);

  simulateHelperExit(1);
  // The helper exits when it next wakes up (within 250 ms); products before that still succeed.
  let caught: unknown = null;
  for (let i = 0; i < 100 && caught === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      parallelGemm(k, 'nt', M, Nc, K, A, 0, K, Bm, 0, K, C, 0, Nc, false);
      assert.equal(C[M * Nc - 1], K);
    } catch (err) {
      caught = err;
    }
  }
  assert.ok(caught instanceof GemmThreadError && /helper thread 1 (has )?exited/.test(caught.message), String(caught));
  assert.equal(liveGemmThreads(), 0, 'helpers stopped after the exit');
  parallelGemm(k, 'nt', M, Nc, K, A, 0, K, Bm, 0, K, C, 0, Nc, false);
  assert.equal(liveGemmThreads(), 1);
  await shutdownGemmThreads();
  assert.equal(liveGemmThreads(), 0);
  useGemmThreads(1);
});

test('DALESWEEP_THREADS caps the threads and must be a positive integer', () => {
  const old = process.env.DALESWEEP_THREADS;
  try {
    process.env.DALESWEEP_THREADS = '2';
    assert.equal(gemmThreadCap(), 2);
    process.env.DALESWEEP_THREADS = 'two';
    assert.throws(() => gemmThreadCap(), (e: Error) => e instanceof ThreadCountError && /DALESWEEP_THREADS must be a positive integer/.test(e.message));
  } finally {
    process.env.DALESWEEP_THREADS = old;
  }
});

test('helper threads never keep the process alive (a script that never shuts them down still exits)', () => {
  const url = new URL('./parallel-gemm.js', import.meta.url).href;
  const simd = new URL('./model-js-simd.js', import.meta.url).href;
  const js = new URL('./model-js.js', import.meta.url).href;
  const script = `
    const { parallelGemm, useGemmThreads, liveGemmThreads } = await import(${JSON.stringify(url)});
    const { SimdGemm } = await import(${JSON.stringify(simd)});
    const { gemmNT } = await import(${JSON.stringify(js)});
    const k = new SimdGemm(2_000_000, gemmNT, true, { shared: true });
    k.helperScratch.push(k.alloc(200_000));
    const A = k.alloc(64 * 256).fill(1), B = k.alloc(512 * 256).fill(1), C = k.alloc(64 * 512);
    useGemmThreads(2);
    parallelGemm(k, 'nt', 64, 512, 256, A, 0, 256, B, 0, 256, C, 0, 512, false);
    console.log(liveGemmThreads(), C[0]);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, `the process did not exit by itself (${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1 256');
});
