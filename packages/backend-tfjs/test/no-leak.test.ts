import { Adam, CELL_NAMES, getBackend, Rng, SequenceModel } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { TfjsBackend } from '../src/index.js';
import '../src/index.js';

/** A copy-first-input batch: y = x[:, 0, 0]. */
function batch(B: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(B * T);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
  const y = new Float32Array(B);
  for (let b = 0; b < B; b++) y[b] = x[b * T];
  return { x: { shape: [B, T, 1], data: x }, y: { shape: [B, 1], data: y } };
}

describe('tensors stay on the backend without leaking', () => {
  for (const cell of CELL_NAMES) {
    it(`${cell}: tf.memory().numTensors after 100 training steps equals the count after the first`, async () => {
      const be = (await getBackend('tfjs-cpu')) as TfjsBackend;
      const before = be.liveBuffers;
      const model = new SequenceModel(be, {
        cell,
        inputSize: 1,
        hiddenSize: 8,
        numLayers: 2,
        readout: 'last',
        loss: 'mse',
        dtype: 'float32',
        seed: 3,
      });
      const opt = new Adam(be, [model], { lr: 1e-2 });
      const { x, y } = batch(4, 5, 11);
      const losses: number[] = [];
      const step = async () => {
        losses.push((await model.lossAndGradients(x, y)).loss);
        await opt.step();
      };
      await step();
      const tensors = tf.memory().numTensors;
      const buffers = be.liveBuffers;
      for (let i = 1; i < 100; i++) await step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(be.liveBuffers).toBe(buffers);
      // it is really training: the loss on this one batch goes down
      expect(losses[99]).toBeLessThan(losses[0] * 0.5);
      const moments = 2 * model.parameters().length;
      model.dispose();
      // the optimiser's moments are all that is left once the model is gone
      expect(be.liveBuffers).toBe(before + moments);
    });
  }
});
