/**
 * A helper thread of rnn/parallel-gemm.ts. It binds the SIMD kernels to the shared memory the
 * caller sends on its port, then loops: wait for a job in the control array (`Atomics.wait`), run
 * that block of a product on the same kernels the caller runs, report done (`Atomics.notify`).
 * A job that throws reports status `error` with its message on the port; when the thread exits for
 * any reason it reports status `exited`, so the caller never waits for a dead helper.
 *
 * Job arguments (Int32, after `attach`): M, Nc, K, aOff, lda, bOff, ldb, cOff, ldc, acc, with the
 * offsets in float32 elements from the start of the shared memory.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { CTL, OPS, STATUS } from './parallel-gemm.js';
import { SimdGemm, type WasmMemory } from './model-js-simd.js';
import { gemmNT } from './model-js.js';

const { ctl, port } = workerData as { ctl: Int32Array; port: MessagePort };

process.on('exit', () => {
  Atomics.store(ctl, CTL.status, STATUS.exited);
  Atomics.notify(ctl, CTL.done);
  Atomics.notify(ctl, CTL.ready);
});

let k: SimdGemm | null = null;
let F: Float32Array = new Float32Array(0);
let seen = 0;
Atomics.store(ctl, CTL.ready, 1);
Atomics.notify(ctl, CTL.ready);
for (;;) {
  // With a timeout: termination (process exit, Worker.terminate) takes effect between waits.
  Atomics.wait(ctl, CTL.seq, seen, 250);
  const seq = Atomics.load(ctl, CTL.seq);
  if (seq === seen) continue;
  seen = seq;
  const op = ctl[CTL.op];
  if (op === OPS.exit) break;
  try {
    if (op === OPS.testExit) process.exit(3);
    const a = CTL.args;
    if (ctl[a] === 1) {
      const msg = receiveMessageOnPort(port)?.message as { memory: WasmMemory; scratch: { byteOffset: number; floats: number } } | undefined;
      if (msg === undefined) throw new Error('no memory to attach to was sent');
      k = new SimdGemm(0, gemmNT, true, { attach: msg });
      F = k.wholeView()!;
    }
    if (k === null) throw new Error('job before any memory was attached');
    const args = [ctl[a + 1], ctl[a + 2], ctl[a + 3], F, ctl[a + 4], ctl[a + 5], F, ctl[a + 6], ctl[a + 7], F, ctl[a + 8], ctl[a + 9], ctl[a + 10] === 1] as const;
    if (op === OPS.nt) k.gemm(...args);
    else if (op === OPS.tn) k.gemmTN(...args);
    else throw new Error(`unknown operation ${op}`);
    Atomics.store(ctl, CTL.status, STATUS.ok);
  } catch (err) {
    const e = err as Error;
    port.postMessage(`${e.name}: ${e.message}`);
    Atomics.store(ctl, CTL.status, STATUS.error);
  }
  Atomics.store(ctl, CTL.done, seq);
  Atomics.notify(ctl, CTL.done);
}
port.close();
