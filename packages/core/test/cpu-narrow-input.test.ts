import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CELL_NAMES,
  type CellName,
  type DType,
  getBackend,
  MultiLayerRNN,
  offeredKernels,
  Rng,
  registerCpuBackend,
  SequenceModel,
} from '../src/index.js';
import { maxRelErr, randn } from './helpers.js';

// two threads even at these sizes, so that the per-thread partials of dWx are reduced
registerCpuBackend({ name: 'cpu-narrow', threads: 2, parallelThreshold: 0 });
const reference = await getBackend('reference');
const cpu = await getBackend('cpu-narrow');

/** Spies on the narrow-input kernels of one cell: how many forward and backward passes took them. */
function spyNarrow(cell: CellName) {
  const narrow = offeredKernels(cpu, cell).sequence?.narrowInput;
  if (!narrow) throw new Error(`no narrow-input kernels for ${cell}`);
  return { forward: vi.spyOn(narrow, 'forward'), backward: vi.spyOn(narrow, 'backward') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const H = 13;
const B = 9;
const T = 11;

describe('narrow inputs projected inside the cpu sequence kernels', () => {
  // widths 1 and 4 take the narrow kernels in the first layer, 5 the projection GEMM; with and
  // without the input gradient (which needs dP written); checked against float64 on the reference
  it.each(
    CELL_NAMES.flatMap((cell) =>
      [1, 4, 5].flatMap((I) => [true, false].map((inputGrad) => [cell, I, inputGrad] as const)),
    ),
  )('%s, I=%i, input gradient %s: as the float64 reference', async (cell, I, inputGrad) => {
    const spy = spyNarrow(cell);
    const opts = { cell, inputSize: I, hiddenSize: H, numLayers: 2, seed: 5 };
    const want = new MultiLayerRNN(reference, { ...opts, dtype: 'float64' });
    const got = new MultiLayerRNN(cpu, { ...opts, dtype: 'float32' });
    try {
      got.setParameters(await want.getParameters());
      const rng = new Rng(I * 10 + (inputGrad ? 1 : 0));
      const x = randn(rng, [B, T, I]);
      const g = randn(rng, [B, T, H]);
      const ow = await want.forward(x);
      const og = await got.forward(x);
      expect(maxRelErr(og.output.data, ow.output.data)).toBeLessThan(2e-5);
      const gw = await want.backward({ output: g }, { inputGrad });
      const gg = await got.backward({ output: g }, { inputGrad });
      if (inputGrad) expect(maxRelErr(gg.x!.data, gw.x!.data)).toBeLessThan(5e-5);
      else expect(gg.x ?? null).toBeNull();
      const pw = await want.getGradients();
      const pg = await got.getGradients();
      for (const k of Object.keys(pw)) expect(maxRelErr(pg[k].data, pw[k].data), k).toBeLessThan(1e-4);
      // the first layer only: the second one's input is H wide
      const taken = I <= 4 ? 1 : 0;
      expect([spy.forward.mock.calls.length, spy.backward.mock.calls.length]).toEqual([taken, taken]);
      if (taken) expect(spy.backward.mock.calls[0][0].dP === null).toBe(!inputGrad);
    } finally {
      want.dispose();
      got.dispose();
    }
  });

  it.each(['GRU', 'BRC'] as const)(
    '%s: micro-batches accumulate dWx across passes, and float64 stays on the projection GEMM',
    async (cell) => {
      const spy = spyNarrow(cell);
      const make = (be: typeof cpu, dtype: DType, microBatch?: number) =>
        new SequenceModel(be, {
          cell,
          inputSize: 1,
          hiddenSize: H,
          numLayers: 2,
          outputSize: 1,
          readout: 'last',
          loss: 'mse',
          dtype,
          seed: 4,
          microBatch,
        });
      const want = make(reference, 'float64');
      const split = make(cpu, 'float32', 4);
      const f64 = make(cpu, 'float64');
      try {
        const rng = new Rng(2);
        const x = randn(rng, [B, T, 1]);
        const y = randn(rng, [B, 1]);
        await want.lossAndGradients(x, y);
        await split.lossAndGradients(x, y);
        expect(spy.backward).toHaveBeenCalledTimes(3); // 9 rows in passes of at most 4
        const gw = await want.getGradients();
        const gs = await split.getGradients();
        for (const k of Object.keys(gw)) expect(maxRelErr(gs[k].data, gw[k].data), k).toBeLessThan(5e-5);
        spy.backward.mockClear();
        await f64.lossAndGradients(x, y);
        expect(spy.backward).not.toHaveBeenCalled();
        const g64 = await f64.getGradients();
        for (const k of Object.keys(gw)) expect(maxRelErr(g64[k].data, gw[k].data), k).toBeLessThan(1e-10);
      } finally {
        want.dispose();
        split.dispose();
        f64.dispose();
      }
    },
  );
});
