/**
 * The tfjs engines (tfjs "backends": wasm, cpu, and tfjs-node's native `tensorflow`) under the
 * `tfjs` model backend (rnn/backend-tfjs.ts): their names, whether their packages are installed,
 * loading and initialising them (one per process/thread for the native ones), switching between
 * them, and the facts a run records about them (version, device, threads), with the errors each
 * step throws.
 */
import { createRequire } from 'node:module';
import nodeUtil from 'node:util';
import { availableParallelism } from 'node:os';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** tfjs engine (tfjs "backend") names as registered with tfjs-core. */
export type TfjsEngineName = 'wasm' | 'cpu' | 'tensorflow';

/**
 * Which tfjs engine to run on: `wasm` (@tensorflow/tfjs-backend-wasm, SIMD), `cpu`
 * (@tensorflow/tfjs-backend-cpu, plain JS), `node` / `node-gpu` (the optional peer dependencies
 * @tensorflow/tfjs-node / @tensorflow/tfjs-node-gpu: native TensorFlow, installed by
 * `bash infra/tensorflow.sh install cpu|gpu`). There is no automatic choice: a run names its engine.
 */
export type TfjsEngineChoice = 'wasm' | 'cpu' | 'node' | 'node-gpu';
/** Every {@link TfjsEngineChoice}, in the order messages list them. */
export const TFJS_ENGINE_CHOICES: readonly TfjsEngineChoice[] = ['wasm', 'cpu', 'node', 'node-gpu'];

/** npm package of the optional libtensorflow engines. */
export const TFJS_NODE_PACKAGES = { node: '@tensorflow/tfjs-node', 'node-gpu': '@tensorflow/tfjs-node-gpu' } as const;

/** Thrown when a tfjs engine that was asked for by name is not installed. */
export class TfjsEngineUnavailableError extends Error {
  /** The engine asked for. */
  readonly engine: TfjsEngineChoice;
  /** The npm package that provides it. */
  readonly packageName: string;
  constructor(engine: 'node' | 'node-gpu') {
    const pkg = TFJS_NODE_PACKAGES[engine];
    const variant = engine === 'node-gpu' ? 'gpu' : 'cpu';
    super(
      `backend tfjs-${engine} needs ${pkg}, which is not installed: run \`bash infra/tensorflow.sh install ${variant}\` ` +
        `(builds native TensorFlow from the package registries, cached per user), or choose backend js or tfjs`,
    );
    this.name = 'TfjsEngineUnavailableError';
    this.engine = engine;
    this.packageName = pkg;
  }
}

/** Thrown when the tfjs engine cannot be used (not initialised, or not float32). */
export class TfjsEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TfjsEngineError';
  }
}

/**
 * Make `engine` tfjs's current backend. It must already be initialised (see rnn/backends.ts):
 * then tfjs-core's `setBackend` switches synchronously and its promise only reports success.
 * @throws TfjsEngineError when the engine is not initialised
 */
export function activateEngine(engine: TfjsEngineName): void {
  if (tf.getBackend() === engine) return;
  if (!tf.engine().registry[engine]) {
    throw new TfjsEngineError(`tfjs engine '${engine}' is not initialised: create the backend with createBackend('tfjs', ...) first`);
  }
  // Already initialised: Engine.setBackend switches before its first await and resolves true.
  void tf.setBackend(engine);
  if (tf.getBackend() !== engine) throw new TfjsEngineError(`could not switch tfjs to engine '${engine}' (current: ${tf.getBackend()})`);
}

const require_ = createRequire(import.meta.url);

/** True when `pkg` resolves from this module; false only when it is not installed. */
export function isPackageInstalled(pkg: string): boolean {
  try {
    require_.resolve(pkg);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return false;
    throw err;
  }
}

let wasmPathsSet = false;
/** Thread count of the wasm engine once initialised (XNNPACK threads; 1 in Node, see below). */
let wasmThreads: number | undefined;

/**
 * Initialise tfjs-backend-wasm, reading its .wasm binaries from the installed package (offline;
 * works the same in worker threads, where each thread has its own instance). In Node, tfjs 4.x
 * disables the multi-threaded binary (tfjs issue 3830), so it runs the SIMD binary on 1 thread.
 */
async function initWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet && !tf.engine().registry.wasm) {
    wasm.setWasmPaths(dirname(require_.resolve('@tensorflow/tfjs-backend-wasm')) + sep);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new TfjsEngineError('tfjs engine wasm failed to initialise (see the warning tfjs printed above)');
  wasmThreads = wasm.getThreadsCount();
}

/** Threads the wasm engine uses, once initialised. */
export function tfjsWasmThreads(): number | undefined {
  return wasmThreads;
}

/** The tfjs-node package whose `tensorflow` engine this process (thread) loaded, if any. */
let loadedNodePackage: string | undefined;

/** The package of the loaded `tensorflow` engine (tfjs-node or tfjs-node-gpu), if one is loaded. */
export function loadedTensorflowPackage(): string | undefined {
  return loadedNodePackage;
}

/** Whether the loaded `tensorflow` engine places ops on a GPU (TensorFlow lists a GPU device). */
export function tensorflowUsesGpu(): boolean {
  const be = tf.engine().registry.tensorflow as unknown as { isUsingGpuDevice?: boolean } | undefined;
  return be?.isUsingGpuDevice === true;
}

/**
 * Threads native TensorFlow computes with: TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS (read
 * by TensorFlow when its context starts), else all cores. Its results depend on them.
 */
export function tensorflowThreads(env: NodeJS.ProcessEnv = process.env): string {
  const intra = env.TF_NUM_INTRAOP_THREADS;
  const inter = env.TF_NUM_INTEROP_THREADS;
  const d = `${availableParallelism()} (all cores)`;
  return `intra-op ${intra && intra !== '0' ? intra : d}, inter-op ${inter && inter !== '0' ? inter : d}`;
}

/**
 * tfjs-node 4.22 calls `util.isNullOrUndefined` from node:util for every op's attributes; Node 23
 * removed it (DEP0051), so on Node 24 every op would throw "isNullOrUndefined is not a function".
 * Puts back its documented definition (`value === null || value === undefined`) where it is
 * missing, before the package loads; nothing else in node:util is touched.
 */
function restoreUtilIsNullOrUndefined(): void {
  const u = nodeUtil as unknown as Record<string, unknown>;
  if (typeof u.isNullOrUndefined !== 'function') u.isNullOrUndefined = (v: unknown): boolean => v === null || v === undefined;
}

/**
 * Load the libtensorflow binding (`tensorflow` engine) from `pkg`. One process (thread) holds one
 * of tfjs-node and tfjs-node-gpu: they register the same engine name. `node-gpu` must see a GPU
 * device: TensorFlow itself would run on the CPU without one, which would be a silent fallback.
 */
async function initNode(engine: 'node' | 'node-gpu'): Promise<void> {
  const pkg = TFJS_NODE_PACKAGES[engine];
  if (loadedNodePackage !== undefined) {
    if (loadedNodePackage !== pkg) {
      throw new TfjsEngineError(`this process already loaded ${loadedNodePackage}; ${pkg} cannot be loaded beside it (run tfjs-node and tfjs-node-gpu stages in separate workers)`);
    }
    return;
  }
  // TensorFlow's C++ start-up messages (CPU features, oneDNN) go to stderr unless told otherwise.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  restoreUtilIsNullOrUndefined();
  try {
    await import(pkg);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(pkg)) {
      throw new TfjsEngineUnavailableError(engine);
    }
    throw err;
  }
  if (tf.findBackendFactory('tensorflow') === null || tf.findBackendFactory('tensorflow') === undefined) {
    throw new TfjsEngineError(
      `${pkg} loaded but registered no 'tensorflow' engine with this copy of @tensorflow/tfjs-core: ` +
        `install versions that share one @tensorflow/tfjs-core (npm ls @tensorflow/tfjs-core)`,
    );
  }
  if (!(await tf.setBackend('tensorflow'))) throw new TfjsEngineError(`tfjs engine 'tensorflow' of ${pkg} failed to initialise`);
  loadedNodePackage = pkg;
}

/**
 * Thrown for backend tfjs-node-gpu when TensorFlow loads but lists no GPU device (no GPU, or the
 * CUDA / cuDNN libraries not on the library path).
 */
export class NoGpuDeviceError extends TfjsEngineError {
  constructor() {
    super(
      `${TFJS_NODE_PACKAGES['node-gpu']} loaded but TensorFlow sees no GPU device: run on a machine with an NVIDIA GPU, ` +
        `with the CUDA libraries on the library path (bash infra/tensorflow.sh exec gpu -- COMMAND)`,
    );
    this.name = 'NoGpuDeviceError';
  }
}

/**
 * Check that the package of an engine is installed (wasm and cpu always are).
 * @throws TfjsEngineUnavailableError naming the install command
 */
export function checkTfjsEngineInstalled(choice: TfjsEngineChoice, isInstalled: (pkg: string) => boolean = isPackageInstalled): void {
  if ((choice === 'node' || choice === 'node-gpu') && !isInstalled(TFJS_NODE_PACKAGES[choice])) throw new TfjsEngineUnavailableError(choice);
}

/**
 * Load and initialise the tfjs engine `choice` names (once per process/thread) in float32, and
 * return its tfjs-core name. The package must be installed ({@link checkTfjsEngineInstalled}).
 * @throws TfjsEngineUnavailableError when `node` / `node-gpu` cannot be loaded
 * @throws NoGpuDeviceError when `node-gpu` loads but TensorFlow lists no GPU device
 * @throws TfjsEngineError when the engine fails to initialise
 */
export async function initTfjsEngine(choice: TfjsEngineChoice): Promise<TfjsEngineName> {
  // Production mode: no debug checks, and no console advice to install tfjs-node.
  tf.env().set('PROD', true);
  let engine: TfjsEngineName;
  if (choice === 'wasm') {
    if (!tf.engine().registry.wasm) await initWasm();
    engine = 'wasm';
  } else if (choice === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!tf.engine().registry.cpu && !(await tf.setBackend('cpu'))) throw new TfjsEngineError('tfjs engine cpu failed to initialise');
    engine = 'cpu';
  } else {
    await initNode(choice);
    if (choice === 'node-gpu' && !tensorflowUsesGpu()) throw new NoGpuDeviceError();
    engine = 'tensorflow';
  }
  // Only the WebGL engine can store float16; keep it off should one be registered in this process.
  const flags = (tf.env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry;
  if (flags?.WEBGL_FORCE_F16_TEXTURES !== undefined) tf.env().set('WEBGL_FORCE_F16_TEXTURES', false);
  return engine;
}

/**
 * Version of the library behind an initialised tfjs engine, e.g. `TensorFlow 2.10.1`,
 * `tfjs-backend-wasm 4.22.0`.
 */
export function tfjsEngineVersion(engine: TfjsEngineName): string {
  if (engine === 'tensorflow') {
    const be = tf.engine().registry.tensorflow as unknown as { binding?: { TF_Version?: string } } | undefined;
    return `TensorFlow ${be?.binding?.TF_Version ?? 'unknown'}`;
  }
  return `tfjs-backend-${engine} ${tf.version_core}`;
}
