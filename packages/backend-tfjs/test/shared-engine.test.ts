import { Adam, getBackend, Rng, SequenceModel } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { activeTfjsBackend } from '../src/global-backend.js';
import '../src/index.js';

/**
 * tfjs has one active backend per process. Each bistable tfjs backend makes its own the active one
 * before it works, so two of them can be used in turn: results stay right and no tensor migrates.
 */
it('tfjs-cpu and tfjs-wasm used in turn keep their tensors apart and agree with reference', async () => {
  const cpu = await getBackend('tfjs-cpu');
  const wasm = await getBackend('tfjs-wasm');
  const ref = await getBackend('reference');
  const dataIds = (name: string) => tf.findBackend(name)!.numDataIds();

  const rng = new Rng(7);
  const B = 3;
  const T = 6;
  const x = Float32Array.from({ length: B * T }, () => rng.uniform() * 2 - 1);
  const y = Float32Array.from({ length: B }, (_, b) => x[b * T]);
  const xs = { shape: [B, T, 1], data: x };
  const ys = { shape: [B, 1], data: y };
  const make = (be: typeof cpu) => {
    const model = new SequenceModel(be, {
      cell: 'nBRC',
      inputSize: 1,
      hiddenSize: 6,
      numLayers: 2,
      readout: 'last',
      loss: 'mse',
      dtype: 'float32',
      seed: 5,
    });
    return { model, opt: new Adam(be, [model], { lr: 1e-2 }) };
  };

  const beforeWasm = dataIds('wasm');
  const c = make(cpu);
  const cpuAfterAlloc = dataIds('cpu');
  const w = make(wasm);
  // wasm's buffers were made on wasm, cpu's count did not move
  expect(dataIds('cpu')).toBe(cpuAfterAlloc);
  expect(dataIds('wasm')).toBeGreaterThan(beforeWasm);
  const r = make(ref);

  for (let step = 0; step < 3; step++) {
    const lc = (await c.model.lossAndGradients(xs, ys)).loss;
    await c.opt.step();
    // the user chose no tfjs backend, and after bistable's work none is chosen still
    expect(activeTfjsBackend()).toBeNull();
    const cpuIds = dataIds('cpu');
    const lw = (await w.model.lossAndGradients(xs, ys)).loss;
    await w.opt.step();
    expect(activeTfjsBackend()).toBeNull();
    // wasm's work neither moved cpu tensors onto wasm nor made new ones on cpu
    expect(dataIds('cpu')).toBe(cpuIds);
    const lr = (await r.model.lossAndGradients(xs, ys)).loss;
    await r.opt.step();
    expect(Math.abs(lc - lr)).toBeLessThan(1e-5);
    expect(Math.abs(lw - lr)).toBeLessThan(1e-5);
  }
  c.model.dispose();
  w.model.dispose();
  r.model.dispose();
});
