import { Adam, Cell, fit, getBackend, MultiLayerRNN, SequenceModel } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';

/** Core's API with tf.Tensors in: tf.Tensors out, equal to what host arrays give. */
const B = 3;
const T = 5;
const xs = Float32Array.from({ length: B * T }, (_, i) => Math.cos(i * 0.7));
const ys = Float32Array.from({ length: B }, (_, b) => xs[b * T]);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

for (const name of ['cpu', 'tfjs-cpu'] as const) {
  describe(`tf.Tensor in and out on backend '${name}'`, () => {
    const model = async () =>
      new SequenceModel(await getBackend(name), {
        cell: 'nBRC',
        inputSize: 1,
        hiddenSize: 6,
        readout: 'last',
        loss: 'mse',
        seed: 3,
      });

    it('predict takes a tf.Tensor and returns one with the same values as for host arrays', async () => {
      const m = await model();
      const x = tf.tensor3d(xs, [B, T, 1]);
      const out = await m.predict(x);
      expect(out).toBeInstanceOf(tf.Tensor);
      expect(out.shape).toEqual([B, 1]);
      const host = await m.predict({ shape: [B, T, 1], data: xs });
      expect(Array.from(out.dataSync())).toEqual(Array.from(host.data));
      tf.dispose([x, out]);
      m.dispose();
    });

    it('trainStep with tf.Tensors takes the same steps as with host arrays', async () => {
      const a = await model();
      const b = await model();
      const be = await getBackend(name);
      const oa = new Adam(be, [a], { lr: 0.01 });
      const ob = new Adam(be, [b], { lr: 0.01 });
      const x = tf.tensor3d(xs, [B, T, 1]);
      const y = tf.tensor2d(ys, [B, 1]);
      for (let i = 0; i < 3; i++) {
        const ra = await a.trainStep(x, y, oa);
        const rb = await b.trainStep({ shape: [B, T, 1], data: xs }, { shape: [B, 1], data: ys }, ob);
        expect(ra.loss).toBe(rb.loss);
        expect(ra.predictions).toBeInstanceOf(tf.Tensor);
        expect(Array.from(ra.predictions.dataSync())).toEqual(Array.from(rb.predictions.data));
        ra.predictions.dispose();
      }
      const ev = await a.evaluate(x, y);
      expect(ev.loss).toBe(
        (await b.evaluate({ shape: [B, T, 1], data: xs }, { shape: [B, 1], data: ys })).loss,
      );
      ev.predictions.dispose();
      tf.dispose([x, y]);
      a.dispose();
      b.dispose();
    });

    it('fit takes tf.Tensors and trains exactly as on host arrays', async () => {
      const be = await getBackend(name);
      const [a, b] = [await model(), await model()];
      const x = tf.tensor3d(xs, [B, T, 1]);
      const y = tf.tensor2d(ys, [B, 1]);
      const opts = { epochs: 3, batchSize: 2, seed: 5 };
      const ha = await fit(a, new Adam(be, [a], { lr: 0.01 }), { x, y }, opts);
      const hb = await fit(
        b,
        new Adam(be, [b], { lr: 0.01 }),
        { x: { shape: [B, T, 1], data: xs }, y: { shape: [B, 1], data: ys } },
        opts,
      );
      expect(ha.stepLoss).toEqual(hb.stepLoss);
      expect(ha.steps).toBe(6);
      tf.dispose([x, y]);
      a.dispose();
      b.dispose();
    });

    it('setParameters takes tf.Tensors', async () => {
      const m = await model();
      const named = await m.getParameters();
      const asTf = Object.fromEntries(
        Object.entries(named).map(([k, v]) => [
          k,
          tf.tensor(
            Float32Array.from(v.data, (d) => d * 0.5),
            v.shape,
          ),
        ]),
      );
      m.setParameters(asTf);
      const back = await m.getParameters();
      for (const [k, v] of Object.entries(named)) {
        expect(Array.from(back[k].data)).toEqual(Array.from(v.data, (d) => Math.fround(d * 0.5)));
      }
      tf.dispose(Object.values(asTf));
      m.dispose();
    });

    it('Cell.step and MultiLayerRNN.forward return tf.Tensors for tf.Tensors', async () => {
      const be = await getBackend(name);
      const cell = new Cell(be, { cell: 'BRC', inputSize: 2, hiddenSize: 3, seed: 2 });
      const x = tf.tensor2d([0.1, -0.2, 0.3, 0.4], [2, 2]);
      const h = tf.zeros([2, 3]);
      const r = await cell.step(x, h);
      expect(r.h).toBeInstanceOf(tf.Tensor);
      const host = await cell.step(
        { shape: [2, 2], data: [0.1, -0.2, 0.3, 0.4] },
        { shape: [2, 3], data: new Float32Array(6) },
      );
      expect(Array.from(r.h.dataSync())).toEqual(Array.from(host.h.data));
      const rnn = new MultiLayerRNN(be, { cell: 'LSTM', inputSize: 1, hiddenSize: 2, seed: 1 });
      const seq = tf.tensor3d(xs, [B, T, 1]);
      const out = await rnn.forward(seq);
      expect(out.output.shape).toEqual([B, T, 2]);
      expect(out.cN).toBeInstanceOf(tf.Tensor);
      tf.dispose([x, h, r.h, seq, out.output, out.hN, out.cN!]);
      cell.dispose();
      rnn.dispose();
    });

    it('a tf.Tensor of strings or with a wrong shape is refused with its name', async () => {
      const m = await model();
      const s = tf.tensor(['a', 'b'], [1, 2, 1]);
      await expect(m.predict(s)).rejects.toThrow('input has dtype string; bistable takes numeric tensors');
      const wrong = tf.zeros([B, T, 2]);
      await expect(m.predict(wrong)).rejects.toThrow('input has shape [3, 5, 2], expected [?, ?, 1]');
      tf.dispose([s, wrong]);
      m.dispose();
    });
  });
}

it('every model, RNN and cell defaults to float32, which every backend supports', async () => {
  const be = await getBackend('tfjs-cpu');
  expect(new MultiLayerRNN(be, { cell: 'GRU', inputSize: 1, hiddenSize: 2 }).dtype).toBe('float32');
  const cell = new Cell(be, { cell: 'nBRC', inputSize: 1, hiddenSize: 2 });
  expect((await cell.getParameters()).kernelz.data).toBeInstanceOf(Float32Array);
  const m = new SequenceModel(be, {
    cell: 'nBRC',
    inputSize: 1,
    hiddenSize: 2,
    readout: 'last',
    loss: 'mse',
  });
  expect(m.options.dtype).toBe('float32');
});
