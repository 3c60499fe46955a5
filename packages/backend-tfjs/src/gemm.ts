import type { GemmArgs } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { assign2d, view2d } from './buffer.js';
import { matMulFast } from './kernels/matmul.js';

/**
 * BLAS-style GEMM (see core's GemmArgs) as one tf.matMul on 2-D views of the operands. The result
 * replaces C's block; beta = 0 ignores what C held, NaN included.
 */
export function gemmOnTensors(g: GemmArgs): void {
  const { m, n, k, alpha, beta } = g;
  if (m === 0 || n === 0) return;
  const result = tf.tidy(() => {
    let prod: tf.Tensor2D;
    if (k === 0 || alpha === 0) prod = tf.zeros([m, n]);
    else {
      const a = g.transA ? view2d(g.a, g.aOffset, k, m, g.lda) : view2d(g.a, g.aOffset, m, k, g.lda);
      const b = g.transB ? view2d(g.b, g.bOffset, n, k, g.ldb) : view2d(g.b, g.bOffset, k, n, g.ldb);
      prod = matMulFast(a, b, g.transA, g.transB);
      if (alpha !== 1) prod = tf.mul(prod, alpha);
    }
    if (beta === 0) return prod;
    const c = view2d(g.c, g.cOffset, m, n, g.ldc);
    return tf.add(prod, beta === 1 ? c : tf.mul(c, beta)) as tf.Tensor2D;
  });
  assign2d(g.c, g.cOffset, result, g.ldc);
}
