import type { DeviceBuffer, DType } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { activeHas, runHost } from './kernels/host-kernels.js';
import { SCATTER_2D, VIEW_2D } from './kernels/strided.js';

/**
 * The tfjs side of a bistable backend that a buffer needs: which tfjs backend its tensors live on,
 * and a way to make that backend the active one before any op runs (tfjs has one active backend).
 */
export interface TensorOwner {
  readonly name: string;
  readonly tfName: string;
  activate(): void;
  /** Called when a buffer is disposed, so the owner stops tracking it. */
  release(buf: TfjsBuffer): void;
}

/**
 * A flat float32 buffer held as a 1-D tensor on one tfjs backend. tfjs tensors are immutable,
 * so a write through tfjs ops replaces `tensor` with a new one and disposes the old (tfjs-webgpu's
 * WGSL kernels and `write` change the device buffer in place instead, but may still swap the
 * tensor to copy on write): holders of a buffer always read `buf.tensor` afresh, never keep the
 * tensor itself across calls.
 */
export class TfjsBuffer implements DeviceBuffer {
  readonly dtype: DType = 'float32';
  readonly length: number;
  private t: tf.Tensor1D | null;

  constructor(
    readonly owner: TensorOwner,
    tensor: tf.Tensor1D,
  ) {
    this.t = tensor;
    this.length = tensor.size;
  }

  get disposed(): boolean {
    return this.t === null;
  }

  get tensor(): tf.Tensor1D {
    if (!this.t) throw new Error(`a buffer of backend '${this.owner.name}' was used after dispose`);
    return this.t;
  }

  /** Takes ownership of `next` (same length) and disposes the previous tensor. */
  replace(next: tf.Tensor): void {
    const prev = this.tensor;
    if (next.size !== prev.size) {
      throw new Error(`internal: replacing a buffer of ${prev.size} values with ${next.size}`);
    }
    const flat =
      next.rank === 1 ? (next as tf.Tensor1D) : tf.tidy(() => tf.reshape(next, [next.size]) as tf.Tensor1D);
    if (flat !== next) next.dispose();
    if (flat !== prev) prev.dispose();
    // survives any tf.tidy the caller may be inside: the buffer owns it now
    this.t = tf.keep(flat);
  }

  dispose(): void {
    if (!this.t) return;
    this.t.dispose();
    this.t = null;
    this.owner.release(this);
  }
}

/** The tfjs buffer behind a device buffer; any other buffer is a caller bug. */
export function tfjsBuffer(buf: DeviceBuffer): TfjsBuffer {
  if (!(buf instanceof TfjsBuffer)) throw new TypeError('buffer does not belong to a tfjs backend');
  return buf;
}

/** The tensor behind a device buffer. */
export function tensorOf(buf: DeviceBuffer): tf.Tensor1D {
  return tfjsBuffer(buf).tensor;
}

/**
 * Writes `values` (any shape, `values.size` elements) into `buf` at element `offset`. A write that
 * covers the whole buffer swaps the tensor; a partial one rebuilds it from the untouched slices.
 * Takes ownership of `values`.
 */
export function assign(buf: DeviceBuffer, offset: number, values: tf.Tensor): void {
  const b = tfjsBuffer(buf);
  const len = b.length;
  const n = values.size;
  if (offset < 0 || offset + n > len) {
    values.dispose();
    throw new RangeError(`write of ${n} values at ${offset} overruns a buffer of ${len}`);
  }
  if (n === 0) {
    values.dispose();
    return;
  }
  if (offset === 0 && n === len) {
    b.replace(values);
    return;
  }
  const old = b.tensor;
  const next = tf.tidy(() => {
    const parts: tf.Tensor1D[] = [];
    if (offset > 0) parts.push(tf.slice(old, 0, offset));
    parts.push(tf.reshape(values, [n]) as tf.Tensor1D);
    if (offset + n < len) parts.push(tf.slice(old, offset + n, len - offset - n));
    return tf.concat(parts);
  });
  values.dispose();
  b.replace(next);
}

/**
 * `length` elements of `buf` from `offset`, as a new tensor handle (never the buffer's own tensor,
 * so that handing it to `assign` cannot alias two buffers). Call inside tf.tidy.
 */
export function range(buf: DeviceBuffer, offset: number, length: number): tf.Tensor1D {
  const t = tensorOf(buf);
  if (offset < 0 || offset + length > t.size) {
    throw new RangeError(`read of ${length} values at ${offset} overruns a buffer of ${t.size}`);
  }
  if (offset === 0 && length === t.size) return tf.clone(t);
  // tfjs-wasm's slice copies its whole input first; the strided kernel copies only the range
  if (activeHas(VIEW_2D))
    return tf.reshape(runHost(VIEW_2D, { x: t }, { offset, rows: 1, cols: length, ld: length })[0], [length]);
  return tf.slice(t, offset, length);
}

/**
 * A [rows, cols] matrix stored row-major with leading dimension `ld` from `offset` (BLAS view).
 * Call inside tf.tidy.
 */
export function view2d(
  buf: DeviceBuffer,
  offset: number,
  rows: number,
  cols: number,
  ld: number,
): tf.Tensor2D {
  if (ld === cols) return tf.reshape(range(buf, offset, rows * cols), [rows, cols]);
  const t = tensorOf(buf);
  if (activeHas(VIEW_2D)) {
    if (offset + (rows - 1) * ld + cols > t.size) {
      throw new RangeError(
        `a ${rows}×${cols} view with stride ${ld} at ${offset} overruns a buffer of ${t.size}`,
      );
    }
    return runHost(VIEW_2D, { x: t }, { offset, rows, cols, ld })[0] as tf.Tensor2D;
  }
  const span = (rows - 1) * ld + cols;
  const have = Math.min(rows * ld, t.size - offset);
  if (have < span)
    throw new RangeError(
      `a ${rows}×${cols} view with stride ${ld} at ${offset} overruns a buffer of ${t.size}`,
    );
  let flat: tf.Tensor1D = range(buf, offset, have);
  if (have < rows * ld) flat = tf.pad(flat, [[0, rows * ld - have]]);
  return tf.slice(tf.reshape(flat, [rows, ld]), [0, 0], [rows, cols]) as tf.Tensor2D;
}

/** Writes a [rows, cols] matrix into a strided view of `buf` (see view2d). Takes ownership of `m`. */
export function assign2d(buf: DeviceBuffer, offset: number, m: tf.Tensor2D, ld: number): void {
  const [rows, cols] = m.shape;
  if (ld === cols || rows === 1) {
    assign(buf, offset, m);
    return;
  }
  const t = tensorOf(buf);
  const span = (rows - 1) * ld + cols;
  const have = Math.min(rows * ld, t.size - offset);
  if (have < span) {
    m.dispose();
    throw new RangeError(
      `a ${rows}×${cols} view with stride ${ld} at ${offset} overruns a buffer of ${t.size}`,
    );
  }
  if (activeHas(SCATTER_2D)) {
    const next = runHost(SCATTER_2D, { x: t, m }, { offset, ld })[0];
    m.dispose();
    tfjsBuffer(buf).replace(next);
    return;
  }
  const block = tf.tidy(() => {
    let flat: tf.Tensor1D = range(buf, offset, have);
    if (have < rows * ld) flat = tf.pad(flat, [[0, rows * ld - have]]);
    const full = tf.reshape(flat, [rows, ld]);
    const merged = tf.concat([m, tf.slice(full, [0, cols], [rows, ld - cols])], 1);
    return tf.slice(tf.reshape(merged, [rows * ld]), 0, have);
  });
  m.dispose();
  assign(buf, offset, block);
}

/**
 * tf.tidy with the callback's own return type: tensors it returns (at any depth of an object or
 * array, nulls allowed) survive, every other tensor made inside is disposed.
 */
export function scope<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}
