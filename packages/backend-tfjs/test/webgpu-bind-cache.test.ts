import { Adam, getBackend, probeBackend, SequenceModel } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';
import { WebgpuTfjsBackend, wgslRunner } from '../src/webgpu/index.js';

/**
 * Cached bind groups (runner.ts, bind-cache.ts) must change nothing but host time: training with
 * them gives bit-identical parameters to training without, and repeated steps do hit the cache.
 * Needs a WebGPU adapter (lavapipe in CI); skipped with the reason otherwise.
 */
const probe = await probeBackend('tfjs-webgpu');

async function wgsl(): Promise<WebgpuTfjsBackend> {
  const reg = await getBackend('tfjs-webgpu');
  return reg instanceof WebgpuTfjsBackend ? reg : new WebgpuTfjsBackend();
}

async function train(cacheBindGroups: boolean): Promise<Record<string, Float32Array>> {
  const be = await wgsl();
  wgslRunner().cacheBindGroups = cacheBindGroups;
  const model = new SequenceModel(be, {
    cell: 'GRU',
    inputSize: 2,
    hiddenSize: 12,
    numLayers: 2,
    readout: 'sequence',
    loss: 'bce',
    outputSize: 1,
    seed: 5,
  });
  const opt = new Adam(be, [model], { lr: 0.01 });
  const B = 3;
  const T = 7;
  const x = { shape: [B, T, 2], data: Float32Array.from({ length: B * T * 2 }, (_, i) => Math.sin(i * 0.7)) };
  const y = { shape: [B, T, 1], data: Float32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 1 : 0)) };
  for (let s = 0; s < 4; s++) {
    await model.lossAndGradients(x, y);
    await opt.step();
  }
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(await model.getParameters())) out[k] = Float32Array.from(v.data);
  model.dispose();
  opt.dispose();
  return out;
}

describe.skipIf(!probe.ok)('tfjs-webgpu: cached bind groups', () => {
  it('train bit-identically to fresh bind groups, and are reused from the second step on', async () => {
    const fresh = await train(false);
    const before = wgslRunner().bindCache.hits;
    const cached = await train(true);
    expect(wgslRunner().bindCache.hits).toBeGreaterThan(before + 20);
    expect(Object.keys(cached).sort()).toEqual(Object.keys(fresh).sort());
    for (const k of Object.keys(fresh)) expect(cached[k], k).toEqual(fresh[k]);
  });
});
