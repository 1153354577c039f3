/**
 * A helper thread of rnn/parallel-gemm.ts. It waits for a new job on the shared board
 * (rnn/gemm-job.ts, `Atomics.wait` on `seq`), binds the SIMD kernels to the shared memory the
 * caller last sent on its port (and the update kernels to the last update memory sent), and
 * claims and computes chunks of the product (or update) until none is left,
 * counting each in `done` (`Atomics.notify`). A chunk that throws is counted too, with `error` set
 * and its message on the port; when the thread exits for any reason it sets `exited[index]`, so
 * the caller never waits for a dead helper.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { B, awaitChange, claim, isUpdateJob, runChunk, runUpdateChunk } from './gemm-job.js';
import { SimdGemm, type Arithmetic } from './model-js-simd.js';
import type { WasmMemory } from './wasm-asm.js';
import { UpdateMemory } from './update-kernels.js';
import { gemmNT } from './model-js.js';

const { board, index, port } = workerData as { board: Int32Array; index: number; port: MessagePort };

process.on('exit', () => {
  Atomics.store(board, B.exited + index, 1);
  Atomics.notify(board, B.done);
});

let k: SimdGemm | null = null;
let u: UpdateMemory | null = null;
let F: Float32Array = new Float32Array(0);
let seen = -1; // join the job in flight, if any
let worked = false;
Atomics.store(board, B.ready + index, 1);
for (;;) {
  // With a timeout: the exit requests (crash flag) and termination take effect between waits.
  // Polling first only after a job of its own (`worked`): an idle helper just sleeps.
  if (worked) awaitChange(board, B.seq, seen, 250);
  else Atomics.wait(board, B.seq, seen, 250);
  worked = false;
  const crash = Atomics.load(board, B.crash + index);
  if (crash === 2) break;
  if (crash === 1) process.exit(3);
  const g = Atomics.load(board, B.seq);
  if (g === seen) continue;
  seen = g;
  // The memory (and scratch block) to bind to: the last one the caller sent.
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message as { memory: WasmMemory; scratch: { byteOffset: number; floats: number }; arithmetic: Arithmetic } | { update: WasmMemory };
    if ('update' in msg) u = UpdateMemory.attach(msg.update);
    else {
      k = new SimdGemm(0, gemmNT, true, { attach: msg });
      F = k.wholeView()!;
    }
  }
  const update = isUpdateJob(board);
  if (index >= Atomics.load(board, B.workers) || (update ? u === null : k === null)) continue;
  for (let i = claim(board, g); i >= 0; i = claim(board, g)) {
    try {
      if (update) runUpdateChunk(board, u!, i);
      else runChunk(board, k!, F, i);
    } catch (err) {
      const e = err as Error;
      port.postMessage(`${e.name}: ${e.message}`);
      Atomics.compareExchange(board, B.error, 0, 1 + index);
      Atomics.add(board, B.done, 1);
      Atomics.notify(board, B.done);
      break;
    }
    worked = true;
    Atomics.add(board, B.chunksDone + index, 1);
    Atomics.add(board, B.done, 1);
    Atomics.notify(board, B.done);
  }
}
port.close();
