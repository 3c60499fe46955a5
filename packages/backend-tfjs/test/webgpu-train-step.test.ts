import type { LossKind, Readout } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { wgslRunner } from '../src/webgpu/index.js';
import { trainThreeSteps } from './train-batch.js';
import { probe, webgpuBackend } from './webgpu-setup.js';

/**
 * trainStep on tfjs-webgpu computes the loss gradient on the device and reads the predictions back
 * only after the update is recorded; it must train as lossAndGradients (host loss gradient) and
 * Adam do. Needs a WebGPU adapter (lavapipe in CI); skipped with the reason otherwise.
 */

async function train(readout: Readout, loss: LossKind, useTrainStep: boolean) {
  return trainThreeSteps(await webgpuBackend(), { cell: 'GRU', readout, loss, hostLoss: !useTrainStep });
}

describe.skipIf(!probe.ok)('tfjs-webgpu: trainStep with the loss gradient on the device', () => {
  for (const [readout, loss] of [
    ['last', 'mse'],
    ['sequence', 'bce'],
  ] as [Readout, LossKind][]) {
    it(`${readout}/${loss} trains as lossAndGradients + Adam`, async () => {
      const host = await train(readout, loss, false);
      const before = wgslRunner().stats.dispatches;
      const dev = await train(readout, loss, true);
      expect(wgslRunner().stats.dispatches).toBeGreaterThan(before);
      for (let s = 0; s < 3; s++)
        expect(Math.abs(dev.losses[s] - host.losses[s]) / host.losses[s]).toBeLessThan(1e-5);
      for (const k of Object.keys(host.params)) {
        expect(worstError(dev.params[k].data, host.params[k].data), k).toBeLessThan(1e-5);
      }
    });
  }
});
