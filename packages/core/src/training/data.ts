import { InputError } from '../backend/errors.js';
import { hostView, type TensorInput } from '../params/foreign-tensor.js';
import { checkTensor, type TensorLike } from '../params/validate.js';

/** One batch, batch-first: x [B, …] and y [B, …]. */
export interface Batch {
  x: TensorLike;
  y: TensorLike;
}

/** Inputs and targets held whole, batch-first: x [N, …] and y [N, …]; tf.Tensors too (see TensorInput). */
export interface TensorPair {
  x: TensorInput;
  y: TensorInput;
}

/**
 * A dataset that makes any batch on demand from the samples' indices (0..size−1). The datasets
 * of `@bistable/tasks` (CopyFirstInput, BinaryAddition) are such datasets: nothing is held in
 * memory, and a sample depends only on its index, so a resumed run sees the same data.
 */
export interface IndexedDataset {
  readonly size: number;
  batch(indices: number[]): Batch;
}

/** What `fit` trains on or validates with. */
export type FitData = TensorPair | IndexedDataset;

/** A dataset with the batch as typed indices go in (tensors are sliced without a copy to number[]). */
export interface BatchSource {
  readonly size: number;
  batch(indices: Uint32Array): Batch;
}

function isDataset(d: object): d is IndexedDataset {
  return typeof (d as IndexedDataset).batch === 'function';
}

/**
 * `data` as a source of batches, checked once up front: a pair's tensors whole (shapes, values,
 * equal sample counts), a dataset's size. `name` says which argument is wrong.
 */
export function batchSource(name: string, data: unknown): BatchSource {
  if (!data || typeof data !== 'object') {
    throw new InputError(`${name} must be {x, y} tensors or a dataset {size, batch(indices)}`);
  }
  if (isDataset(data)) {
    const { size } = data;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new InputError(`${name}.size must be a positive integer, got ${String(size)}`);
    }
    return { size, batch: (idx) => data.batch(Array.from(idx)) };
  }
  const pair = data as { x?: TensorInput; y?: TensorInput };
  if (pair.x === undefined || pair.y === undefined) {
    throw new InputError(`${name} must be {x, y} tensors or a dataset {size, batch(indices)}`);
  }
  // a tf.Tensor's values are copied out once, here, not per batch
  const x = hostView(`${name}.x`, pair.x);
  const y = hostView(`${name}.y`, pair.y);
  const anyShape = (t: TensorLike | undefined) => (Array.isArray(t?.shape) ? t.shape.map(() => -1) : []);
  checkTensor(`${name}.x`, x, anyShape(x));
  checkTensor(`${name}.y`, y, anyShape(y));
  if (x.shape.length === 0 || y.shape.length === 0) {
    throw new InputError(`${name}.x and ${name}.y need a leading sample dimension; got a scalar`);
  }
  const n = x.shape[0];
  if (y.shape[0] !== n) {
    throw new InputError(
      `${name}.x holds ${n} samples but ${name}.y holds ${y.shape[0]} (their first dimensions must agree)`,
    );
  }
  if (n < 1) throw new InputError(`${name} holds no samples`);
  return { size: n, batch: (idx) => ({ x: rows(x, idx), y: rows(y, idx) }) };
}

/** The rows `idx` of a batch-first tensor, in that order, in the tensor's own array type. */
function rows(t: TensorLike, idx: Uint32Array): TensorLike {
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const src = t.data;
  const out =
    src instanceof Float32Array ? new Float32Array(idx.length * width) : new Float64Array(idx.length * width);
  for (let r = 0; r < idx.length; r++) {
    const from = idx[r] * width;
    if (src instanceof Float32Array || src instanceof Float64Array) {
      out.set(src.subarray(from, from + width), r * width);
    } else {
      for (let j = 0; j < width; j++) out[r * width + j] = src[from + j];
    }
  }
  return { shape: [idx.length, ...t.shape.slice(1)], data: out };
}
