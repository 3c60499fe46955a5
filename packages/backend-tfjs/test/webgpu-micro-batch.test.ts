import { type CellName, getBackend, type LossKind, type Readout, Rng, SequenceModel } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { WebgpuTfjsBackend } from '../src/webgpu/index.js';
import { logSkip, probe } from './webgpu-setup.js';

/**
 * SequenceModel's micro-batches through the WGSL kernels: a batch split because the backend's
 * buffer limit is lowered must train like the whole batch. Skipped without a WebGPU adapter;
 * with lavapipe (eval "$(bash scripts/lavapipe.sh)") it runs on the CPU, so sizes stay tiny.
 */
logSkip('micro-batch tests');

const [B, T, H] = [5, 4, 8];
const TOL = 2e-5;

describe.skipIf(!probe.ok)('tfjs-webgpu: micro-batches (float32)', () => {
  it("reports the device's buffer limit, lowered by the constructor option", async () => {
    const be = new WebgpuTfjsBackend();
    expect(be.maxBufferBytes).toBeGreaterThanOrEqual(2 ** 27); // WebGPU's guaranteed minimum
    expect(new WebgpuTfjsBackend('tfjs-webgpu', { maxBufferBytes: 4096 }).maxBufferBytes).toBe(4096);
    expect((await getBackend('tfjs-webgpu')).maxBufferBytes).toBe(be.maxBufferBytes);
  });

  const cases: [CellName, Readout, LossKind][] = [
    ['BRC', 'last', 'mse'],
    ['GRU', 'sequence', 'bce'],
  ];
  for (const [cell, readout, loss] of cases) {
    it(`${cell}, '${readout}' ${loss}: a training step split by the limit equals the whole batch`, async () => {
      const make = (be: WebgpuTfjsBackend) =>
        new SequenceModel(be, { cell, inputSize: 1, hiddenSize: H, numLayers: 2, readout, loss, seed: 4 });
      const whole = make(new WebgpuTfjsBackend());
      // room for 2 rows per pass: 3 passes of 2 rows, the last one padded
      const limit = whole.largestBuffer(T, 2).length * 4;
      const split = make(new WebgpuTfjsBackend('tfjs-webgpu', { maxBufferBytes: limit }));
      expect(split.microBatchPlan(B, T)).toEqual({ B, rows: 2, passes: 3 });
      expect(whole.microBatchPlan(B, T).passes).toBe(1);
      const rng = new Rng(2);
      const x = { shape: [B, T, 1], data: Float32Array.from({ length: B * T }, () => rng.normal()) };
      const n = readout === 'last' ? B : B * T;
      const y = {
        shape: readout === 'last' ? [B, 1] : [B, T, 1],
        data: Float32Array.from({ length: n }, () =>
          loss === 'bce' ? Number(rng.uniform() < 0.5) : rng.normal(),
        ),
      };
      const a = await split.lossAndGradients(x, y);
      const b = await whole.lossAndGradients(x, y);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(TOL * Math.max(1, b.loss));
      expect(worstError(a.predictions.data, b.predictions.data)).toBeLessThan(TOL);
      const ga = await split.getGradients();
      const gb = await whole.getGradients();
      for (const k of Object.keys(gb)) expect(worstError(ga[k].data, gb[k].data), k).toBeLessThan(TOL);
      split.dispose();
      whole.dispose();
    });
  }
});
