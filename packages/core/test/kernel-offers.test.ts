import { describe, expect, it, vi } from 'vitest';
import {
  type Backend,
  CELLS,
  InputError,
  KERNEL_LEVEL,
  kernelLevels,
  MultiLayerRNN,
  offeredKernels,
  ReferenceBackend,
  Rng,
  registerKernel,
  type StepKernels,
} from '../src/index.js';
import { forwarding } from './helpers.js';

/** A level-1 backend (storage and GEMM only) over a fresh reference instance. */
const bare = (): Backend => {
  const be = forwarding(new ReferenceBackend('bare'), {});
  delete be.cellKernels;
  return be;
};

/** A step pair that counts its calls and runs the reference backend's own kernels. */
function countingStep(): StepKernels & { calls: number } {
  const base = offeredKernels(new ReferenceBackend(), 'nBRC').step!;
  const k = {
    calls: 0,
    forward: (a: Parameters<StepKernels['forward']>[0]) => {
      k.calls++;
      return base.forward(a);
    },
    backward: (a: Parameters<StepKernels['backward']>[0]) => {
      k.calls++;
      return base.backward(a);
    },
  };
  return k;
}

async function forwardOnce(be: Backend): Promise<Float64Array> {
  const rnn = new MultiLayerRNN(be, {
    cell: 'nBRC',
    inputSize: 2,
    hiddenSize: 3,
    numLayers: 1,
    dtype: 'float64',
    seed: 4,
  });
  const rng = new Rng(1);
  const x = { shape: [2, 5, 2], data: Float64Array.from({ length: 20 }, () => rng.normal()) };
  const { output } = await rnn.forward(x);
  rnn.dispose();
  return Float64Array.from(output.data);
}

describe('kernels belong to backend instances', () => {
  it('asks a backend for a cell once and keeps its offer', () => {
    const be = new ReferenceBackend('asked-once');
    const spy = vi.spyOn(be, 'cellKernels');
    expect(kernelLevels(be, 'GRU')).toEqual([1, 2, 3]);
    expect(kernelLevels(be, CELLS.GRU)).toEqual([1, 2, 3]);
    offeredKernels(be, 'GRU');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('runs registered kernels on that instance only, in front of its own offer', async () => {
    const a = bare();
    const b = bare();
    const step = countingStep();
    registerKernel({ backend: a, cell: 'nBRC', level: KERNEL_LEVEL.step, kernels: step });
    expect(kernelLevels(a, 'nBRC')).toEqual([1, 2]);
    expect(kernelLevels(b, 'nBRC')).toEqual([1]);
    expect(kernelLevels(a, 'GRU')).toEqual([1]);
    const viaKernels = await forwardOnce(a);
    expect(step.calls).toBe(5); // one per time step
    // level 1 on the other instance computes the same outputs through the host functions
    const viaHost = await forwardOnce(b);
    expect(step.calls).toBe(5);
    expect(Array.from(viaKernels)).toEqual(Array.from(viaHost));
  });

  it('refuses a second registration of one level of one cell on one instance', () => {
    const be = bare();
    registerKernel({ backend: be, cell: 'LSTM', level: KERNEL_LEVEL.step, kernels: countingStep() });
    const again = () =>
      registerKernel({ backend: be, cell: CELLS.LSTM, level: KERNEL_LEVEL.step, kernels: countingStep() });
    expect(again).toThrow(InputError);
    expect(again).toThrow("LSTM already has step-level kernels registered on backend 'bare'");
    // another level of the cell, and the same level on another instance, are fine
    const seq = offeredKernels(new ReferenceBackend(), 'LSTM').sequence!;
    registerKernel({ backend: be, cell: 'LSTM', level: KERNEL_LEVEL.sequence, kernels: seq });
    registerKernel({ backend: bare(), cell: 'LSTM', level: KERNEL_LEVEL.step, kernels: countingStep() });
    expect(kernelLevels(be, 'LSTM')).toEqual([1, 2, 3]);
  });

  it('names an unknown cell', () => {
    expect(() =>
      registerKernel({ backend: bare(), cell: 'RNN', level: KERNEL_LEVEL.step, kernels: countingStep() }),
    ).toThrow("unknown cell 'RNN'");
  });
});
