import * as tf from '@tensorflow/tfjs-core';
import type { TfCellMath } from './cell-math.js';

/**
 * torch's LSTMCell as tfjs ops, the equations of core's cells/lstm.ts (gate order i, f, g, o):
 *   G = P + R, c' = σ(Gf) ⊙ c + σ(Gi) ⊙ tanh(Gg), h' = σ(Go) ⊙ tanh(c')
 * cache = [i | f | g | o | tanh(c')].
 */
export const lstmMath: TfCellMath = {
  forward({ p, r, c }) {
    const [gi, gf, gg, go] = tf.split(tf.add(p, r!), 4, 1);
    const i = tf.sigmoid(gi);
    const f = tf.sigmoid(gf);
    const g = tf.tanh(gg);
    const o = tf.sigmoid(go);
    const cOut = tf.add(tf.mul(f, c!), tf.mul(i, g)) as tf.Tensor2D;
    const tc = tf.tanh(cOut);
    return { h: tf.mul(o, tc) as tf.Tensor2D, c: cOut, cache: tf.concat([i, f, g, o, tc], 1) as tf.Tensor2D };
  },

  backward({ g: gh, dc, cache, c }) {
    const [i, f, g, o, tc] = tf.split(cache, 5, 1);
    const dct = tf.add(dc!, tf.mul(tf.mul(gh, o), tf.sub(1, tf.square(tc))));
    const di = tf.mul(tf.mul(dct, g), tf.mul(i, tf.sub(1, i)));
    const df = tf.mul(tf.mul(dct, c!), tf.mul(f, tf.sub(1, f)));
    const dg = tf.mul(tf.mul(dct, i), tf.sub(1, tf.square(g)));
    const dO = tf.mul(tf.mul(gh, tc), tf.mul(o, tf.sub(1, o)));
    const dP = tf.concat([di, df, dg, dO], 1) as tf.Tensor2D;
    return { dP, dR: dP, dh: null, dc: tf.mul(dct, f) as tf.Tensor2D, dPw: null };
  },
};
