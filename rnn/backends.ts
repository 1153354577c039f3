/**
 * Backend selection: `js` (the hand-written Float32Array kernel of rnn/model-js.ts) or `tfjs`
 * (rnn/backend-tfjs.ts on a tfjs engine). tfjs is loaded only when asked for, so `js` runs never
 * load it.
 */
import type { Backend, BackendName } from './types.js';
import type { TfjsEngineChoice } from './backend-tfjs.js';

export type { TfjsEngineChoice } from './backend-tfjs.js';

/** Thrown when a backend name is not one of {@link BACKEND_NAMES}. */
export class BackendNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendNameError';
  }
}

export const BACKEND_NAMES: readonly BackendName[] = ['js', 'tfjs'];

/** Options of {@link createBackend}. */
export interface CreateBackendOptions {
  /**
   * tfjs engine for the `tfjs` backend: `auto` takes @tensorflow/tfjs-node-gpu if installed, else
   * @tensorflow/tfjs-node if installed, else @tensorflow/tfjs-backend-wasm; `cpu` is tfjs's plain
   * JavaScript engine. Ignored for `js`.
   * @default 'auto'
   */
  tfjsBackend?: TfjsEngineChoice;
  /**
   * Whether an npm package can be loaded (a test hook for the optional tfjs-node packages).
   * @default Node's module resolution from rnn/backend-tfjs.ts
   */
  isInstalled?: (pkg: string) => boolean;
}

/**
 * The backend named `name`, ready to use. Both compute in float32.
 * @throws BackendNameError when `name` is not `js` or `tfjs`
 * @throws TfjsEngineUnavailableError (from rnn/backend-tfjs.ts) when tfjsBackend is `node` or
 *   `node-gpu` and that package is not installed
 * @throws TfjsEngineError when the tfjs engine fails to initialise
 */
export async function createBackend(name: BackendName, opts: CreateBackendOptions = {}): Promise<Backend> {
  if (name === 'js') {
    const { jsBackend } = await import('./model-js.js');
    return jsBackend;
  }
  if (name === 'tfjs') {
    const { createTfjsBackend } = await import('./backend-tfjs.js');
    return createTfjsBackend({ engine: opts.tfjsBackend ?? 'auto', isInstalled: opts.isInstalled });
  }
  throw new BackendNameError(`backend must be one of ${BACKEND_NAMES.join(', ')}, got '${String(name)}'`);
}
