import { describe, expect, it } from 'vitest';
import {
  captureCheckpoint,
  epochOrder,
  type FitCallbacks,
  fit,
  type History,
  type IndexedDataset,
  restoreCheckpoint,
  sequentialOrder,
  TrainingAborted,
} from '../../src/index.js';
import { handLoop, makeData, makeModel, sameParameters, takeRows } from './setup.js';

const N = 23; // not a multiple of the batch size: every epoch ends with a smaller batch
const BS = 5;
const PER_EPOCH = Math.ceil(N / BS);

/** The sample-weighted mean loss of each epoch, from the steps' losses. */
function epochMeans(losses: number[], epochs: number): number[] {
  const sizes = Array.from({ length: PER_EPOCH }, (_, b) => Math.min(BS, N - b * BS));
  return Array.from({ length: epochs }, (_, e) => {
    let s = 0;
    for (let b = 0; b < PER_EPOCH; b++) s += losses[e * PER_EPOCH + b] * sizes[b];
    return s / N;
  });
}

describe('fit', () => {
  it('over tensors equals the hand-written loop of trainStep calls, bit for bit', async () => {
    const data = makeData(N);
    const a = makeModel();
    const b = makeModel();
    const want = await handLoop(a.model, a.adam, data, { epochs: 3, batchSize: BS, seed: 7 });
    const h = await fit(b.model, b.adam, data, { epochs: 3, batchSize: BS, seed: 7 });
    expect(h.stepLoss).toEqual(want);
    expect(await sameParameters(a.model, b.model)).toBe(true);
    expect(h).toEqual({
      epochs: [0, 1, 2],
      trainLoss: epochMeans(want, 3),
      validLoss: [],
      lr: [0.02, 0.02, 0.02],
      stepLoss: want,
      steps: 3 * PER_EPOCH,
      stoppedEarly: false,
    } satisfies History);
  });

  it('over a dataset asks for the batches of epochOrder and trains as over the same tensors', async () => {
    const data = makeData(N);
    const asked: number[][] = [];
    const dataset: IndexedDataset = {
      size: N,
      batch(indices) {
        expect(Array.isArray(indices)).toBe(true);
        asked.push(indices);
        return { x: takeRows(data.x, indices), y: takeRows(data.y, indices) };
      },
    };
    const a = makeModel();
    const b = makeModel();
    const fromTensors = await fit(a.model, a.adam, data, { epochs: 2, batchSize: BS, seed: 3 });
    const fromDataset = await fit(b.model, b.adam, dataset, { epochs: 2, batchSize: BS, seed: 3 });
    expect(fromDataset).toEqual(fromTensors);
    expect(asked.slice(0, PER_EPOCH).flat()).toEqual(Array.from(epochOrder(N, 3, 0)));
    expect(asked.slice(PER_EPOCH).flat()).toEqual(Array.from(epochOrder(N, 3, 1)));
  });

  it('without shuffling visits the samples in order', async () => {
    const data = makeData(N);
    const asked: number[] = [];
    const dataset: IndexedDataset = {
      size: N,
      batch(indices) {
        asked.push(...indices);
        return { x: takeRows(data.x, indices), y: takeRows(data.y, indices) };
      },
    };
    const { model, adam } = makeModel();
    await fit(model, adam, dataset, { epochs: 2, batchSize: BS, shuffle: false });
    const order = Array.from(sequentialOrder(N));
    expect(asked).toEqual([...order, ...order]);
  });

  it('validates over every sample after each epoch, the mean of a one-batch evaluate', async () => {
    const data = makeData(N);
    const valid = makeData(11, 99);
    const { model, adam } = makeModel();
    const checked: number[] = [];
    const h = await fit(model, adam, data, {
      epochs: 2,
      batchSize: BS,
      validationData: valid,
      validationBatchSize: 4,
      callbacks: {
        async onEpochEnd({ validLoss, validBatchLosses }) {
          // the same mean in one pass over all 11 samples (MSE: equal up to summation order)
          const whole = await model.evaluate(valid.x, valid.y);
          expect(Math.abs((validLoss as number) - whole.loss) / whole.loss).toBeLessThan(1e-12);
          expect(validBatchLosses).toHaveLength(3);
          checked.push(validLoss as number);
        },
      },
    });
    expect(h.validLoss).toEqual(checked);
    expect(h.validLoss).toHaveLength(2);
  });

  it('fires every callback in order, the right number of times, each list entry in turn', async () => {
    const events: string[] = [];
    const log = (tag: string): FitCallbacks => ({
      onTrainBegin: (i) =>
        void events.push(`${tag}:trainBegin ${i.initialEpoch}-${i.epochs} ${i.stepsPerEpoch}`),
      onEpochBegin: (i) => void events.push(`${tag}:epochBegin ${i.epoch} @${i.step}`),
      onBatchEnd: (i) => void events.push(`${tag}:batch ${i.epoch}.${i.batch} @${i.step} n=${i.size}`),
      onValidationBatchEnd: (i) => void events.push(`${tag}:valid ${i.epoch}.${i.batch} n=${i.size}`),
      onEpochEnd: (i) => void events.push(`${tag}:epochEnd ${i.epoch} steps=${i.steps}`),
      onTrainEnd: (h) => void events.push(`${tag}:trainEnd ${h.steps}`),
    });
    const { model, adam } = makeModel();
    await fit(model, adam, makeData(12), {
      epochs: 2,
      batchSize: 5,
      validationData: makeData(7, 1),
      validationBatchSize: 4,
      callbacks: [log('a'), log('b')],
    });
    const both = (e: string) => [`a:${e}`, `b:${e}`];
    const epoch = (k: number) => [
      ...both(`epochBegin ${k} @${3 * k}`),
      ...both(`batch ${k}.0 @${3 * k} n=5`),
      ...both(`batch ${k}.1 @${3 * k + 1} n=5`),
      ...both(`batch ${k}.2 @${3 * k + 2} n=2`),
      ...both(`valid ${k}.0 n=4`),
      ...both(`valid ${k}.1 n=3`),
      ...both(`epochEnd ${k} steps=${3 * k + 3}`),
    ];
    expect(events).toEqual([...both('trainBegin 0-2 3'), ...epoch(0), ...epoch(1), ...both('trainEnd 6')]);
  });

  it("stops after the epoch whose onEpochEnd returns 'stop'", async () => {
    const { model, adam } = makeModel();
    let ended = false;
    const h = await fit(model, adam, makeData(N), {
      epochs: 5,
      batchSize: BS,
      callbacks: [
        { onEpochEnd: ({ epoch }) => (epoch === 1 ? 'stop' : undefined) },
        {
          onTrainEnd: () => {
            ended = true;
          },
        },
      ],
    });
    expect(h.epochs).toEqual([0, 1]);
    expect(h.stoppedEarly).toBe(true);
    expect(h.steps).toBe(2 * PER_EPOCH);
    expect(adam.stepCount).toBe(2 * PER_EPOCH);
    expect(ended).toBe(true);
  });

  it('resumed at initialEpoch from a checkpoint, ends as an uninterrupted fit', async () => {
    const data = makeData(N);
    const valid = makeData(9, 5);
    const opts = {
      batchSize: BS,
      seed: 11,
      validationData: valid,
      schedule: { name: 'cosine', lr: 0.05 },
    } as const;
    const whole = makeModel();
    const full = await fit(whole.model, whole.adam, data, { ...opts, epochs: 5 });

    const first = makeModel();
    // the first half runs as part of the 5-epoch fit (the cosine spans all 5), stopped after epoch 1
    const head = await fit(first.model, first.adam, data, {
      ...opts,
      epochs: 5,
      callbacks: { onEpochEnd: ({ epoch }) => (epoch === 1 ? 'stop' : undefined) },
    });
    const saved = await captureCheckpoint(first.model, first.adam);
    const second = makeModel(123); // other initial weights: the checkpoint must replace them
    await restoreCheckpoint(saved, second.model, second.adam);
    const tail = await fit(second.model, second.adam, data, { ...opts, epochs: 5, initialEpoch: 2 });

    expect(tail.epochs).toEqual([2, 3, 4]);
    expect(tail.steps).toBe(full.steps);
    for (const k of ['epochs', 'trainLoss', 'validLoss', 'lr', 'stepLoss'] as const) {
      expect([...head[k], ...tail[k]], k).toEqual(full[k]);
    }
    expect(await sameParameters(second.model, whole.model)).toBe(true);
  });

  it('with initialEpoch = epochs trains nothing', async () => {
    const { model, adam } = makeModel();
    const h = await fit(model, adam, makeData(N), { epochs: 3, initialEpoch: 3, batchSize: BS });
    expect(h.epochs).toEqual([]);
    expect(h.steps).toBe(3 * PER_EPOCH);
    expect(adam.stepCount).toBe(0);
  });

  it('an AbortSignal stops between two steps with TrainingAborted carrying the history so far', async () => {
    const { model, adam } = makeModel();
    const ctl = new AbortController();
    const err = await fit(model, adam, makeData(N), {
      epochs: 3,
      batchSize: BS,
      signal: ctl.signal,
      callbacks: { onBatchEnd: ({ step }) => void (step === 6 && ctl.abort('enough')) },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingAborted);
    const aborted = err as TrainingAborted;
    expect(aborted.cause).toBe('enough');
    expect(aborted.history?.stepLoss).toHaveLength(7);
    expect(aborted.history?.epochs).toEqual([0]);
    expect(adam.stepCount).toBe(7);
  });

  it('an AbortSignal also stops a validation pass, and an aborted signal stops before the first step', async () => {
    const { model, adam } = makeModel();
    const ctl = new AbortController();
    const run = fit(model, adam, makeData(N), {
      epochs: 2,
      batchSize: BS,
      validationData: makeData(8, 2),
      validationBatchSize: 2,
      signal: ctl.signal,
      callbacks: { onValidationBatchEnd: ({ batch }) => void (batch === 1 && ctl.abort()) },
    });
    await expect(run).rejects.toBeInstanceOf(TrainingAborted);
    expect(adam.stepCount).toBe(PER_EPOCH);

    const fresh = makeModel();
    await expect(
      fit(fresh.model, fresh.adam, makeData(N), { epochs: 1, batchSize: BS, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(TrainingAborted);
    expect(fresh.adam.stepCount).toBe(0);
  });
});
