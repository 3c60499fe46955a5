import type * as tf from '@tensorflow/tfjs-core';

/**
 * One time step of a cell as tfjs ops, on [B, ·] tensors. The math, the cache layout and the
 * meaning of every gradient are those of the cell's recipe (CellSpec.program; see
 * program-ops.ts); only the arithmetic moves to tfjs. Call inside tf.tidy.
 */
export interface StepIn {
  /** This step's input projection, biases included: [B, gx·H]. */
  p: tf.Tensor2D;
  /** Recurrent projection h_prev @ wh + bh: [B, gr·H], null for cells without one. */
  r: tf.Tensor2D | null;
  /** Pointwise parameters [npw·H], null when npw = 0. */
  pw: tf.Tensor1D | null;
  h: tf.Tensor2D;
  c: tf.Tensor2D | null;
}

export interface StepOut {
  h: tf.Tensor2D;
  c: tf.Tensor2D | null;
  /** [B, cacheWidth·H], laid out as core's cell caches. */
  cache: tf.Tensor2D;
}

export interface StepGradIn {
  /** Total gradient reaching h_t (dOut[t] + the carry). */
  g: tf.Tensor2D;
  /** Gradient reaching c_t (LSTM), else null. */
  dc: tf.Tensor2D | null;
  cache: tf.Tensor2D;
  /** The state this step consumed. */
  h: tf.Tensor2D;
  c: tf.Tensor2D | null;
  pw: tf.Tensor1D | null;
}

/** Every tensor a new one (dP and dR included, which callers write to different buffers). */
export interface StepGradOut {
  dP: tf.Tensor2D;
  dR: tf.Tensor2D | null;
  /** Pointwise part of dL/dh_{t-1} (null: zero); the caller adds dR @ whᵀ. */
  dh: tf.Tensor2D | null;
  dc: tf.Tensor2D | null;
  /** This step's contribution to the pointwise parameters' gradient, [npw·H]. */
  dPw: tf.Tensor1D | null;
}

export interface TfCellMath {
  forward(s: StepIn): StepOut;
  backward(s: StepGradIn): StepGradOut;
}
