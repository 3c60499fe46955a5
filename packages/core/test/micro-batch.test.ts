import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Backend,
  CELL_NAMES,
  type CellName,
  getBackend,
  type HostTensor,
  InputError,
  type KernelLevel,
  type LossKind,
  type Readout,
  Rng,
  SequenceModel,
} from '../src/index.js';
import { forwarding, maxRelErr, randn, sameBits } from './helpers.js';

const reference = await getBackend('reference');
const TOL = 1e-12;

/**
 * The reference backend under its own name (so its level 2 and 3 kernels still apply) with a
 * buffer limit, recording the length of every allocation.
 */
function limited(be: Backend, maxBufferBytes: number): Backend & { allocs: number[] } {
  const allocs: number[] = [];
  return forwarding(be, {
    maxBufferBytes,
    allocs,
    alloc: (n, d) => {
      allocs.push(n);
      return be.alloc(n, d);
    },
    adam: (a) => be.adam!(a),
  });
}

interface Case {
  cell: CellName;
  readout: Readout;
  loss: LossKind;
  layers: number;
  bidirectional?: boolean;
  maxLevel?: KernelLevel;
}

const [B, T, I, H, O] = [7, 5, 2, 4, 2];

function batch(c: Case, seed: number) {
  const rng = new Rng(seed);
  const x = randn(rng, [B, T, I]);
  const shape = c.readout === 'last' ? [B, O] : [B, T, O];
  const n = shape.reduce((a, b) => a * b, 1);
  const y = {
    shape,
    data: Float64Array.from({ length: n }, () =>
      c.loss === 'bce' ? Number(rng.uniform() < 0.5) : rng.normal(),
    ),
  };
  return { x, y };
}

function model(be: Backend, c: Case, microBatch?: number) {
  return new SequenceModel(be, {
    cell: c.cell,
    inputSize: I,
    hiddenSize: H,
    numLayers: c.layers,
    bidirectional: c.bidirectional ?? false,
    outputSize: O,
    readout: c.readout,
    loss: c.loss,
    dtype: 'float64',
    seed: 3,
    maxLevel: c.maxLevel,
    microBatch,
  });
}

function expectClose(what: string, a: Record<string, HostTensor>, b: Record<string, HostTensor>) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(b)) {
    expect(a[k].shape, `${what} ${k}`).toEqual(b[k].shape);
    expect(maxRelErr(a[k].data, b[k].data), `${what} ${k}`).toBeLessThan(TOL);
  }
}

/** Trains a split and an unsplit model side by side, comparing everything after every step. */
async function compareTraining(c: Case, split: SequenceModel, whole: SequenceModel, steps = 3) {
  const optS = new Adam(split.backend, [split], { lr: 0.05 });
  const optW = new Adam(whole.backend, [whole], { lr: 0.05 });
  for (let s = 0; s < steps; s++) {
    const { x, y } = batch(c, 10 + s);
    const a = await split.lossAndGradients(x, y);
    const b = await whole.lossAndGradients(x, y);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(TOL * Math.max(1, Math.abs(b.loss)));
    expect(a.predictions.shape).toEqual(b.predictions.shape);
    expect(maxRelErr(a.predictions.data, b.predictions.data)).toBeLessThan(TOL);
    expectClose(`step ${s} gradient`, await split.getGradients(), await whole.getGradients());
    await optS.step();
    await optW.step();
  }
  expectClose('parameters', await split.getParameters(), await whole.getParameters());
  const { x, y } = batch(c, 99);
  const a = await split.evaluate(x, y);
  const b = await whole.evaluate(x, y);
  expect(Math.abs(a.loss - b.loss)).toBeLessThan(TOL);
  expect(maxRelErr(a.predictions.data, b.predictions.data)).toBeLessThan(TOL);
}

describe('SequenceModel micro-batches: 7 rows in passes of 3 equal one pass (float64)', () => {
  const heads: [Readout, LossKind][] = [
    ['last', 'mse'],
    ['sequence', 'bce'],
  ];
  const stacks: [number, boolean][] = [
    [1, false],
    [2, false],
    [2, true],
  ];
  for (const cell of CELL_NAMES) {
    for (const [readout, loss] of heads) {
      for (const [layers, bidirectional] of stacks) {
        const c: Case = { cell, readout, loss, layers, bidirectional };
        it(`${cell}, '${readout}' ${loss}, ${layers} ${bidirectional ? 'bidirectional ' : ''}layer(s)`, async () => {
          const split = model(reference, c, 3);
          expect(split.microBatchPlan(B, T)).toEqual({ B, rows: 3, passes: 3 });
          await compareTraining(c, split, model(reference, c));
        });
      }
    }
    // level 1: the host step loop, whose pointwise-parameter gradient goes through the scratch copy
    it(`${cell} at level 1, 2 layers`, async () => {
      const c: Case = { cell, readout: 'sequence', loss: 'mse', layers: 2, maxLevel: 1 };
      await compareTraining(c, model(reference, c, 2), model(reference, c), 2);
    });
    // the cpu backend's sequence kernels write the bias gradients themselves (biasGradients), so a
    // later pass has them write scratch copies that are added in
    it(`${cell} on the cpu backend, whose backward kernel sums the bias gradients`, async () => {
      const cpu = await getBackend('cpu');
      const c: Case = { cell, readout: 'last', loss: 'mse', layers: 2 };
      await compareTraining(c, model(cpu, c, 3), model(cpu, c), 2);
    });
  }
});

describe('SequenceModel micro-batches: chosen from the backend buffer limit', () => {
  const c: Case = { cell: 'LSTM', readout: 'sequence', loss: 'mse', layers: 2 };

  it('splits so that no buffer exceeds the limit, allocates exactly what it planned, and matches', async () => {
    const probe = model(reference, c);
    const perRow = probe.largestBuffer(T, 1);
    // LSTM's cache (5H per step) is the widest per-step slot
    expect(perRow).toEqual({ name: 'rnn.cells.0.cache', length: T * 5 * H });
    const limit = 3 * perRow.length * 8 + 7;
    const be = limited(reference, limit);
    const split = model(be, c);
    expect(split.microBatchPlan(B, T)).toEqual({ B, rows: 3, passes: 3 });
    const before = be.allocs.length;
    await compareTraining(c, split, model(reference, c), 2);
    const passAllocs = be.allocs.slice(before);
    expect(Math.max(...passAllocs) * 8).toBeLessThanOrEqual(limit);
    expect(Math.max(...passAllocs)).toBe(split.largestBuffer(T, 3).length);
    // every pass after the first reuses its buffers (the padded last one included)
    const afterFirstStep = be.allocs.length;
    await split.lossAndGradients(batch(c, 5).x, batch(c, 5).y);
    await split.predict(batch(c, 6).x);
    expect(be.allocs.length).toBe(afterFirstStep);
  });

  it('does not split a batch that fits: the same bits as without a limit', async () => {
    const whole = model(reference, c);
    const fits = model(limited(reference, whole.largestBuffer(T, B).length * 8), c);
    expect(fits.microBatchPlan(B, T)).toEqual({ B, rows: B, passes: 1 });
    const { x, y } = batch(c, 1);
    const a = await fits.lossAndGradients(x, y);
    const b = await whole.lossAndGradients(x, y);
    expect(a.loss).toBe(b.loss);
    expect(sameBits(a.predictions.data, b.predictions.data)).toBe(true);
    const ga = await fits.getGradients();
    const gb = await whole.getGradients();
    for (const k of Object.keys(gb)) expect(sameBits(ga[k].data, gb[k].data), k).toBe(true);
  });

  it('a limit caps an explicit microBatch; balanced passes pad fewer rows than there are passes', () => {
    const perRow = model(reference, c).largestBuffer(T, 1).length * 8;
    expect(model(limited(reference, 2 * perRow), c, 5).microBatchPlan(B, T)).toEqual({
      B,
      rows: 2,
      passes: 4,
    });
    expect(model(reference, c, 437).microBatchPlan(1000, T)).toEqual({ B: 1000, rows: 334, passes: 3 });
    expect(model(reference, c, 1000).microBatchPlan(1000, T).passes).toBe(1);
  });

  it('the H200 case: GRU, H=256, T=1000, B=1000 under 2 GiB splits into two passes of 500', () => {
    const big = new SequenceModel(limited(reference, 2 ** 31), {
      cell: 'GRU',
      inputSize: 1,
      hiddenSize: 256,
      numLayers: 2,
      readout: 'last',
      loss: 'mse',
    });
    expect(big.largestBuffer(1000, 1)).toEqual({ name: 'rnn.cells.0.cache', length: 1000 * 4 * 256 });
    expect(big.microBatchPlan(1000, 1000)).toEqual({ B: 1000, rows: 500, passes: 2 });
    big.dispose();
  });

  it('a limit too small for one row is a clear InputError naming the sizes', async () => {
    const m = model(limited(reference, 100), c);
    const { x, y } = batch(c, 1);
    const err = await m.lossAndGradients(x, y).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(
      /single batch row of 5 steps needs a buffer of 800 bytes \(rnn\.cells\.0\.cache, 100 float64 values\)/,
    );
    expect((err as Error).message).toMatch(
      /more than backend 'reference' can hold in one buffer \(maxBufferBytes: 100 bytes\)/,
    );
    await expect(m.predict(x)).rejects.toThrow(InputError);
  });

  it('checks every target before the first backward', async () => {
    const bce: Case = { ...c, loss: 'bce' };
    const m = model(reference, bce, 3);
    const { x, y } = batch(bce, 1);
    await m.lossAndGradients(x, y);
    const g0 = await m.getGradients();
    const bad = { shape: y.shape, data: y.data.slice() };
    bad.data[bad.data.length - 1] = 2;
    await expect(m.lossAndGradients(x, bad)).rejects.toThrow(/outside \[0, 1\]/);
    await expect(m.lossAndGradients(x, { shape: [B, 1], data: new Float64Array(B) })).rejects.toThrow(
      /target has shape/,
    );
    expectClose('gradient after refused targets', await m.getGradients(), g0);
  });
});

describe('SequenceModel microBatch validation', () => {
  const c: Case = { cell: 'GRU', readout: 'last', loss: 'mse', layers: 1 };
  for (const bad of [0, -2, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '3']) {
    it(`refuses microBatch ${String(bad)}`, () => {
      expect(() => model(reference, c, bad as number)).toThrow(InputError);
      expect(() => model(reference, c, bad as number)).toThrow(/microBatch must be a positive integer/);
    });
  }
});
