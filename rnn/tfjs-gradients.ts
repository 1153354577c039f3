/**
 * Kernel gradients for tfjs autodiff over the `tfjs` backend's forward pass (rnn/backend-tfjs.ts).
 * The node build of @tensorflow/tfjs-core registers no kernel gradients (the
 * @tensorflow/tfjs union package does, via tfjs-core/dist/register_all_gradients, an ES module
 * that Node cannot load on its own). These are the gradients of the kernels the forward pass
 * uses, registered only where none is registered yet (so tfjs-node's own are kept when loaded).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TfjsEngineError } from './tfjs-engines.js';

/** Sum `dx` over the axes broadcast from `shape` and reshape to it. */
function unbroadcast(dx: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dx.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dx, axes) : dx, shape);
}

/**
 * Aᵀ·B for A [M, K], B [M, N] with untransposed products only: the wasm engine runs those on
 * XNNPACK and transposed ones on a slow generic loop, about 10x slower. Transposes whichever is
 * smaller: A (M·K entries), or B and the [N, K] result (M·N + N·K entries).
 */
function matMulTN(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [M, K] = a.shape as [number, number];
  const N = b.shape[1] as number;
  if (M * K <= M * N + N * K) return tf.matMul(tf.transpose(a), b);
  return tf.transpose(tf.matMul(tf.transpose(b), a));
}

function single(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(dy)) throw new TfjsEngineError('internal: a single-output kernel received several gradients');
  return dy;
}

const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved, attrs) => {
      const dy = single(dyIn);
      const [a, b] = saved;
      if (a.rank !== 2 || b.rank !== 2 || attrs.transposeA === true || attrs.transposeB === true) {
        throw new TfjsEngineError('internal: the BatchMatMul gradient here supports rank-2 untransposed products only');
      }
      return { a: () => tf.matMul(dy, tf.transpose(b)), b: () => matMulTN(a, dy) };
    },
  },
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = single(dyIn);
      return { a: () => unbroadcast(dy, saved[0].shape), b: () => unbroadcast(dy, saved[1].shape) };
    },
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = single(dyIn);
      return { a: () => unbroadcast(dy, saved[0].shape), b: () => unbroadcast(tf.neg(dy), saved[1].shape) };
    },
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = single(dyIn);
      const [a, b] = saved;
      return { a: () => unbroadcast(tf.mul(dy, b), a.shape), b: () => unbroadcast(tf.mul(dy, a), b.shape) };
    },
  },
  {
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dyIn, saved) => {
      const y = saved[0];
      return { x: () => tf.mul(single(dyIn), tf.sub(1, tf.square(y))) };
    },
  },
  {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    // d relu(x)/dx = [x > 0].
    gradFunc: (dyIn, saved) => ({ x: () => tf.mul(single(dyIn), tf.step(saved[0])) }),
  },
  {
    kernelName: 'Step',
    gradFunc: (dyIn) => ({ x: () => tf.zerosLike(single(dyIn)) }),
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dyIn, saved, attrs) => {
      const x = saved[0];
      const shape = x.shape.slice();
      for (const ax of tf.util.parseAxisParam(attrs.axis as number | number[], x.shape)) shape[ax] = 1;
      return { x: () => tf.mul(tf.reshape(single(dyIn), shape), tf.onesLike(x)) };
    },
  },
  {
    kernelName: 'SplitV',
    inputsToSave: ['x'],
    gradFunc: (dyIn, saved, attrs) => {
      const x = saved[0];
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      const parts = Array.isArray(dyIn) ? dyIn : [dyIn];
      const spec = attrs.numOrSizeSplits as number | number[];
      const sizes = Array.isArray(spec) ? spec : new Array<number>(spec).fill(x.shape[axis] / spec);
      return {
        x: () =>
          tf.concat(
            parts.map((d, k) => {
              if (d !== null && d !== undefined) return d;
              const shape = x.shape.slice();
              shape[axis] = sizes[k];
              return tf.zeros(shape);
            }),
            axis,
          ),
      };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dyIn, saved, attrs) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0].shape)[0];
      const pieces = tf.split(single(dyIn), saved.map((t) => t.shape[axis]), axis);
      const out: Record<string, () => tf.Tensor> = {};
      pieces.forEach((p, k) => (out[String(k)] = () => p));
      return out;
    },
  },
];

let gradientsChecked = false;
/** Register the {@link GRADIENTS} whose kernels have no gradient yet (once per process/thread). */
export function ensureGradients(): void {
  if (gradientsChecked) return;
  for (const g of GRADIENTS) if (tf.getGradient(g.kernelName) === undefined) tf.registerGradient(g);
  gradientsChecked = true;
}
