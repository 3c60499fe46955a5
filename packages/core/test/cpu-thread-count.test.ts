import { describe, expect, it } from 'vitest';
import { Adam, type CellName, getBackend, registerCpuBackend, SequenceModel } from '../src/index.js';

// the same kernels on 1, 2 and 3 threads (parallelThreshold 0: every kernel splits its rows)
for (const threads of [1, 2, 3])
  registerCpuBackend({ name: `cpu-threads-${threads}`, threads, parallelThreshold: 0, tileRows: 4 });

/** Losses of four Adam steps and every parameter afterwards, on one backend. */
async function train(backend: string, cell: CellName, inputSize: number, B: number) {
  const be = await getBackend(backend);
  const T = 9;
  const model = new SequenceModel(be, {
    cell,
    inputSize,
    hiddenSize: 12,
    numLayers: 2,
    readout: 'last',
    loss: 'mse',
    seed: 4,
  });
  const adam = new Adam(be, [model], { lr: 0.01 });
  const x = {
    shape: [B, T, inputSize],
    data: Float32Array.from({ length: B * T * inputSize }, (_, i) => Math.sin(i * 0.37)),
  };
  const y = { shape: [B, 1], data: Float32Array.from({ length: B }, (_, i) => Math.cos(i)) };
  const losses: number[] = [];
  for (let s = 0; s < 4; s++) losses.push((await model.trainStep(x, y, adam)).loss);
  const params = await model.getParameters();
  model.dispose();
  return {
    losses,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.from(v.data)])),
  };
}

/**
 * float32 sums depend on their order. The whole-sequence backward sums the bias, memory and
 * narrow-input gradients over pairs of rows, each pair within one thread, then the pairs in row
 * order: so training is bit for bit the same on any thread count, and a study's runs agree across
 * machines with different core counts (and queue workers with different concurrency).
 */
describe('the cpu backend trains identically on 1, 2 and 3 threads', () => {
  for (const cell of ['nBRC', 'BRC', 'GRU', 'LSTM'] as const) {
    for (const [inputSize, B] of [
      [1, 13],
      [6, 20],
    ] as const) {
      it(`${cell}, input ${inputSize}, ${B} rows`, async () => {
        const one = await train('cpu-threads-1', cell, inputSize, B);
        expect(await train('cpu-threads-2', cell, inputSize, B)).toEqual(one);
        expect(await train('cpu-threads-3', cell, inputSize, B)).toEqual(one);
      });
    }
  }
});
