import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Adam, fit, lrSchedule, SGD } from '../../src/index.js';
import { handLoop, makeData, makeModel, reference, sameParameters } from './setup.js';

const N = 17;
const BS = 4;
const PER_EPOCH = Math.ceil(N / BS);

describe('learning-rate schedules in fit', () => {
  it("a constant schedule at the optimiser's rate trains exactly as no schedule", async () => {
    const data = makeData(N);
    const a = makeModel();
    const b = makeModel();
    const plain = await fit(a.model, a.adam, data, { epochs: 3, batchSize: BS });
    const constant = await fit(b.model, b.adam, data, {
      epochs: 3,
      batchSize: BS,
      schedule: { name: 'constant', lr: 0.02 },
    });
    expect(constant).toEqual(plain);
    expect(await sameParameters(a.model, b.model)).toBe(true);
  });

  for (const per of ['epoch', 'step'] as const) {
    it(`an exponential schedule per ${per} equals setLearningRate calls by hand`, async () => {
      const data = makeData(N);
      const a = makeModel();
      const b = makeModel();
      const [lr, gamma] = [0.05, 0.7];
      const want = await handLoop(
        a.model,
        a.adam,
        data,
        { epochs: 3, batchSize: BS, seed: 2 },
        (step, epoch) => a.adam.setLearningRate(lr * gamma ** (per === 'epoch' ? epoch : step)),
      );
      const seen: number[] = [];
      const h = await fit(b.model, b.adam, data, {
        epochs: 3,
        batchSize: BS,
        seed: 2,
        schedule: { name: 'exponential', lr, gamma, per },
        callbacks: { onBatchEnd: ({ lr }) => void seen.push(lr) },
      });
      expect(h.stepLoss).toEqual(want);
      expect(await sameParameters(a.model, b.model)).toBe(true);
      const expected = Array.from({ length: 3 * PER_EPOCH }, (_, s) =>
        per === 'epoch' ? lr * gamma ** Math.floor(s / PER_EPOCH) : lr * gamma ** s,
      );
      expect(seen).toEqual(expected);
      expect(h.lr).toEqual([0, 1, 2].map((e) => expected[e * PER_EPOCH]));
      expect(b.adam.lr).toBe(expected.at(-1));
    });
  }

  it('a function schedule gets the step index from epoch 0 and the epoch, and drives SGD too', async () => {
    const calls: [number, number][] = [];
    const { model } = makeModel();
    const sgd = new SGD(reference, [model], { lr: 0.1 });
    await fit(model, sgd, makeData(N), {
      epochs: 3,
      initialEpoch: 1,
      batchSize: BS,
      schedule: (step, epoch) => {
        calls.push([step, epoch]);
        return 0.01 / (1 + step);
      },
    });
    // once per step, in order (the epoch's lr, given to onEpochBegin, is its first step's)
    expect(calls.map(([s]) => s)).toEqual(Array.from({ length: 2 * PER_EPOCH }, (_, i) => PER_EPOCH + i));
    expect(calls.map(([, e]) => e)).toEqual(
      Array.from({ length: 2 * PER_EPOCH }, (_, i) => 1 + Math.floor(i / PER_EPOCH)),
    );
    expect(sgd.lr).toBe(0.01 / (1 + 3 * PER_EPOCH - 1));
  });

  it('a cosine schedule spans all the steps of the fit by default', async () => {
    const { model, adam } = makeModel();
    const seen: number[] = [];
    await fit(model, adam, makeData(N), {
      epochs: 2,
      batchSize: BS,
      schedule: { name: 'cosine', lr: 0.04, minLr: 0.01 },
      callbacks: { onBatchEnd: ({ lr }) => void seen.push(lr) },
    });
    const total = 2 * PER_EPOCH;
    expect(seen).toHaveLength(total);
    expect(seen[0]).toBe(0.04);
    for (const [s, lr] of seen.entries()) {
      expect(lr).toBeCloseTo(0.01 + 0.015 * (1 + Math.cos((Math.PI * s) / total)), 15);
    }
  });
});

describe('lrSchedule', () => {
  it('step decay: lr · gamma^⌊epoch / every⌋', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 100 }),
        (lr, gamma, every, epoch) =>
          lrSchedule({ name: 'step', lr, gamma, every })(1234, epoch) ===
          lr * gamma ** Math.floor(epoch / every),
      ),
    );
  });

  it('cosine: from lr down to minLr, never rising, then held at minLr', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        (lr, frac, steps) => {
          const minLr = lr * frac;
          const f = lrSchedule({ name: 'cosine', lr, minLr, steps });
          expect(f(0, 0)).toBe(lr);
          let prev = Number.POSITIVE_INFINITY;
          for (let s = 0; s <= steps + 3; s++) {
            const v = f(s, 0);
            expect(v).toBeLessThanOrEqual(prev);
            expect(v).toBeGreaterThanOrEqual(minLr);
            expect(v).toBeLessThanOrEqual(lr);
            prev = v;
          }
          expect(f(steps, 0)).toBe(minLr);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('constant and exponential', () => {
    expect(lrSchedule({ name: 'constant', lr: 0.3 })(99, 7)).toBe(0.3);
    const e = lrSchedule({ name: 'exponential', lr: 1, gamma: 0.5 });
    expect([0, 1, 2, 3].map((ep) => e(1000, ep))).toEqual([1, 0.5, 0.25, 0.125]);
    const s = lrSchedule({ name: 'exponential', lr: 1, gamma: 0.5, per: 'step' });
    expect([0, 1, 2].map((st) => s(st, 9))).toEqual([1, 0.5, 0.25]);
  });
});

describe('setLearningRate', () => {
  it('changes only the rate: the same step as an optimiser built with that rate', async () => {
    const data = makeData(8);
    const a = makeModel();
    const b = makeModel();
    const direct = new Adam(reference, [a.model], { lr: 0.007 });
    b.adam.setLearningRate(0.007);
    expect(b.adam.lr).toBe(0.007);
    await a.model.trainStep(data.x, data.y, direct);
    await b.model.trainStep(data.x, data.y, b.adam);
    expect(await sameParameters(a.model, b.model)).toBe(true);
  });

  it('refuses NaN, infinities and negative rates, and accepts 0', () => {
    const { model, adam } = makeModel();
    const sgd = new SGD(reference, [model], { lr: 0.1 });
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -0.1]) {
      expect(() => adam.setLearningRate(bad)).toThrow(/Adam learning rate must be a finite number >= 0/);
      expect(() => sgd.setLearningRate(bad)).toThrow(/SGD learning rate must be a finite number >= 0/);
    }
    expect(adam.lr).toBe(0.02);
    adam.setLearningRate(0);
    expect(adam.lr).toBe(0);
  });
});
