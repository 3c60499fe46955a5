import * as tf from '@tensorflow/tfjs-core';
import type { TfCellMath } from './cell-math.js';

/**
 * nBRC as tfjs ops, the equations of core's cells/nbrc.ts:
 *   z = σ(xz + Rz), a = tanh(xr + Rr) + 1, n = tanh(xh + a ⊙ h), h' = z ⊙ h + (1 − z) ⊙ n
 * with R = h @ [memoryz | memoryr]; cache = [z | a | n].
 */
export const nbrcMath: TfCellMath = {
  forward({ p, r, h }) {
    const [xz, xr, xh] = tf.split(p, 3, 1);
    const [rz, rr] = tf.split(r!, 2, 1);
    const z = tf.sigmoid(tf.add(xz, rz));
    const a = tf.add(tf.tanh(tf.add(xr, rr)), 1);
    const n = tf.tanh(tf.add(xh, tf.mul(a, h)));
    const hOut = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), n)) as tf.Tensor2D;
    return { h: hOut, c: null, cache: tf.concat([z, a, n], 1) as tf.Tensor2D };
  },

  backward({ g, cache, h }) {
    const [z, a, n] = tf.split(cache, 3, 1);
    const oneMinusZ = tf.sub(1, z);
    const dzpre = tf.mul(tf.mul(g, tf.sub(h, n)), tf.mul(z, oneMinusZ));
    const dnpre = tf.mul(tf.mul(g, oneMinusZ), tf.sub(1, tf.square(n)));
    const dapre = tf.mul(tf.mul(dnpre, h), tf.sub(1, tf.square(tf.sub(a, 1))));
    const dh = tf.add(tf.mul(g, z), tf.mul(dnpre, a)) as tf.Tensor2D;
    return {
      dP: tf.concat([dzpre, dapre, dnpre], 1) as tf.Tensor2D,
      dR: tf.concat([dzpre, dapre], 1) as tf.Tensor2D,
      dh,
      dc: null,
      dPw: null,
    };
  },
};
