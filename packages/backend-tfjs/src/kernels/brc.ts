import * as tf from '@tensorflow/tfjs-core';
import type { TfCellMath } from './cell-math.js';

/**
 * BRC as tfjs ops, the equations of core's cells/brc.ts:
 *   z = σ(xz + mz ⊙ h), a = tanh(xr + mr ⊙ h) + 1, n = tanh(xh + a ⊙ h), h' = z ⊙ h + (1 − z) ⊙ n
 * P = [xz | xr | xh], pw = [mz | mr], cache = [z | a | n].
 */
export const brcMath: TfCellMath = {
  forward({ p, pw, h }) {
    const [xz, xr, xh] = tf.split(p, 3, 1);
    const [mz, mr] = tf.split(pw!, 2);
    const z = tf.sigmoid(tf.add(xz, tf.mul(mz, h)));
    const a = tf.add(tf.tanh(tf.add(xr, tf.mul(mr, h))), 1);
    const n = tf.tanh(tf.add(xh, tf.mul(a, h)));
    const hOut = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), n)) as tf.Tensor2D;
    return { h: hOut, c: null, cache: tf.concat([z, a, n], 1) as tf.Tensor2D };
  },

  backward({ g, cache, h, pw }) {
    const [z, a, n] = tf.split(cache, 3, 1);
    const [mz, mr] = tf.split(pw!, 2);
    // dzpre = g (h − n) z (1 − z); dnpre = g (1 − z)(1 − n²); dapre = dnpre h (1 − (a − 1)²)
    const oneMinusZ = tf.sub(1, z);
    const dzpre = tf.mul(tf.mul(g, tf.sub(h, n)), tf.mul(z, oneMinusZ));
    const dnpre = tf.mul(tf.mul(g, oneMinusZ), tf.sub(1, tf.square(n)));
    const dapre = tf.mul(tf.mul(dnpre, h), tf.sub(1, tf.square(tf.sub(a, 1))));
    const dh = tf.addN([tf.mul(g, z), tf.mul(dnpre, a), tf.mul(dzpre, mz), tf.mul(dapre, mr)]) as tf.Tensor2D;
    const dPw = tf.concat([tf.sum(tf.mul(dzpre, h), 0), tf.sum(tf.mul(dapre, h), 0)]) as tf.Tensor1D;
    return { dP: tf.concat([dzpre, dapre, dnpre], 1) as tf.Tensor2D, dR: null, dh, dc: null, dPw };
  },
};
