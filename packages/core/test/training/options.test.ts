import { describe, expect, it } from 'vitest';
import {
  evaluateData,
  type FitData,
  type FitOptions,
  fit,
  InputError,
  type LrScheduleSpec,
  lrSchedule,
  type Optimizer,
} from '../../src/index.js';
import { makeData, makeModel, O, T } from './setup.js';

const N = 10;

/** Options as a caller without types might pass them. */
const loose = (o: Record<string, unknown>) => o as unknown as FitOptions;

const badOptions: [string, Record<string, unknown>, RegExp][] = [
  ['epochs 0', { epochs: 0 }, /epochs must be a positive integer, got 0/],
  ['fractional epochs', { epochs: 1.5 }, /epochs must be a positive integer, got 1.5/],
  ['batchSize 0', { batchSize: 0 }, /batchSize must be a positive integer, got 0/],
  [
    'batchSize over the samples',
    { batchSize: 11 },
    /batchSize \(11\) is larger than the 10 training samples/,
  ],
  [
    'initialEpoch past epochs',
    { initialEpoch: 4 },
    /initialEpoch must be an integer in \[0, epochs = 3\], got 4/,
  ],
  [
    'negative initialEpoch',
    { initialEpoch: -1 },
    /initialEpoch must be an integer in \[0, epochs = 3\], got -1/,
  ],
  ['negative seed', { seed: -1 }, /seed must be a non-negative integer, got -1/],
  ['shuffle not a boolean', { shuffle: 'yes' }, /shuffle must be true or false, got yes/],
  ['negative clipNorm', { clipNorm: -1 }, /clipNorm must be a positive finite number, got -1/],
  ['NaN clipNorm', { clipNorm: Number.NaN }, /clipNorm must be a positive finite number, got NaN/],
  ['zero clipValue', { clipValue: 0 }, /clipValue must be a positive finite number, got 0/],
  ['unknown option', { epoch: 3 }, /unknown fit option 'epoch'/],
  [
    'unknown schedule name',
    { schedule: { name: 'linear', lr: 0.1 } },
    /unknown learning rate schedule 'linear'/,
  ],
  [
    'NaN schedule lr',
    { schedule: { name: 'constant', lr: Number.NaN } },
    /schedule 'constant': lr must be a positive finite number, got NaN/,
  ],
  [
    'schedule field of another schedule',
    { schedule: { name: 'step', lr: 0.1, gamma: 0.5, every: 1, steps: 3 } },
    /the 'step' schedule has no 'steps'; it takes lr, gamma, every/,
  ],
  [
    'step schedule without every',
    { schedule: { name: 'step', lr: 0.1, gamma: 0.5 } },
    /every \(epochs\) must be a positive integer, got undefined/,
  ],
  [
    'cosine minLr above lr',
    { schedule: { name: 'cosine', lr: 0.1, minLr: 0.2 } },
    /minLr must be a number in \[0, lr = 0.1\], got 0.2/,
  ],
  [
    'schedule of a wrong type',
    { schedule: 0.1 },
    /schedule must be a function \(step, epoch\) => lr or \{name, …\}, got 0.1/,
  ],
  [
    'schedule giving NaN',
    { schedule: () => Number.NaN },
    /the learning rate schedule gave NaN for step 0 \(epoch 0\)/,
  ],
  [
    'schedule giving a negative rate',
    { schedule: (s: number) => 0.1 - s },
    /schedule gave -0.9 for step 1 \(epoch 0\)/,
  ],
  ['unknown hook', { callbacks: { onEpochEnds: () => {} } }, /callbacks has an unknown hook 'onEpochEnds'/],
  [
    'hook not a function',
    { callbacks: [{}, { onBatchEnd: 3 }] },
    /callbacks\[1\].onBatchEnd must be a function/,
  ],
  [
    'validationBatchSize without validationData',
    { validationBatchSize: 4 },
    /validationBatchSize is set but there is no validationData/,
  ],
  ['signal of a wrong type', { signal: 'stop' }, /signal must be an AbortSignal/],
];

describe('fit refuses bad options with an InputError that names the problem', () => {
  it.each(badOptions)('%s', async (name, patch, message) => {
    const { model, adam } = makeModel();
    const err = await fit(model, adam, makeData(N), loose({ epochs: 3, batchSize: 5, ...patch })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    // every option is checked before the first step; only a schedule's rates come one step at a time
    expect(adam.stepCount).toBe(name === 'schedule giving a negative rate' ? 1 : 0);
  });

  const x = (n: number) => ({ shape: [n, T, 2], data: new Float64Array(n * T * 2) });
  const y = (n: number) => ({ shape: [n, O], data: new Float64Array(n * O) });
  const badData: [string, unknown, RegExp][] = [
    [
      'x and y of different sample counts',
      { x: x(10), y: y(9) },
      /train.x holds 10 samples but train.y holds 9/,
    ],
    [
      'x data not matching its shape',
      { x: { shape: [10, T, 2], data: new Float64Array(5) }, y: y(10) },
      /train.x has 5 values but its shape \[10, 5, 2\] needs 100/,
    ],
    [
      'a NaN in y',
      { x: x(10), y: { shape: [10, O], data: new Float64Array(10 * O).fill(Number.NaN) } },
      /train.y holds a non-finite value \(NaN\)/,
    ],
    [
      'neither tensors nor a dataset',
      { inputs: [] },
      /train must be \{x, y\} tensors or a dataset \{size, batch\(indices\)\}/,
    ],
    ['a dataset of size 0', { size: 0, batch: () => ({}) }, /train.size must be a positive integer, got 0/],
    ['nothing', undefined, /train must be \{x, y\} tensors or a dataset/],
  ];
  it.each(badData)('train: %s', async (_name, data, message) => {
    const { model, adam } = makeModel();
    await expect(fit(model, adam, data as FitData, { epochs: 1, batchSize: 5 })).rejects.toThrow(message);
    expect(adam.stepCount).toBe(0);
  });

  it('validationData is checked before the first step too', async () => {
    const { model, adam } = makeModel();
    const run = fit(model, adam, makeData(N), {
      epochs: 1,
      batchSize: 5,
      validationData: { x: x(4), y: y(3) },
    });
    await expect(run).rejects.toThrow(/validationData.x holds 4 samples but validationData.y holds 3/);
    expect(adam.stepCount).toBe(0);
  });

  it('a schedule needs an optimiser that can set its rate', async () => {
    const { model, adam } = makeModel();
    const fixed: Optimizer = {
      backend: adam.backend,
      step: () => adam.step(),
      state: () => adam.state(),
      loadState: (s) => adam.loadState(s),
      dispose: () => adam.dispose(),
    };
    await expect(
      fit(model, fixed, makeData(N), { epochs: 1, batchSize: 5, schedule: { name: 'constant', lr: 0.1 } }),
    ).rejects.toThrow(/a learning rate schedule needs an optimizer with setLearningRate/);
  });

  it('evaluateData and lrSchedule check their own arguments', async () => {
    const { model } = makeModel();
    await expect(evaluateData(model, makeData(N), { batchSize: 0 })).rejects.toThrow(
      /batchSize must be a positive integer, got 0/,
    );
    expect(() => lrSchedule({ name: 'cosine', lr: 0.1 })).toThrow(/schedule 'cosine' needs steps/);
    expect(() =>
      lrSchedule({ name: 'exponential', lr: 0.1, gamma: 0.9, per: 'batch' } as unknown as LrScheduleSpec),
    ).toThrow(/per must be 'epoch' or 'step', got batch/);
  });
});
