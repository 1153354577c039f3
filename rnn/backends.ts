/**
 * Backend selection: `js` (the hand-written Float32Array kernel of rnn/model-js.ts) or the `tfjs`
 * backend (rnn/backend-tfjs.ts) on the engine the {@link BackendChoice} names. tfjs is loaded only
 * when asked for, so `js` runs never load it.
 */
import type { Backend, BackendChoice, BackendName } from './types.js';
import type { TfjsEngineChoice } from './backend-tfjs.js';

export type { TfjsEngineChoice } from './backend-tfjs.js';

/** Thrown when a backend name is not one of {@link BACKEND_CHOICES}. */
export class BackendNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendNameError';
  }
}

export const BACKEND_NAMES: readonly BackendName[] = ['js', 'tfjs'];

/** Every {@link BackendChoice}, in the order messages list them. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['js', 'tfjs', 'tfjs-cpu', 'tfjs-node', 'tfjs-node-gpu'];

/** The tfjs engine a choice names (undefined for `js`): `tfjs` is the wasm engine. */
export function tfjsEngineOf(choice: BackendChoice): TfjsEngineChoice | undefined {
  switch (choice) {
    case 'js':
      return undefined;
    case 'tfjs':
      return 'wasm';
    case 'tfjs-cpu':
      return 'cpu';
    case 'tfjs-node':
      return 'node';
    case 'tfjs-node-gpu':
      return 'node-gpu';
  }
}

/** Options of {@link createBackend}. */
export interface CreateBackendOptions {
  /**
   * Whether an npm package can be loaded (a test hook for the optional tfjs-node packages).
   * @default Node's module resolution from rnn/backend-tfjs.ts
   */
  isInstalled?: (pkg: string) => boolean;
}

/**
 * The backend `choice` names, on exactly that engine, ready to use. Both compute in float32.
 * @throws BackendNameError when `choice` is not one of {@link BACKEND_CHOICES}
 * @throws TfjsEngineUnavailableError (from rnn/backend-tfjs.ts) for `tfjs-node` / `tfjs-node-gpu`
 *   when that package is not installed (the message names `bash infra/tensorflow.sh install ...`)
 * @throws TfjsEngineError when the tfjs engine fails to initialise, or `tfjs-node-gpu` sees no GPU
 */
export async function createBackend(choice: BackendChoice, opts: CreateBackendOptions = {}): Promise<Backend> {
  if (choice === 'js') {
    const { jsBackend } = await import('./model-js.js');
    return jsBackend;
  }
  if (BACKEND_CHOICES.includes(choice)) {
    const { createTfjsBackend } = await import('./backend-tfjs.js');
    return createTfjsBackend({ engine: tfjsEngineOf(choice), isInstalled: opts.isInstalled });
  }
  throw new BackendNameError(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${String(choice)}'`);
}
