import { describe, expect, it } from 'vitest';
import {
  type ForeignTensor,
  getBackend,
  type HostTensor,
  hostView,
  registerTensorAdapter,
  SequenceModel,
} from '../src/index.js';

/** A stand-in for another library's tensor: values behind dataSync(), as tf.Tensor keeps them. */
class FakeTensor implements ForeignTensor {
  static made = 0;
  constructor(
    readonly shape: number[],
    private readonly values: Float32Array,
    readonly dtype = 'float32',
  ) {
    FakeTensor.made++;
  }
  dataSync(): Float32Array {
    return this.values;
  }
}

const be = await getBackend('reference');
const model = () =>
  new SequenceModel(be, { cell: 'GRU', inputSize: 2, hiddenSize: 3, readout: 'last', loss: 'mse', seed: 4 });
const values = Float32Array.from({ length: 2 * 4 * 2 }, (_, i) => Math.sin(i));

describe('foreign tensors', () => {
  it('without an adapter, a foreign tensor is refused with what to import', async () => {
    await expect(model().predict(new FakeTensor([2, 4, 2], values))).rejects.toThrow(
      "input is a foreign tensor (it has dataSync()) and no adapter for it is registered: import '@bistable/backend-tfjs' for tf.Tensor, or pass {shape, data}",
    );
  });

  it('with an adapter, a foreign tensor in gives one out, with the host result inside', async () => {
    registerTensorAdapter({
      name: 'fake',
      matches: (x) => x instanceof FakeTensor,
      fromHost: (t: HostTensor) => new FakeTensor([...t.shape], Float32Array.from(t.data)),
    });
    const m = model();
    const host = await m.predict({ shape: [2, 4, 2], data: values });
    const out = await m.predict(new FakeTensor([2, 4, 2], values));
    expect(out).toBeInstanceOf(FakeTensor);
    expect(out.shape).toEqual([2, 1]);
    expect(Array.from(out.dataSync())).toEqual(Array.from(host.data));
  });

  it('hostView names the tensor whose dtype is not numeric, and passes host tensors through', () => {
    expect(() => hostView('target', new FakeTensor([1], new Float32Array(1), 'string'))).toThrow(
      'target has dtype string; bistable takes numeric tensors',
    );
    const t = { shape: [1], data: [5] };
    expect(hostView('x', t)).toBe(t);
  });

  it('the shape check still applies to what a foreign tensor holds', async () => {
    await expect(model().predict(new FakeTensor([2, 4, 2], new Float32Array(3)))).rejects.toThrow(
      'input has 3 values but its shape [2, 4, 2] needs 16',
    );
  });
});
