import { describe, expect, it } from 'vitest';
import { Ensemble, type FitCallbacks, type FitOptions, fit, fitEnsemble } from '../../src/index.js';
import { makeData, makeModel, modelOptions, reference, sameParameters } from './setup.js';

const seeds = [4, 11, 23];
// members differ in data size (so their epochs end at different steps), order seed and epochs
const sizes = [23, 17, 30];
const plans = [
  { epochs: 3, batchSize: 5, seed: 7 },
  { epochs: 4, batchSize: 5, seed: 8 },
  { epochs: 2, batchSize: 4, seed: 9 },
];

function ensemble() {
  return new Ensemble(reference, modelOptions, seeds, { lr: 0.02 });
}

/** Every hook call with what it was told (tensors left out), and member 1 stopping after epoch 1. */
function recorder(member: number) {
  const events: unknown[] = [];
  const callbacks: FitCallbacks = {
    onTrainBegin: (i) => void events.push(['begin', i]),
    onEpochBegin: (i) => void events.push(['epochBegin', i]),
    onBatchEnd: ({ x: _x, y: _y, predictions, ...rest }) =>
      void events.push(['batch', rest, Array.from(predictions.data)]),
    onValidationBatchEnd: ({ epoch, size, loss }) => void events.push(['valid', epoch, size, loss]),
    onEpochEnd: (i) => {
      events.push(['epochEnd', i]);
      return member === 1 && i.epoch === 1 ? 'stop' : undefined;
    },
    onTrainEnd: (h) => void events.push(['end', structuredClone(h)]),
  };
  return { events, callbacks };
}

function memberOptions(i: number, callbacks: FitCallbacks): FitOptions {
  return { ...plans[i], validationData: makeData(7, 100 + i), validationBatchSize: 3, callbacks };
}

describe('fitEnsemble', () => {
  it('trains every member as fit trains it alone: history, callbacks and weights, bit for bit', async () => {
    const ens = ensemble();
    const recorded = seeds.map((_, i) => recorder(i));
    const histories = await fitEnsemble(
      ens,
      seeds.map((_, i) => ({
        train: makeData(sizes[i], 50 + i),
        options: memberOptions(i, recorded[i].callbacks),
      })),
    );
    for (const [i, seed] of seeds.entries()) {
      const solo = makeModel(seed);
      const want = recorder(i);
      const h = await fit(
        solo.model,
        solo.adam,
        makeData(sizes[i], 50 + i),
        memberOptions(i, want.callbacks),
      );
      expect(histories[i], `member ${i}`).toEqual(h);
      expect(recorded[i].events, `member ${i}`).toEqual(want.events);
      expect(await sameParameters(ens.members[i], solo.model), `member ${i}`).toBe(true);
      expect(ens.optimizer.sourceStepCount(i)).toBe(solo.adam.stepCount);
      solo.model.dispose();
    }
    // member 1 stopped after 2 of its 4 epochs, and sat out every step after that
    expect(histories[1]?.stoppedEarly).toBe(true);
    expect(histories[1]?.epochs).toEqual([0, 1]);
    ens.dispose();
  });

  it('resumes a member at its initialEpoch beside members that start at 0', async () => {
    const ens = ensemble();
    const solo = makeModel(seeds[0]);
    const data = seeds.map((_, i) => makeData(sizes[i], 50 + i));
    // member 0's first epoch, alone: member 1 sits the fit out (null), member 2's has no epoch
    // left (initialEpoch = epochs), in the ensemble and solo
    const first = await fitEnsemble(ens, [
      { train: data[0], options: { ...plans[0], epochs: 1 } },
      null,
      { train: data[2], options: { ...plans[2], epochs: 1, initialEpoch: 1 } },
    ]);
    expect(first[1]).toBeNull();
    expect(first[2]?.steps).toBe(Math.ceil(sizes[2] / plans[2].batchSize));
    expect(first[2]?.epochs).toEqual([]);
    expect(ens.optimizer.sourceStepCount(1)).toBe(0);
    expect(ens.optimizer.sourceStepCount(2)).toBe(0);
    await fit(solo.model, solo.adam, data[0], { ...plans[0], epochs: 1 });
    const hs = await fitEnsemble(
      ens,
      seeds.map((_, i) => ({ train: data[i], options: { ...plans[i], initialEpoch: i === 0 ? 1 : 0 } })),
    );
    const h = await fit(solo.model, solo.adam, data[0], { ...plans[0], initialEpoch: 1 });
    expect(hs[0]).toEqual(h);
    expect(await sameParameters(ens.members[0], solo.model)).toBe(true);
    ens.dispose();
    solo.model.dispose();
  });

  it('refuses a member count that does not match, and per-step settings a shared step cannot honour', async () => {
    const ens = ensemble();
    const train = makeData(10);
    await expect(fitEnsemble(ens, [{ train, options: plans[0] }])).rejects.toThrow(
      'fitEnsemble needs one {train, options} per member (3), got 1',
    );
    const members = seeds.map(() => ({ train, options: { ...plans[0] } }));
    (members[2].options as FitOptions).clipNorm = 1;
    await expect(fitEnsemble(ens, members)).rejects.toThrow(
      "fitEnsemble: member 2 sets 'clipNorm', which an ensemble's shared step cannot honour",
    );
    members[2].options = { ...plans[0], batchSize: 11 };
    await expect(fitEnsemble(ens, members)).rejects.toThrow(
      'batchSize (11) is larger than the 10 training samples',
    );
    ens.dispose();
  });
});
