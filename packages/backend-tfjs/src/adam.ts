import type { AdamArgs } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { assign, tensorOf } from './buffer.js';

/**
 * torch's Adam (core's adamHost) as tfjs ops: the moments and the parameter never leave the
 * backend. Same order of operations as adamHost, in float32.
 */
export function adamOnTensors(a: AdamArgs): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = a;
  const bc1 = 1 - beta1 ** step;
  const bc2sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / bc1;
  const [param, m, v] = tf.tidy(() => {
    const p = tensorOf(a.param);
    let g: tf.Tensor1D = tensorOf(a.grad);
    if (weightDecay !== 0) g = tf.add(g, tf.mul(p, weightDecay));
    const m1 = tf.add(tf.mul(tensorOf(a.m), beta1), tf.mul(g, 1 - beta1));
    const v1 = tf.add(tf.mul(tensorOf(a.v), beta2), tf.mul(tf.square(g), 1 - beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), bc2sqrt), eps);
    const p1 = tf.sub(p, tf.div(tf.mul(m1, stepSize), denom));
    return [p1, m1, v1];
  });
  assign(a.m, 0, m);
  assign(a.v, 0, v);
  assign(a.param, 0, param);
}
