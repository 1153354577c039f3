/**
 * The data-provider contract of the training loop ({@link Dataset}) and an in-memory
 * implementation ({@link ArrayDataset}). Tasks (flip-flop, wave, sequential MNIST, cell-type)
 * implement {@link Dataset} so that batches can be assembled lazily from sample indices.
 */
import type { Batch } from './types.js';

/**
 * A finite set of `n` sequences of length `T`. Sample `i` is addressed by its index in
 * `[0, n)`; the training loop draws batches by passing index lists in a shuffled order.
 */
export interface Dataset {
  /** Number of samples. */
  readonly n: number;
  /** Sequence length (time steps). */
  readonly T: number;
  /** Input dimension per step. */
  readonly nIn: number;
  /**
   * Output dimension per step for per-step heads (`linear`, `tanh`, `wave-ei`), or the number of
   * classes for `softmax-last`.
   */
  readonly nOut: number;
  /**
   * True when samples carry a class label (`softmax-last`): batches then have `labels` [B] and an
   * empty `target`. False when batches carry per-step targets [B, T, nOut].
   */
  readonly classification: boolean;
  /**
   * Assemble the batch of the given sample indices, in that order: x [B, T, nIn] and either
   * target [B, T, nOut] or labels [B]. When `out` is given and has B = indices.length, its
   * buffers are overwritten and it is returned (no allocation); otherwise a new batch is made.
   */
  batch(indices: ArrayLike<number>, out?: Batch): Batch;
}

/** Thrown when dataset arrays do not have the shapes they claim. */
export class DatasetShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetShapeError';
  }
}

/** Allocate an empty batch of `B` samples with the dataset's shapes. */
export function allocBatch(ds: Dataset, B: number): Batch {
  const batch: Batch = {
    B,
    T: ds.T,
    x: new Float32Array(B * ds.T * ds.nIn),
    target: ds.classification ? new Float32Array(0) : new Float32Array(B * ds.T * ds.nOut),
  };
  if (ds.classification) batch.labels = new Int32Array(B);
  return batch;
}

/**
 * In-memory dataset from whole arrays: x [n, T, nIn] and either targets [n, T, nOut]
 * (per-step heads) or labels [n] (classification with `nOut` classes).
 */
export class ArrayDataset implements Dataset {
  readonly classification: boolean;

  /**
   * @param n samples
   * @param T steps
   * @param nIn inputs per step
   * @param nOut outputs per step, or number of classes when `labels` is given
   * @param x inputs, [n, T, nIn] row-major
   * @param target per-step targets [n, T, nOut], or null with `labels`
   * @param labels class indices [n] in [0, nOut), or undefined for per-step targets
   */
  constructor(
    readonly n: number,
    readonly T: number,
    readonly nIn: number,
    readonly nOut: number,
    readonly x: Float32Array,
    readonly target: Float32Array | null,
    readonly labels?: Int32Array,
  ) {
    this.classification = labels !== undefined;
    if (x.length !== n * T * nIn) {
      throw new DatasetShapeError(`x has length ${x.length}, expected n*T*nIn = ${n * T * nIn}`);
    }
    if (labels !== undefined) {
      if (labels.length !== n) throw new DatasetShapeError(`labels has length ${labels.length}, expected n = ${n}`);
    } else if (target === null || target.length !== n * T * nOut) {
      throw new DatasetShapeError(
        `target has length ${target?.length ?? 'null'}, expected n*T*nOut = ${n * T * nOut}`,
      );
    }
  }

  batch(indices: ArrayLike<number>, out?: Batch): Batch {
    const B = indices.length;
    const b = out !== undefined && out.B === B && out.T === this.T ? out : allocBatch(this, B);
    const sx = this.T * this.nIn;
    const sy = this.T * this.nOut;
    for (let k = 0; k < B; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.n)) throw new RangeError(`sample index ${i} outside [0, ${this.n})`);
      b.x.set(this.x.subarray(i * sx, (i + 1) * sx), k * sx);
      if (this.labels !== undefined) b.labels![k] = this.labels[i];
      else b.target.set(this.target!.subarray(i * sy, (i + 1) * sy), k * sy);
    }
    return b;
  }
}
