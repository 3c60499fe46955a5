import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Backend,
  dataOf,
  getBackend,
  type LossKind,
  type Readout,
  Rng,
  SequenceModel,
} from '../src/index.js';
import { forwarding, maxRelErr, randn } from './helpers.js';

const reference = await getBackend('reference');

/**
 * The reference backend under its own name with a host `lossGradient` (as a GPU backend offers on
 * the device), logging the order of the calls a training step makes.
 */
function withLossGradient(be: Backend): Backend & { log: string[] } {
  const log: string[] = [];
  return forwarding(be, {
    log,
    read: (b, o, n, out) => {
      log.push('read');
      return be.read(b, o, n, out);
    },
    adam: (a) => {
      log.push('adam');
      be.adam!(a);
    },
    lossGradient: ({ kind, pred, target, grad, n, count }) => {
      log.push('lossGradient');
      const [p, t, g] = [dataOf(pred), dataOf(target), dataOf(grad)];
      for (let i = 0; i < n; i++) {
        g[i] = kind === 'mse' ? (2 * (p[i] - t[i])) / count : (1 / (1 + Math.exp(-p[i])) - t[i]) / count;
      }
    },
  });
}

const [B, T, I, H, O] = [5, 6, 2, 4, 3];

function setup(be: Backend, readout: Readout, loss: LossKind) {
  const model = new SequenceModel(be, {
    cell: 'nBRC',
    inputSize: I,
    hiddenSize: H,
    numLayers: 2,
    outputSize: O,
    readout,
    loss,
    dtype: 'float64',
    seed: 3,
  });
  return { model, adam: new Adam(be, [model], { lr: 0.05 }) };
}

function batches(readout: Readout, loss: LossKind, steps: number) {
  const rng = new Rng(11);
  return Array.from({ length: steps }, () => {
    const x = randn(rng, [B, T, I]);
    const shape = readout === 'last' ? [B, O] : [B, T, O];
    const y = randn(rng, shape);
    if (loss === 'bce') for (let i = 0; i < y.data.length; i++) y.data[i] = y.data[i] > 0 ? 1 : 0;
    return { x, y };
  });
}

describe('SequenceModel.trainStep', () => {
  for (const [readout, loss] of [
    ['last', 'mse'],
    ['sequence', 'bce'],
  ] as [Readout, LossKind][]) {
    it(`${readout}/${loss}: a device loss gradient trains as lossAndGradients + step, reading back last`, async () => {
      const data = batches(readout, loss, 3);
      const plain = setup(reference, readout, loss);
      const be = withLossGradient(reference);
      const dev = setup(be, readout, loss);
      for (const { x, y } of data) {
        const a = await plain.model.lossAndGradients(x, y);
        await plain.adam.step();
        be.log.length = 0;
        const b = await dev.model.trainStep(x, y, dev.adam);
        expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThan(1e-12);
        expect(maxRelErr(b.predictions.data, a.predictions.data)).toBeLessThan(1e-12);
        // the loss gradient and every update are recorded before the one read of the step
        expect(be.log.indexOf('lossGradient')).toBe(0);
        expect(be.log.filter((e) => e === 'read')).toEqual(['read']);
        expect(be.log.at(-1)).toBe('read');
        expect(be.log.filter((e) => e === 'adam').length).toBe(dev.model.parameters().length);
      }
      const pa = await plain.model.getParameters();
      const pb = await dev.model.getParameters();
      for (const k of Object.keys(pa)) expect(maxRelErr(pb[k].data, pa[k].data), k).toBeLessThan(1e-12);
    });
  }

  it('on a backend without a device loss gradient is lossAndGradients then step, bit for bit', async () => {
    const data = batches('sequence', 'mse', 2);
    const a = setup(reference, 'sequence', 'mse');
    const b = setup(reference, 'sequence', 'mse');
    for (const { x, y } of data) {
      const ra = await a.model.lossAndGradients(x, y);
      await a.adam.step();
      const rb = await b.model.trainStep(x, y, b.adam);
      expect(rb.loss).toBe(ra.loss);
    }
    const pa = await a.model.getParameters();
    const pb = await b.model.getParameters();
    for (const k of Object.keys(pa)) expect(Array.from(pb[k].data), k).toEqual(Array.from(pa[k].data));
  });

  it('refuses a target of the wrong shape or outside [0, 1] before updating anything', async () => {
    const be = withLossGradient(reference);
    const { model, adam } = setup(be, 'sequence', 'bce');
    const [{ x, y }] = batches('sequence', 'bce', 1);
    const before = await model.getParameters();
    await expect(
      model.trainStep(x, { shape: [B, T, O + 1], data: new Float64Array(B * T * (O + 1)) }, adam),
    ).rejects.toThrow(/target/);
    const bad = { shape: y.shape, data: Float64Array.from(y.data, (v, i) => (i === 4 ? 2 : v)) };
    await expect(model.trainStep(x, bad, adam)).rejects.toThrow(/outside \[0, 1\]/);
    expect(be.log).not.toContain('adam');
    const after = await model.getParameters();
    for (const k of Object.keys(before))
      expect(Array.from(after[k].data)).toEqual(Array.from(before[k].data));
  });
});
