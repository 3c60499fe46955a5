import * as tf from '@tensorflow/tfjs-core';
import type { TfCellMath } from './cell-math.js';

/**
 * torch's GRUCell as tfjs ops, the equations of core's cells/gru.ts (gate order r, z, n):
 *   r = σ(Pr + Rr), z = σ(Pz + Rz), n = tanh(Pn + r ⊙ Rn), h' = (1 − z) ⊙ n + z ⊙ h
 * cache = [r | z | n | Rn].
 */
export const gruMath: TfCellMath = {
  forward({ p, r, h }) {
    const [pr, pz, pn] = tf.split(p, 3, 1);
    const [rr, rz, rn] = tf.split(r!, 3, 1);
    const rg = tf.sigmoid(tf.add(pr, rr));
    const z = tf.sigmoid(tf.add(pz, rz));
    const n = tf.tanh(tf.add(pn, tf.mul(rg, rn)));
    const hOut = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
    return { h: hOut, c: null, cache: tf.concat([rg, z, n, rn], 1) as tf.Tensor2D };
  },

  backward({ g, cache, h }) {
    const [rg, z, n, rn] = tf.split(cache, 4, 1);
    const dnpre = tf.mul(tf.mul(g, tf.sub(1, z)), tf.sub(1, tf.square(n)));
    const dzpre = tf.mul(tf.mul(g, tf.sub(h, n)), tf.mul(z, tf.sub(1, z)));
    const drpre = tf.mul(tf.mul(dnpre, rn), tf.mul(rg, tf.sub(1, rg)));
    return {
      dP: tf.concat([drpre, dzpre, dnpre], 1) as tf.Tensor2D,
      dR: tf.concat([drpre, dzpre, tf.mul(dnpre, rg)], 1) as tf.Tensor2D,
      dh: tf.mul(g, z) as tf.Tensor2D,
      dc: null,
      dPw: null,
    };
  },
};
