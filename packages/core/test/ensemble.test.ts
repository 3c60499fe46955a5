import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Backend,
  type CellName,
  CpuBackend,
  type DType,
  Ensemble,
  type GemmArgs,
  getBackend,
  type LossKind,
  type Readout,
  Rng,
  SequenceModel,
} from '../src/index.js';
import { forwarding, randn } from './helpers.js';

const reference = await getBackend('reference');
const cpu = await CpuBackend.create({ threads: 1 });

const [B, T, I, H, O] = [4, 5, 2, 6, 2];
const seeds = [3, 17, 40];

function options(cell: CellName, readout: Readout, loss: LossKind, dtype: DType) {
  return { cell, inputSize: I, hiddenSize: H, numLayers: 2, outputSize: O, readout, loss, dtype };
}

/** Different data for every member and step. */
function batches(readout: Readout, loss: LossKind, steps: number, dtype: DType) {
  const rng = new Rng(5);
  const cast = (t: { shape: number[]; data: Float64Array }) =>
    dtype === 'float32' ? { shape: t.shape, data: Float32Array.from(t.data) } : t;
  return Array.from({ length: steps }, () =>
    seeds.map(() => {
      const x = randn(rng, [B, T, I]);
      const y = randn(rng, readout === 'last' ? [B, O] : [B, T, O]);
      if (loss === 'bce') for (let i = 0; i < y.data.length; i++) y.data[i] = y.data[i] > 0 ? 1 : 0;
      return { x: cast(x), y: cast(y) };
    }),
  );
}

async function expectSolo(be: Backend, cell: CellName, readout: Readout, loss: LossKind, dtype: DType) {
  const o = options(cell, readout, loss, dtype);
  const data = batches(readout, loss, 3, dtype);
  const ens = new Ensemble(be, o, seeds, { lr: 0.03, weightDecay: 0.01 });
  const solo = seeds.map((seed) => {
    const model = new SequenceModel(be, { ...o, seed });
    return { model, adam: new Adam(be, [model], { lr: 0.03, weightDecay: 0.01 }) };
  });
  for (const step of data) {
    const got = await ens.trainStep(step);
    for (const [i, s] of solo.entries()) {
      const want = await s.model.trainStep(step[i].x, step[i].y, s.adam);
      expect(got[i].loss).toBe(want.loss);
      expect(Array.from(got[i].predictions.data)).toEqual(Array.from(want.predictions.data));
    }
  }
  for (const [i, s] of solo.entries()) {
    const want = await s.model.getParameters();
    const got = await ens.members[i].getParameters();
    for (const k of Object.keys(want))
      expect(Array.from(got[k].data), `member ${i} ${k}`).toEqual(Array.from(want[k].data));
    s.model.dispose();
    s.adam.dispose();
  }
  ens.dispose();
}

describe('Ensemble', () => {
  for (const [cell, readout, loss] of [
    ['GRU', 'last', 'mse'],
    ['nBRC', 'sequence', 'bce'],
    ['LSTM', 'last', 'bce'],
  ] as [CellName, Readout, LossKind][]) {
    it(`${cell} ${readout}/${loss}: every member trains bit for bit as its solo run (reference, float64)`, async () => {
      await expectSolo(reference, cell, readout, loss, 'float64');
    });
    it(`${cell} ${readout}/${loss}: every member trains bit for bit as its solo run (cpu, float32)`, async () => {
      await expectSolo(cpu, cell, readout, loss, 'float32');
    });
  }

  it('makes one Adam pass and one batch of weight-gradient GEMMs per step for all members', async () => {
    const log = { adam: 0, gemmMany: [] as number[] };
    const be = forwarding(reference, {
      view: (b, o, n) => reference.view!(b, o, n),
      adam: (a) => {
        log.adam++;
        reference.adam!(a);
      },
      gemmMany: (list: readonly GemmArgs[]) => {
        log.gemmMany.push(list.length);
        for (const g of list) reference.gemm(g);
      },
    });
    const ens = new Ensemble(be, options('nBRC', 'last', 'mse', 'float64'), seeds);
    const solo = new SequenceModel(be, { ...options('nBRC', 'last', 'mse', 'float64'), seed: 1 });
    const [step] = batches('last', 'mse', 1, 'float64');
    await solo.trainStep(step[0].x, step[0].y, new Adam(be, [solo]));
    const perModel = log.gemmMany[0];
    log.adam = 0;
    log.gemmMany.length = 0;
    await ens.trainStep(step);
    expect(log.adam).toBe(1);
    expect(log.gemmMany).toEqual([seeds.length * perModel]);
    ens.dispose();
  });

  it('refuses no members, or a batch count that is not one per member', async () => {
    expect(() => new Ensemble(reference, options('BRC', 'last', 'mse', 'float64'), [])).toThrow(
      'an ensemble needs at least one member (one seed each)',
    );
    const ens = new Ensemble(reference, options('BRC', 'last', 'mse', 'float64'), seeds);
    const [step] = batches('last', 'mse', 1, 'float64');
    await expect(ens.trainStep(step.slice(1))).rejects.toThrow(
      'an ensemble of 3 members needs 3 batches, got 2',
    );
    ens.dispose();
  });
});
