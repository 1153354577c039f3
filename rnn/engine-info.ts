/**
 * What each backend choice runs on here: whether its engine is installed and loads, the device
 * it computes on, its threads and library versions. Each probe runs in its own child process
 * (`node engine-info.js --probe CHOICE`): tfjs-node and tfjs-node-gpu cannot both load in one
 * process, and a native library that fails to load must not take the caller with it. Used by
 * `dalesweep doctor` and by `dalesweep worker --task-queue gpu`'s start-up check.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BACKEND_CHOICES, createBackend } from './backends.js';
import { PARALLEL_MIN_N, gemmThreadCap } from './parallel-gemm.js';
import type { BackendChoice } from './types.js';

/** The outcome of probing one backend choice. */
export interface EngineProbe {
  backend: BackendChoice;
  /** `ok`: created and ran one op; `missing`: its package is not installed; `failed`: it did not load. */
  status: 'ok' | 'missing' | 'failed';
  /** tfjs engine name (`wasm`, `cpu`, `tensorflow`); `js` for the js backend. */
  engine?: string;
  /** `cpu` or `gpu`. */
  device?: string;
  /** Library behind the engine, e.g. `TensorFlow 2.10.1`. */
  engineVersion?: string;
  /** Threads the engine computes with, as configured (e.g. `intra-op 2, inter-op 2`). */
  threads?: string;
  /** Why it is missing or failed: one line. */
  detail?: string;
}

/** Probe `choice` in this process: create it and run one tiny gradient. */
export async function probeHere(choice: BackendChoice): Promise<EngineProbe> {
  try {
    const be = await createBackend(choice);
    const cfg = { nInput: 1, nHidden: 4, nOutput: 1, nExc: 3, rule: 'dale' as const, head: 'linear' as const, threshold: 0, fidelity: 'corrected' as const };
    const f = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);
    const params = { wIn: f(4, 0.5), bIn: f(4, 0.1), wHh: f(16, 0.2), bHh: f(4, 0), wOut: f(4, 0.3), bOut: f(1, 0) };
    const grads = { wIn: f(4, 0), bIn: f(4, 0), wHh: f(16, 0), bHh: f(4, 0), wOut: f(4, 0), bOut: f(1, 0) };
    const loss = be.lossAndGrad(cfg, params, { B: 1, T: 2, x: new Float32Array([1, -1]), target: new Float32Array([0.5, 0.5]) }, grads).loss;
    if (!Number.isFinite(loss)) return { backend: choice, status: 'failed', detail: `a test gradient gave loss ${loss}` };
    const facts = be.facts?.() ?? {};
    const out: EngineProbe = { backend: choice, status: 'ok', engine: facts.engine ?? 'js', device: facts.device ?? 'cpu', engineVersion: facts.engineVersion ?? 'dalesweep js kernels' };
    if (facts.engine === 'tensorflow') out.threads = facts.threads;
    else if (facts.engine === 'wasm') out.threads = `${(await import('./backend-tfjs.js')).tfjsWasmThreads() ?? 1}`;
    else out.threads = `1 per stage; up to ${gemmThreadCap()} for N >= ${PARALLEL_MIN_N} when cores are idle`;
    return out;
  } catch (err) {
    const e = err as Error;
    const status = e.name === 'TfjsEngineUnavailableError' ? 'missing' : 'failed';
    return { backend: choice, status, detail: `${e.name}: ${String(e.message).split('\n')[0]}` };
  }
}

const execFileP = promisify(execFile);

/**
 * Probe `choice` in a child process of this Node (same environment).
 * @param timeoutMs time the child gets @default 120000
 */
export async function probeEngine(choice: BackendChoice, timeoutMs = 120_000): Promise<EngineProbe> {
  try {
    const { stdout } = await execFileP(process.execPath, [fileURLToPath(import.meta.url), '--probe', choice], { timeout: timeoutMs, maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as EngineProbe;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const last = (e.stderr ?? '').trim().split('\n').pop() || e.message.split('\n')[0];
    return { backend: choice, status: 'failed', detail: `the probe process failed: ${last}` };
  }
}

/** Probe every backend choice, one child process each, in {@link BACKEND_CHOICES} order. */
export async function probeAllEngines(): Promise<EngineProbe[]> {
  const out: EngineProbe[] = [];
  for (const c of BACKEND_CHOICES) out.push(await probeEngine(c));
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--probe') {
  const choice = process.argv[3] as BackendChoice;
  const r = await probeHere(choice);
  process.stdout.write(JSON.stringify(r) + '\n');
}
