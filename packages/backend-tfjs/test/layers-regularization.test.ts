import { worstError } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BistableLayerArgs, bistableLayers } from '../src/layers/index.js';

const values = (t: tf.Tensor | tf.Tensor[] | tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
  Array.from((t as tf.Tensor).dataSync());
const sum = (ts: tf.Tensor[]) => ts.reduce((s, t) => s + tf.sum(t).dataSync()[0], 0);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * BRC / nBRC written out from the equations, with dropout masks: x ⊙ inputMask everywhere,
 * h ⊙ stateMask where h enters the gates and the candidate, the plain h in the carry z ⊙ h.
 */
function byHand(
  kind: 'BRC' | 'NBRC',
  weights: tf.Tensor[],
  x: tf.Tensor3D,
  inputMask: tf.Tensor | null,
  stateMask: tf.Tensor | null,
) {
  const [kz, kr, kh, mz, mr, bz, br] = weights;
  const [B, T, D] = x.shape;
  const H = bz.shape[0];
  let h: tf.Tensor = tf.zeros([B, H]);
  const outs: tf.Tensor[] = [];
  for (let t = 0; t < T; t++) {
    let xt: tf.Tensor = tf.reshape(tf.slice(x, [0, t, 0], [B, 1, D]), [B, D]);
    if (inputMask) xt = tf.mul(xt, inputMask);
    const hIn = stateMask ? tf.mul(h, stateMask) : h;
    const memory = (m: tf.Tensor) => (kind === 'BRC' ? tf.mul(hIn, m) : tf.matMul(hIn, m as tf.Tensor2D));
    const z = tf.sigmoid(tf.add(tf.add(tf.matMul(xt, kz as tf.Tensor2D), memory(mz)), bz));
    const a = tf.add(tf.tanh(tf.add(tf.add(tf.matMul(xt, kr as tf.Tensor2D), memory(mr)), br)), 1);
    const n = tf.tanh(tf.add(tf.matMul(xt, kh as tf.Tensor2D), tf.mul(a, hIn)));
    h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), n));
    outs.push(h);
  }
  return tf.stack(outs, 1);
}

const fractionZero = (mask: tf.Tensor) => tf.mean(tf.cast(tf.equal(mask, 0), 'float32')).dataSync()[0];
const nonZeroValues = (mask: tf.Tensor) => [...new Set(Array.from(mask.dataSync()).filter((v) => v !== 0))];

describe('dropout and recurrentDropout', () => {
  for (const kind of ['BRC', 'NBRC'] as const) {
    const make = kind === 'BRC' ? bistableLayers.brc : bistableLayers.nbrc;

    it(`${kind} dropout: one input mask per sequence, in training only`, () => {
      const rate = 0.3;
      const x = tf.randomUniform([400, 5, 25], -1, 1, 'float32', 1) as tf.Tensor3D;
      const layer = make({ units: 6, dropout: rate, returnSequences: true, seed: 3 });
      const plain = make({ units: 6, returnSequences: true, seed: 3 });
      const inference = values(layer.apply(x) as tf.Tensor);
      // predictions: as without dropout
      expect(inference).toEqual(values(plain.apply(x) as tf.Tensor));
      expect(values(layer.apply(x, { training: false }) as tf.Tensor)).toEqual(inference);
      expect(layer.bistableCell.dropoutMask).toBeNull();

      const training = layer.apply(x, { training: true }) as tf.Tensor;
      expect(values(training)).not.toEqual(inference);
      const mask = layer.bistableCell.dropoutMask as tf.Tensor;
      const maskValues = values(mask);
      expect(mask.shape).toEqual([400, 25]);
      expect(Math.abs(fractionZero(mask) - rate)).toBeLessThan(0.03);
      // the kept inputs are scaled by 1 / (1 − rate), as tf.dropout does
      expect(nonZeroValues(mask).map((v) => v * (1 - rate))).toEqual([expect.closeTo(1, 6)]);
      // the same mask at every step: the output is the undropped layer's on x ⊙ mask
      const masked = tf.mul(x, tf.expandDims(mask, 1));
      expect(worstError(training.dataSync(), (plain.apply(masked) as tf.Tensor).dataSync())).toBeLessThan(
        1e-6,
      );
      expect(
        worstError(training.dataSync(), byHand(kind, layer.getWeights(), x, mask, null).dataSync()),
      ).toBeLessThan(1e-5);
      // the next sequence gets a new mask
      tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
      expect(mask.isDisposed).toBe(true);
      expect(values(layer.bistableCell.dropoutMask as tf.Tensor)).not.toEqual(maskValues);
    });

    it(`${kind} recurrentDropout: one state mask per sequence, on the gates' and the candidate's h`, () => {
      const rate = 0.4;
      const x = tf.randomUniform([1000, 4, 3], -1, 1, 'float32', 2) as tf.Tensor3D;
      const layer = make({ units: 6, recurrentDropout: rate, returnSequences: true, seed: 4 });
      const plain = make({ units: 6, returnSequences: true, seed: 4 });
      const inference = values(layer.apply(x) as tf.Tensor);
      expect(inference).toEqual(values(plain.apply(x) as tf.Tensor));
      const training = layer.apply(x, { training: true }) as tf.Tensor;
      expect(values(training)).not.toEqual(inference);
      expect(layer.bistableCell.dropoutMask).toBeNull();
      const mask = layer.bistableCell.recurrentDropoutMask as tf.Tensor;
      expect(mask.shape).toEqual([1000, 6]);
      expect(Math.abs(fractionZero(mask) - rate)).toBeLessThan(0.03);
      expect(nonZeroValues(mask).map((v) => v * (1 - rate))).toEqual([expect.closeTo(1, 6)]);
      const expected = byHand(kind, layer.getWeights(), x, null, mask);
      expect(worstError(training.dataSync(), expected.dataSync())).toBeLessThan(1e-5);
      // byHand keeps the carried z ⊙ h undropped, so the match above also rules out tfjs GRU's
      // way, which drops the carried state too
    });
  }

  it('model.fit trains with both; predict stays deterministic', async () => {
    const x = tf.randomUniform([32, 5, 2], -1, 1, 'float32', 6);
    const y = tf.reshape(tf.slice(x, [0, 0, 0], [32, 1, 1]), [32, 1]);
    const m = tfl.sequential({
      layers: [
        bistableLayers.nbrc({ units: 8, dropout: 0.2, recurrentDropout: 0.2, seed: 1, inputShape: [5, 2] }),
        tfl.layers.dense({ units: 1 }),
      ],
    });
    m.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
    const h = await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
    expect((h.history.loss as number[]).every(Number.isFinite)).toBe(true);
    expect(values(m.predict(x))).toEqual(values(m.predict(x)));
  });
});

describe('regularisers', () => {
  const kernel = tfl.regularizers.l2({ l2: 0.01 });
  const recurrent = tfl.regularizers.l1({ l1: 0.02 });
  const bias = tfl.regularizers.l1l2({ l1: 0.03, l2: 0.04 });
  const args: Partial<BistableLayerArgs> = {
    kernelRegularizer: kernel,
    recurrentRegularizer: recurrent,
    biasRegularizer: bias,
  };
  /** The penalty of one layer's 7 weights, by hand. */
  const penalty = (w: tf.Tensor[]) =>
    0.01 * sum(w.slice(0, 3).map(tf.square)) +
    0.02 * sum(w.slice(3, 5).map(tf.abs)) +
    0.03 * sum(w.slice(5, 7).map(tf.abs)) +
    0.04 * sum(w.slice(5, 7).map(tf.square));
  /** Biases start at zero: give them values so that their penalty counts. */
  const withBiases = (layer: tfl.layers.Layer) => {
    const w = layer.getWeights();
    layer.setWeights(w.map((t, i) => (i % 7 >= 5 ? tf.randomUniform(t.shape, -1, 1, 'float32', i) : t)));
  };

  const x = tf.randomUniform([8, 4, 2], -1, 1, 'float32', 3);
  /** A Sequential model, compiled (before which tfjs's calculateLosses sees no layers) with a learning rate of 0. */
  const compiled = (layers: tfl.layers.Layer[]) => {
    const m = tfl.sequential({ layers });
    m.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
    return m;
  };
  /** fit's loss (mean squared error + penalties) minus evaluate's (no penalties), weights unchanged. */
  async function fitPenalty(m: tfl.Sequential) {
    const y = tf.zeros([8, m.outputs[0].shape[1] as number]);
    const before = m.getWeights().map(values);
    const h = await m.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, shuffle: false });
    expect(m.getWeights().map(values)).toEqual(before);
    return (h.history.loss as number[])[0] - (m.evaluate(x, y) as tf.Scalar).dataSync()[0];
  }

  it('kernel, recurrent and bias penalties enter model.fit', async () => {
    const m = compiled([bistableLayers.nbrc({ units: 5, inputShape: [4, 2], ...args })]);
    withBiases(m.layers[0]);
    const expected = penalty(m.layers[0].getWeights());
    expect(m.layers[0].losses).toHaveLength(7);
    expect(sum(m.calculateLosses())).toBeCloseTo(expected, 4);
    expect(await fitPenalty(m)).toBeCloseTo(expected, 4);
  });

  it('under tf.layers.bidirectional both directions count', async () => {
    const m = compiled([
      tfl.layers.bidirectional({ layer: bistableLayers.brc({ units: 5, ...args }), inputShape: [4, 2] }),
    ]);
    withBiases(m.layers[0]);
    const w = m.layers[0].getWeights();
    expect(w).toHaveLength(14);
    const expected = penalty(w.slice(0, 7)) + penalty(w.slice(7));
    expect(sum(m.calculateLosses())).toBeCloseTo(expected, 4);
    expect(await fitPenalty(m)).toBeCloseTo(expected, 4);
  });

  it('activityRegularizer: the penalty of the output, divided by the batch size', async () => {
    for (const bidirectional of [false, true]) {
      const layer = bistableLayers.nbrc({
        units: 5,
        returnSequences: true,
        activityRegularizer: tfl.regularizers.l2({ l2: 0.5 }),
        ...(bidirectional ? {} : { inputShape: [4, 2] }),
      });
      const m = compiled([
        bidirectional ? tfl.layers.bidirectional({ layer, inputShape: [4, 2] }) : layer,
        tfl.layers.flatten(),
      ]);
      const out = m.predict(x) as tf.Tensor;
      // concat of the two directions: the sum of squares is both directions'
      const expected = (0.5 * tf.sum(tf.square(out)).dataSync()[0]) / 8;
      expect(expected).toBeGreaterThan(0.01);
      expect(await fitPenalty(m), bidirectional ? 'bidirectional' : 'alone').toBeCloseTo(expected, 4);
    }
  });

  it("the activity penalty's gradient reaches the weights: one SGD step equals the hand-made one", async () => {
    const y = tf.randomUniform([8, 4], -1, 1, 'float32', 5);
    const regularised = tfl.sequential({
      layers: [
        bistableLayers.nbrc({
          units: 4,
          seed: 1,
          inputShape: [4, 2],
          activityRegularizer: tfl.regularizers.l2({ l2: 1 }),
        }),
      ],
    });
    regularised.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const plain = bistableLayers.nbrc({ units: 4, seed: 1 });
    tf.dispose(plain.apply(x) as tf.Tensor);
    const variables = plain.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => {
      const out = plain.apply(x) as tf.Tensor;
      return tf.add(tf.mean(tf.square(tf.sub(out, y))), tf.div(tf.sum(tf.square(out)), 8)) as tf.Scalar;
    }, variables);
    const expected = variables.map((v) => tf.sub(v, tf.mul(0.1, grads[v.name])));
    await regularised.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, shuffle: false });
    const after = regularised.getWeights();
    for (let i = 0; i < 7; i++)
      expect(worstError(after[i].dataSync(), expected[i].dataSync())).toBeLessThan(1e-5);
  });

  it('survive a save and load', async () => {
    const m = compiled([
      bistableLayers.nbrc({ units: 5, inputShape: [4, 2], ...args, recurrentConstraint: 'nonNeg' }),
    ]);
    withBiases(m.layers[0]);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      }),
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    loaded.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
    expect(loaded.layers[0].getConfig()).toEqual(m.layers[0].getConfig());
    // loading writes the weights through the constraint (memories ≥ 0), as tfjs's own constraints do
    const w = loaded.layers[0].getWeights();
    for (const mem of w.slice(3, 5)) expect(tf.min(mem).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(values(w[0])).toEqual(values(m.layers[0].getWeights()[0]));
    expect(sum(loaded.calculateLosses())).toBeCloseTo(penalty(w), 4);
  });
});

describe('constraints', () => {
  it('hold after model.fit (tfjs-layers applies them only in LayerVariable.write)', async () => {
    const x = tf.randomUniform([32, 5, 3], -1, 1, 'float32', 7);
    const y = tf.randomUniform([32, 6], -1, 1, 'float32', 8);
    const layer = bistableLayers.nbrc({
      units: 6,
      seed: 5,
      inputShape: [5, 3],
      kernelConstraint: 'nonNeg',
      recurrentConstraint: tfl.constraints.maxNorm({ maxValue: 0.5, axis: 0 }),
      biasConstraint: tfl.constraints.nonNeg(),
    });
    const m = tfl.sequential({ layers: [layer] });
    const [kz, , , mz] = layer.getWeights();
    // the initial weights are not constrained (as in tfjs and Keras): the fit has work to do
    expect(tf.min(kz).dataSync()[0]).toBeLessThan(0);
    expect(tf.max(tf.norm(mz, 'euclidean', 0)).dataSync()[0]).toBeGreaterThan(0.9);
    m.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
    await m.fit(x, y, { epochs: 4, batchSize: 8, verbose: 0 });
    const w = layer.getWeights();
    for (const k of w.slice(0, 3)) expect(tf.min(k).dataSync()[0]).toBeGreaterThanOrEqual(0);
    for (const mem of w.slice(3, 5)) {
      expect(tf.max(tf.norm(mem, 'euclidean', 0)).dataSync()[0]).toBeLessThanOrEqual(0.5 + 1e-5);
    }
    for (const b of w.slice(5, 7)) expect(tf.min(b).dataSync()[0]).toBeGreaterThanOrEqual(0);
    // the biases did move (adam pushed some up from zero)
    expect(tf.max(w[5]).dataSync()[0]).toBeGreaterThan(0);
    // setWeights is constrained too
    layer.setWeights(w.map((t, i) => (i === 0 ? tf.fill(t.shape, -1) : t)));
    expect(tf.max(layer.getWeights()[0]).dataSync()[0]).toBe(0);
  });
});
