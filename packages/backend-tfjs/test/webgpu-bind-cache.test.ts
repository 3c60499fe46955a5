import { Adam, SequenceModel } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { type WebgpuTfjsBackend, wgslRunner } from '../src/webgpu/index.js';
import { probe, webgpuBackend } from './webgpu-setup.js';

/**
 * Cached bind groups (runner.ts, bind-cache.ts) must change nothing but host time: training with
 * them gives bit-identical parameters to training without, and repeated steps do hit the cache.
 * Writes go into the existing GPU buffers, so a training step with a new batch reuses every bind
 * group, the ones that bind the input and the target included. Needs a WebGPU adapter (lavapipe
 * in CI); skipped with the reason otherwise.
 */

async function train(cacheBindGroups: boolean): Promise<Record<string, Float32Array>> {
  const be = await webgpuBackend();
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

/** A batch that differs from step to step (different values, same shapes). */
function batch(step: number, B: number, T: number) {
  const x = {
    shape: [B, T, 2],
    data: Float32Array.from({ length: B * T * 2 }, (_, i) => Math.sin(i * 0.3 + step)),
  };
  const y = {
    shape: [B, T, 1],
    data: Float32Array.from({ length: B * T }, (_, i) => Math.cos(i * 0.5 - step)),
  };
  return { x, y };
}

async function nbrc(be: WebgpuTfjsBackend) {
  const model = new SequenceModel(be, {
    cell: 'nBRC',
    inputSize: 2,
    hiddenSize: 12,
    numLayers: 2,
    readout: 'sequence',
    loss: 'mse',
    outputSize: 1,
    seed: 3,
  });
  return { model, opt: new Adam(be, [model], { lr: 0.01 }) };
}

describe.skipIf(!probe.ok)('tfjs-webgpu: a steady trainStep with a new batch', () => {
  it("nBRC: every dispatch, the loss gradient's included, reuses a cached bind group; no GPU buffer is made", async () => {
    const be = await webgpuBackend();
    const runner = wgslRunner();
    runner.cacheBindGroups = true;
    const { model, opt } = await nbrc(be);
    const [B, T] = [3, 5];
    // the first step sees each bind group, the second makes it
    for (let s = 0; s < 2; s++) {
      const { x, y } = batch(s, B, T);
      await model.trainStep(x, y, opt);
    }
    const device = runner.device;
    let made = 0;
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      made++;
      return createBuffer.call(this, d);
    };
    let lossDispatches = 0;
    const run = runner.run;
    runner.run = function (this: typeof runner, spec) {
      if (spec.key.startsWith('loss-grad/')) lossDispatches++;
      return run.call(this, spec);
    };
    try {
      for (let s = 2; s < 5; s++) {
        const { x, y } = batch(s, B, T);
        const [d0, h0] = [runner.stats.dispatches, runner.bindCache.hits];
        await model.trainStep(x, y, opt);
        const dispatches = runner.stats.dispatches - d0;
        expect(dispatches).toBeGreaterThan(10);
        expect(runner.bindCache.hits - h0, `step ${s}: cache hits of ${dispatches} dispatches`).toBe(
          dispatches,
        );
      }
    } finally {
      Reflect.deleteProperty(device, 'createBuffer');
      Reflect.deleteProperty(runner, 'run');
    }
    expect(lossDispatches).toBe(3);
    // neither the writes nor Adam's step factors make a buffer (tfjs's own pools are warm)
    expect(made).toBe(0);
    model.dispose();
    opt.dispose();
  });

  it('nBRC: trains bit-identically with writes in place and with writes through tfjs ops', async () => {
    const be = await webgpuBackend();
    wgslRunner().cacheBindGroups = true;
    const trained: { losses: number[]; params: Record<string, Float32Array> }[] = [];
    for (const inPlace of [false, true]) {
      be.writeInPlace = inPlace;
      try {
        const { model, opt } = await nbrc(be);
        const losses: number[] = [];
        for (let s = 0; s < 4; s++) {
          const { x, y } = batch(s, 3, 5);
          losses.push((await model.trainStep(x, y, opt)).loss);
        }
        const params: Record<string, Float32Array> = {};
        for (const [k, v] of Object.entries(await model.getParameters()))
          params[k] = Float32Array.from(v.data);
        trained.push({ losses, params });
        model.dispose();
        opt.dispose();
      } finally {
        be.writeInPlace = true;
      }
    }
    const [generic, inPlace] = trained;
    expect(inPlace.losses).toEqual(generic.losses);
    expect(Object.keys(inPlace.params).sort()).toEqual(Object.keys(generic.params).sort());
    for (const k of Object.keys(generic.params)) expect(inPlace.params[k], k).toEqual(generic.params[k]);
  });
});
