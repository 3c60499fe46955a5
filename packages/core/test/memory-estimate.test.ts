import { describe, expect, it } from 'vitest';
import {
  CELL_NAMES,
  checkMemoryFits,
  estimateTrainingMemory,
  getBackend,
  InputError,
  SequenceModel,
} from '../src/index.js';

const reference = await getBackend('reference');

describe('estimateTrainingMemory', () => {
  it.each([...CELL_NAMES])('%s: counts exactly the parameters a built model holds', async (cell) => {
    for (const [layers, bidirectional] of [
      [1, false],
      [2, true],
    ] as const) {
      const size = {
        cell,
        inputSize: 3,
        hiddenSize: 7,
        numLayers: layers,
        bidirectional,
        outputSize: 2,
        dtype: 'float64' as const,
      };
      const model = new SequenceModel(reference, { ...size, readout: 'last', loss: 'mse' });
      const named = await model.getParameters();
      const counted = Object.values(named).reduce((a, t) => a + t.data.length, 0);
      const est = estimateTrainingMemory(size);
      expect(est.parameters, `${layers} layers, bidirectional ${bidirectional}`).toBe(counted);
      // weights and gradients, then Adam's two moments, 8 bytes each
      expect(est.modelBytes).toBe(16 * counted);
      expect(est.optimizerBytes).toBe(16 * counted);
      model.dispose();
    }
  });

  it('grows the activations with batch × length, and not the parameters', () => {
    const base = { cell: 'GRU' as const, inputSize: 1, hiddenSize: 100, numLayers: 2 };
    const a = estimateTrainingMemory({ ...base, batch: 100, seqLen: 100 });
    const b = estimateTrainingMemory({ ...base, batch: 200, seqLen: 300 });
    expect(b.parameters).toBe(a.parameters);
    expect(b.activationBytes).toBe(6 * a.activationBytes);
  });
});

describe('checkMemoryFits', () => {
  it('refuses a model over the limit, naming the hidden size and both amounts', () => {
    const cpu = { name: 'cpu', memoryLimits: { float32: 4 * 2 ** 30 } };
    const size = { cell: 'nBRC' as const, inputSize: 1, hiddenSize: 30_000, numLayers: 2 };
    expect(() => checkMemoryFits(cpu, size)).toThrow(InputError);
    expect(() => checkMemoryFits(cpu, size)).toThrow(
      /nBRC model with hidden size 30000: .* parameters.* need [\d.]+ GiB .*more than backend 'cpu' can hold \(4\.0 GiB\)/,
    );
    // brc_pytorch's model fits; so does the same model where no limit is known
    expect(checkMemoryFits(cpu, { ...size, hiddenSize: 100, batch: 100, seqLen: 300 }).total).toBeLessThan(
      2 ** 30,
    );
    expect(() => checkMemoryFits({ name: 'x' }, size)).not.toThrow();
  });

  it('blames batch and length when the activations are what does not fit', () => {
    const size = {
      cell: 'GRU' as const,
      inputSize: 1,
      hiddenSize: 2000,
      numLayers: 2,
      batch: 1000,
      seqLen: 5000,
    };
    expect(() => checkMemoryFits({ name: 'cpu' }, size, { limitBytes: 2 ** 32 })).toThrow(
      /hidden size 2000 × batch 1000 × sequence length 5000: the saved activations need/,
    );
  });

  it('stops SequenceModel before it allocates a model that cannot fit the cpu backend', async () => {
    const cpu = await getBackend('cpu');
    expect(
      () =>
        new SequenceModel(cpu, {
          cell: 'LSTM',
          inputSize: 1,
          hiddenSize: 1e9,
          readout: 'last',
          loss: 'mse',
        }),
    ).toThrow(/hidden size 1000000000: .* and their gradients need/);
  });
});
