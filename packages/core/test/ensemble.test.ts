import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Backend,
  type CellName,
  CpuBackend,
  captureCheckpoint,
  type DType,
  Ensemble,
  type GemmArgs,
  getBackend,
  type LossKind,
  type Readout,
  Rng,
  restoreCheckpoint,
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
      expect(got[i]?.loss).toBe(want.loss);
      expect(Array.from(got[i]!.predictions.data)).toEqual(Array.from(want.predictions.data));
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
    // two neighbours in the arena with equal step counts still take one pass; apart, one each
    log.adam = 0;
    await ens.trainStep([null, step[1], step[2]]);
    expect(log.adam).toBe(1);
    log.adam = 0;
    await ens.trainStep([step[0], null, step[2]]);
    expect(log.adam).toBe(2);
    ens.dispose();
  });

  it('refuses no members, or a batch count that is not one per member', async () => {
    expect(() => new Ensemble(reference, options('BRC', 'last', 'mse', 'float64'), [])).toThrow(
      'an ensemble needs at least one member (one seed each)',
    );
    const ens = new Ensemble(reference, options('BRC', 'last', 'mse', 'float64'), seeds);
    const [step] = batches('last', 'mse', 1, 'float64');
    await expect(ens.trainStep(step.slice(1))).rejects.toThrow(
      'an ensemble of 3 members needs 3 batches (null for a member that sits out), got 2',
    );
    await expect(ens.trainStep([null, null, null])).rejects.toThrow(
      'an ensemble step needs a batch for at least one member',
    );
    ens.dispose();
  });

  for (const [name, be, dtype] of [
    ['reference, float64', reference, 'float64'],
    ['cpu, float32', cpu, 'float32'],
  ] as [string, Backend, DType][]) {
    it(`members that sit steps out stay as they were and go on as their solo runs (${name})`, async () => {
      const o = options('nBRC', 'last', 'mse', dtype);
      const data = batches('last', 'mse', 4, dtype);
      // which members train at each step: all; 0 and 2 (not adjacent); 1 and 2 (unequal step counts); 1
      const plan = [
        [true, true, true],
        [true, false, true],
        [false, true, true],
        [false, true, false],
      ];
      const ens = new Ensemble(be, o, seeds, { lr: 0.03 });
      const solo = seeds.map((seed) => {
        const model = new SequenceModel(be, { ...o, seed });
        return { model, adam: new Adam(be, [model], { lr: 0.03 }) };
      });
      for (const [k, step] of data.entries()) {
        const got = await ens.trainStep(step.map((b, i) => (plan[k][i] ? b : null)));
        for (const [i, s] of solo.entries()) {
          if (!plan[k][i]) {
            expect(got[i]).toBeNull();
            continue;
          }
          const want = await s.model.trainStep(step[i].x, step[i].y, s.adam);
          expect(got[i]?.loss, `step ${k} member ${i}`).toBe(want.loss);
        }
      }
      expect(seeds.map((_, i) => ens.optimizer.sourceStepCount(i))).toEqual([2, 3, 3]);
      for (const [i, s] of solo.entries()) {
        const want = await s.model.getParameters();
        const got = await ens.members[i].getParameters();
        for (const k of Object.keys(want))
          expect(Array.from(got[k].data), `member ${i} ${k}`).toEqual(Array.from(want[k].data));
        // the member's share of the Adam state is its solo Adam's
        const ws = await s.adam.state();
        const gs = await ens.memberOptimizer(i).state();
        expect(gs.step).toBe(ws.step);
        for (const k of Object.keys(ws.slots))
          expect(Array.from(gs.slots[k]), `member ${i} ${k}`).toEqual(Array.from(ws.slots[k]));
        s.model.dispose();
        s.adam.dispose();
      }
      ens.dispose();
    });
  }

  it("a member's checkpoint restores into a solo model (and back), which then trains as the member does", async () => {
    const o = options('GRU', 'sequence', 'bce', 'float64');
    const data = batches('sequence', 'bce', 3, 'float64');
    const ens = new Ensemble(reference, o, seeds, { lr: 0.02 });
    await ens.trainStep(data[0]);
    await ens.trainStep(data[1]);
    const saved = await captureCheckpoint(ens.members[1], ens.memberOptimizer(1));
    const solo = new SequenceModel(reference, { ...o, seed: 999 });
    const adam = new Adam(reference, [solo], { lr: 0.02 });
    await restoreCheckpoint(saved, solo, adam);
    expect(adam.stepCount).toBe(2);
    const [got] = [(await ens.trainStep(data[2]))[1]];
    const want = await solo.trainStep(data[2][1].x, data[2][1].y, adam);
    expect(got?.loss).toBe(want.loss);
    // and back: the solo run's state into member 0, which then equals the solo model
    await restoreCheckpoint(await captureCheckpoint(solo, adam), ens.members[0], ens.memberOptimizer(0));
    expect(ens.optimizer.sourceStepCount(0)).toBe(3);
    const a = (await ens.trainStep([data[0][0], null, null]))[0];
    const b = await solo.trainStep(data[0][0].x, data[0][0].y, adam);
    expect(a?.loss).toBe(b.loss);
    await expect(ens.memberOptimizer(0).step()).rejects.toThrow('steps with the ensemble');
    expect(() => ens.memberOptimizer(3)).toThrow('member 3 does not exist (the ensemble has 3)');
    // the shared Adam cannot save one state for members whose parameter names repeat
    await expect(ens.optimizer.state()).rejects.toThrow("save each one's state with sourceState(i)");
    solo.dispose();
    adam.dispose();
    ens.dispose();
  });
});
