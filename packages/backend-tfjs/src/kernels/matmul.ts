import * as tf from '@tensorflow/tfjs-core';

/**
 * tf.matMul with transposes placed where the active backend is fastest. tfjs-wasm's matMul with
 * transposeA or transposeB runs about ten times slower than an explicit tf.transpose followed by
 * a plain product (measured: Aᵀ·B for A [10000,100], B [10000,300] 337 ms vs 29 ms); tfjs-cpu
 * is the other way round (its transpose goes element by element, its matMul takes strides).
 * Call inside tf.tidy.
 */
export function matMulFast(a: tf.Tensor2D, b: tf.Tensor2D, transA = false, transB = false): tf.Tensor2D {
  if (tf.getBackend() === 'wasm') {
    return tf.matMul(transA ? tf.transpose(a) : a, transB ? tf.transpose(b) : b);
  }
  return tf.matMul(a, b, transA, transB);
}

/** Whether a matrix used transposed many times is best transposed once up front. */
export const prefersExplicitTranspose = (): boolean => tf.getBackend() === 'wasm';
