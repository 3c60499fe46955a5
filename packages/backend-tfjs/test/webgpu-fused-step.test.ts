import { type Backend, type CellName, getBackend, type LossKind, type Readout } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { trainThreeSteps } from './train-batch.js';
import { logSkip, probe, steadyStepCounts, webgpuBackend } from './webgpu-setup.js';

/**
 * A whole training step on tfjs-webgpu in a handful of dispatches (issue 17): the readout, loss
 * gradient and readout backward fused, the sequence kernels starting from their own zero state and
 * needing no preparation pass, every weight gradient in one batch, one Adam pass over the
 * parameter arena. It must still train as the reference backend does in float64. Needs a WebGPU
 * adapter (lavapipe in CI); skipped with the reason otherwise.
 */
const reference = await getBackend('reference');
logSkip('fused-step tests');

/** Dispatches of one 2-layer training step (after a first, which compiles), by cell. */
async function dispatchesPerStep(cell: CellName): Promise<number> {
  const [a, b] = await steadyStepCounts({ cell, seqLen: 7, batch: 5, hidden: 12, layers: 2 });
  expect(b.dispatches).toBe(a.dispatches);
  expect(a.readbacks).toBe(1);
  return a.dispatches;
}

/** Three steps on `be`, in float64 where it has it (trainThreeSteps). */
async function train(be: Backend, cell: CellName, readout: Readout, loss: LossKind) {
  const dtype = be.dtypes.includes('float64') ? 'float64' : 'float32';
  return trainThreeSteps(be, { cell, readout, loss, dtype });
}

describe.skipIf(!probe.ok)('tfjs-webgpu: a training step in few dispatches', () => {
  it('a 2-layer step of every cell takes at most 12 dispatches', async () => {
    const counts: Record<string, number> = {};
    for (const cell of ['nBRC', 'BRC', 'GRU', 'LSTM'] as CellName[])
      counts[cell] = await dispatchesPerStep(cell);
    console.log(`[tfjs-webgpu] dispatches per 2-layer training step: ${JSON.stringify(counts)}`);
    expect(counts.nBRC).toBeLessThanOrEqual(12);
    expect(counts.BRC).toBeLessThanOrEqual(12);
    expect(counts.GRU).toBeLessThanOrEqual(12);
    expect(counts.LSTM).toBeLessThanOrEqual(12);
  });

  for (const cell of ['nBRC', 'BRC', 'GRU', 'LSTM'] as CellName[]) {
    for (const [readout, loss] of [
      ['last', 'mse'],
      ['sequence', 'bce'],
    ] as [Readout, LossKind][]) {
      it(`${cell} ${readout}/${loss}: trains as the reference backend in float64`, async () => {
        const want = await train(reference, cell, readout, loss);
        const got = await train(await webgpuBackend(), cell, readout, loss);
        for (let s = 0; s < 3; s++)
          expect(Math.abs(got.losses[s] - want.losses[s]) / want.losses[s]).toBeLessThan(2e-5);
        for (const k of Object.keys(want.params)) {
          expect(worstError(got.params[k].data, want.params[k].data), k).toBeLessThan(2e-5);
        }
      });
    }
  }
});
