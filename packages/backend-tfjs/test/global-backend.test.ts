import { Adam, getBackend, SequenceModel } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, describe, expect, it } from 'vitest';
import { activeTfjsBackend } from '../src/global-backend.js';
import { restoreTfjsBackend } from '../src/index.js';

/** The tfjs backend a new user tensor lands on. */
const backendOf = (t: tf.Tensor): string => {
  const engine = tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, { backend: unknown }> } };
  const backend = engine.state.tensorInfo.get(t.dataId)?.backend;
  return (
    tf
      .engine()
      .backendNames()
      .find((n) => tf.findBackend(n) === backend) ?? 'none'
  );
};

const copyTask = (B: number, T: number) => {
  const x = Float32Array.from({ length: B * T }, (_, i) => Math.sin(i));
  const y = Float32Array.from({ length: B }, (_, b) => x[b * T]);
  return { x: { shape: [B, T, 1], data: x }, y: { shape: [B, 1], data: y } };
};

async function trainOnWasm(steps: number, check: () => void) {
  const wasm = await getBackend('tfjs-wasm');
  check();
  const model = new SequenceModel(wasm, {
    cell: 'nBRC',
    inputSize: 1,
    hiddenSize: 4,
    readout: 'last',
    loss: 'mse',
    seed: 1,
  });
  const adam = new Adam(wasm, [model]);
  const { x, y } = copyTask(3, 5);
  for (let i = 0; i < steps; i++) {
    await model.trainStep(x, y, adam);
    check();
  }
  await model.predict(x);
  check();
  model.dispose();
}

describe("bistable leaves the user's active tfjs backend alone", () => {
  afterEach(() => restoreTfjsBackend(true));

  it('no backend chosen: none is chosen after bistable starts and trains on tfjs-wasm', async () => {
    expect(activeTfjsBackend()).toBeNull();
    await trainOnWasm(2, () => expect(activeTfjsBackend()).toBeNull());
  });

  it("the user's 'cpu' stays active while bistable trains on tfjs-wasm, and new tensors land there", async () => {
    await tf.setBackend('cpu');
    await trainOnWasm(3, () => {
      expect(tf.getBackend()).toBe('cpu');
      const t = tf.tensor([1, 2, 3]);
      expect(backendOf(t)).toBe('cpu');
      t.dispose();
    });
  });

  it('restoreTfjsBackend(false) leaves bistable’s backend active, as before', async () => {
    await tf.setBackend('cpu');
    restoreTfjsBackend(false);
    const wasm = await getBackend('tfjs-wasm');
    const buf = wasm.alloc(4, 'float32');
    wasm.write(buf, [1, 2, 3, 4]);
    await Promise.resolve();
    expect(tf.getBackend()).toBe('wasm');
    wasm.dispose(buf);
  });

  it('restoreTfjsBackend takes only booleans', () => {
    expect(() => restoreTfjsBackend('no' as unknown as boolean)).toThrow(
      'restoreTfjsBackend takes true or false, got no',
    );
  });
});
