import { bundledGoldenPath, type GoldenTensor, loadGolden, worstError } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BistableRecurrentCell,
  BRC,
  bistableLayers,
  NBRC,
  NeuromodulatedBistableRecurrentCell,
} from '../src/layers/index.js';

const golden = await loadGolden(bundledGoldenPath());
const tensor = (t: GoldenTensor) => tf.tensor(t.data, t.shape, 'float32');
const values = (t: tf.Tensor | tf.Tensor[]) => Array.from((t as tf.Tensor).dataSync());

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('bistableLayers.brc / .nbrc reproduce the PyTorch oracle', () => {
  for (const id of ['BRC_1', 'BRC_2', 'nBRC_1', 'nBRC_2']) {
    it(`${id}: h_seq of the layer with the oracle's weights`, () => {
      const g = golden.cells.find((c) => c.id === id)!;
      const make = g.cell === 'BRC' ? bistableLayers.brc : bistableLayers.nbrc;
      const layer = make({ units: g.hidden_size, returnSequences: true });
      expect(layer).toBeInstanceOf(g.cell === 'BRC' ? BRC : NBRC);
      const x = tensor(g.x);
      const h0 = tensor(g.h0);
      tf.dispose(layer.apply(x, { initialState: [h0] }) as tf.Tensor); // builds the weights
      expect(layer.weights.map((w) => w.name.split('/').pop())).toEqual(g.param_names);
      layer.setWeights(g.param_names.map((n) => tensor(g.params[n])));
      const out = layer.apply(x, { initialState: [h0] }) as tf.Tensor;
      expect(out.shape).toEqual(g.h_seq.shape);
      expect(worstError(out.dataSync(), g.h_seq.data)).toBeLessThan(1e-5);
    });
  }
});

/** Steps a bare cell by hand over [B, T, D], from zeros: the per-step outputs, stacked on axis 1. */
function stepByHand(cell: BistableRecurrentCell | NeuromodulatedBistableRecurrentCell, x: tf.Tensor3D) {
  const [B, T] = x.shape;
  let h: tf.Tensor = tf.zeros([B, cell.units]);
  const outs: tf.Tensor[] = [];
  for (let t = 0; t < T; t++) {
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [B, 1, x.shape[2]]), [B, x.shape[2]]);
    h = (cell.call([xt, h], {}) as tf.Tensor[])[0];
    outs.push(h);
  }
  return tf.stack(outs, 1);
}

describe('the layers equal their cell stepped by hand', () => {
  for (const [name, make, Cell] of [
    ['BRC', bistableLayers.brc, BistableRecurrentCell],
    ['NBRC', bistableLayers.nbrc, NeuromodulatedBistableRecurrentCell],
  ] as const) {
    it(`${name}: returnSequences, the last output and returnState`, () => {
      const x = tf.randomUniform([3, 7, 4], -1, 1, 'float32', 5) as tf.Tensor3D;
      const layer = make({ units: 5, returnSequences: true, seed: 11 });
      const seq = layer.apply(x) as tf.Tensor;
      const cell = new Cell({ units: 5, seed: 11 });
      cell.build([3, 4]);
      // same seed, same initial weights: the layer's cell is built as a bare cell would be
      expect(layer.getWeights().map(values)).toEqual(cell.getWeights().map(values));
      const byHand = stepByHand(cell, x);
      expect(values(seq)).toEqual(values(byHand));

      const last = make({ units: 5, seed: 11, returnState: true });
      const [out, state] = last.apply(x) as tf.Tensor[];
      const lastStep = tf.reshape(tf.slice(byHand, [0, 6, 0], [3, 1, 5]), [3, 5]);
      expect(out.shape).toEqual([3, 5]);
      expect(values(out)).toEqual(values(lastStep));
      expect(values(state)).toEqual(values(lastStep));
    });
  }

  it('goBackwards equals the forward layer on the reversed sequence', () => {
    const x = tf.randomUniform([2, 6, 3], -1, 1, 'float32', 9);
    for (const returnSequences of [false, true]) {
      const forward = bistableLayers.nbrc({ units: 4, seed: 2, returnSequences });
      const backward = bistableLayers.nbrc({ units: 4, seed: 99, returnSequences, goBackwards: true });
      const onReversed = forward.apply(tf.reverse(x, 1)) as tf.Tensor;
      tf.dispose(backward.apply(x) as tf.Tensor);
      backward.setWeights(forward.getWeights());
      const out = backward.apply(x) as tf.Tensor;
      expect(values(out)).toEqual(values(onReversed));
      // and it is not the same as reading forwards
      expect(values(out)).not.toEqual(values(forward.apply(x) as tf.Tensor));
    }
  });

  it('stateful carries the state from one batch to the next until resetStates', () => {
    const [B, T, D] = [3, 8, 2];
    const x = tf.randomUniform([B, T, D], -1, 1, 'float32', 4);
    const first = tf.slice(x, [0, 0, 0], [B, T / 2, D]);
    const second = tf.slice(x, [0, T / 2, 0], [B, T / 2, D]);
    const plain = bistableLayers.brc({ units: 4, seed: 1 });
    const stateful = bistableLayers.brc({
      units: 4,
      seed: 1,
      stateful: true,
      batchInputShape: [B, T / 2, D],
    });
    const whole = plain.apply(x) as tf.Tensor;
    tf.dispose(stateful.apply(first) as tf.Tensor);
    const continued = stateful.apply(second) as tf.Tensor;
    expect(worstError(continued.dataSync(), whole.dataSync())).toBeLessThan(1e-6);
    stateful.resetStates();
    const fresh = stateful.apply(second) as tf.Tensor;
    expect(values(fresh)).toEqual(values(plain.apply(second) as tf.Tensor));
  });

  it('inputDim / inputLength stand for inputShape (tfjs-layers ignores them on its own RNNs)', () => {
    const m = tfl.sequential({ layers: [bistableLayers.brc({ units: 3, inputDim: 2, inputLength: 5 })] });
    expect(m.inputs[0].shape).toEqual([null, 5, 2]);
    expect(m.outputs[0].shape).toEqual([null, 3]);
  });

  it("follows tf.layers.masking's mask: padded steps leave the state as it was", () => {
    const x = tf.randomUniform([2, 4, 3], 0.1, 1, 'float32', 12);
    const padded = tf.concat([x, tf.zeros([2, 3, 3])], 1);
    const layer = bistableLayers.nbrc({ units: 4, seed: 6 });
    const m = tfl.sequential({ layers: [tfl.layers.masking({ maskValue: 0, inputShape: [7, 3] }), layer] });
    const unmasked = bistableLayers.nbrc({ units: 4, seed: 6 });
    expect(
      worstError((m.predict(padded) as tf.Tensor).dataSync(), (unmasked.apply(x) as tf.Tensor).dataSync()),
    ).toBe(0);
    expect(values(unmasked.apply(padded) as tf.Tensor)).not.toEqual(values(unmasked.apply(x) as tf.Tensor));
  });

  it('trainable: false leaves no trainable weights', () => {
    const layer = bistableLayers.nbrc({ units: 3, trainable: false });
    tf.dispose(layer.apply(tf.zeros([1, 2, 2])) as tf.Tensor);
    expect(layer.trainableWeights).toHaveLength(0);
    expect(layer.nonTrainableWeights).toHaveLength(7);
  });
});

describe('serialisation', () => {
  it('getConfig / fromConfig round trips with every option', () => {
    const layer = bistableLayers.nbrc({
      units: 6,
      seed: 3,
      name: 'memory',
      returnSequences: true,
      goBackwards: true,
      dropout: 0.25,
      recurrentDropout: 0.125,
      kernelRegularizer: tfl.regularizers.l2({ l2: 0.01 }),
      recurrentRegularizer: 'l1l2',
      biasRegularizer: { className: 'L1L2', config: { l1: 0.5, l2: 0 } },
      activityRegularizer: tfl.regularizers.l1({ l1: 0.001 }),
      kernelConstraint: tfl.constraints.maxNorm({ maxValue: 2, axis: 0 }),
      recurrentConstraint: 'unitNorm',
      biasConstraint: 'nonNeg',
      inputShape: [10, 2],
    });
    const config = layer.getConfig();
    expect(config).toMatchObject({
      name: 'memory',
      units: 6,
      seed: 3,
      returnSequences: true,
      goBackwards: true,
      returnState: false,
      stateful: false,
      dropout: 0.25,
      recurrentDropout: 0.125,
      kernelRegularizer: { className: 'L1L2', config: { l1: 0, l2: 0.01 } },
      recurrentRegularizer: { className: 'L1L2', config: { l1: 0.01, l2: 0.01 } },
      biasRegularizer: { className: 'L1L2', config: { l1: 0.5, l2: 0 } },
      activityRegularizer: { className: 'L1L2', config: { l1: 0.001, l2: 0 } },
      kernelConstraint: { className: 'MaxNorm', config: { maxValue: 2, axis: 0 } },
      recurrentConstraint: { className: 'UnitNorm', config: { axis: 0 } },
      biasConstraint: { className: 'NonNeg', config: {} },
      batchInputShape: [null, 10, 2],
    });
    const again = NBRC.fromConfig(NBRC, JSON.parse(JSON.stringify(config)));
    expect(again).toBeInstanceOf(NBRC);
    expect(JSON.parse(JSON.stringify(again.getConfig()))).toEqual(JSON.parse(JSON.stringify(config)));
    // registered under their class names, as model.json refers to them
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.BRC?.[0]).toBe(BRC);
    expect(map.NBRC?.[0]).toBe(NBRC);
  });
});

describe('options', () => {
  const refused: [string, unknown, RegExp][] = [
    ['activation', 'relu', /nonlinearities are fixed/],
    ['recurrentActivation', 'sigmoid', /nonlinearities are fixed/],
    ['useBias', false, /biases bz and br/],
    ['kernelInitializer', 'zeros', /brc_pytorch.*seed.*setWeights/],
    ['recurrentInitializer', 'orthogonal', /brc_pytorch/],
    ['biasInitializer', 'ones', /brc_pytorch/],
    ['implementation', 2, /one implementation/],
    ['resetAfter', true, /GRU option/],
    ['unroll', true, /ignores it/],
    ['cell', new BistableRecurrentCell({ units: 2 }), /builds its own cell/],
    ['dtype', 'float16', /float32/],
  ];
  for (const [option, value, why] of refused) {
    it(`refuses ${option}, naming it`, () => {
      const args = { units: 4, [option]: value } as Parameters<typeof bistableLayers.nbrc>[0];
      expect(() => bistableLayers.nbrc(args)).toThrow(
        new RegExp(`^NBRC: option '${option}' is not supported`),
      );
      expect(() => bistableLayers.nbrc(args)).toThrow(why);
      expect(() => bistableLayers.brc(args)).toThrow(new RegExp(`^BRC: option '${option}'`));
    });
  }

  it('accepts the harmless values of those options (what a config may hold)', () => {
    const layer = bistableLayers.brc({
      units: 2,
      ...({ useBias: true, resetAfter: false, unroll: false, dtype: 'float32' } as object),
    });
    expect(layer.getConfig().unroll).toBe(false);
  });

  it('checks values', () => {
    expect(() => bistableLayers.brc({ units: 0 })).toThrow(/units must be a positive whole number/);
    expect(() => bistableLayers.brc({ units: 2, dropout: 1 })).toThrow(
      /option 'dropout' must be a number in \[0, 1\)/,
    );
    expect(() => bistableLayers.brc({ units: 2, recurrentDropout: -0.1 })).toThrow(/'recurrentDropout'/);
    expect(() => bistableLayers.brc({ units: 2, kernelRegularizer: 'l7' })).toThrow(
      /option 'kernelRegularizer': 'l7' is not a registered tfjs regularizer/,
    );
    // a constraint is not a regularizer
    expect(() => bistableLayers.brc({ units: 2, biasRegularizer: 'NonNeg' })).toThrow(/'biasRegularizer'/);
    expect(() => bistableLayers.brc({ units: 2, kernelConstraint: 'l1l2' })).toThrow(
      /option 'kernelConstraint': 'l1l2' is not a registered tfjs constraint/,
    );
    expect(() => bistableLayers.brc({ units: 2, seed: 1.5 })).toThrow(/option 'seed' must be a whole number/);
  });

  it('bare cells refuse what tf.layers.rnn would ignore, pointing to the layers', () => {
    for (const [option, value] of [
      ['dropout', 0.2],
      ['recurrentDropout', 0.2],
      ['kernelRegularizer', 'l1l2'],
      ['recurrentRegularizer', 'l1l2'],
      ['biasRegularizer', 'l1l2'],
      ['activityRegularizer', 'l1l2'],
    ] as const) {
      expect(
        () => new NeuromodulatedBistableRecurrentCell({ units: 2, [option]: value } as { units: number }),
      ).toThrow(
        new RegExp(
          `^NeuromodulatedBistableRecurrentCell: option '${option}' .* works only in the layers bistableLayers`,
        ),
      );
    }
    expect(() => bistableLayers.brcCell({ units: 2, ...({ activation: 'relu' } as object) })).toThrow(
      /^BistableRecurrentCell: option 'activation' is not supported/,
    );
    // constraints work on bare cells too (they act on the weights, whoever runs them)
    expect(
      bistableLayers.nbrcCell({ units: 2, kernelConstraint: 'nonNeg' }).getConfig().kernelConstraint,
    ).toEqual({
      className: 'NonNeg',
      config: {},
    });
  });
});
