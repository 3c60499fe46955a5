import {
  type ForeignTensor,
  type HostTensor,
  InputError,
  isForeignTensor,
  registerTensorAdapter,
} from '@bistable/core';

/**
 * tf.Tensor in and out of core's API (SequenceModel, MultiLayerRNN, Cell). A user's tensor comes
 * from the user's tfjs, so this module imports none: it knows a tf.Tensor by its fields and makes
 * new ones through the engine that tfjs-core keeps on the global object, the one that made the
 * user's tensors (one copy of tfjs, since tfjs is a peer dependency).
 */
interface TfjsEngine {
  makeTensor(values: Float32Array, shape: number[], dtype: 'float32'): ForeignTensor;
}

/** A tf.Tensor: a foreign tensor (core's test) that also carries tfjs's dataId and dtype. */
const isTfTensor = (x: unknown): boolean =>
  isForeignTensor(x) && 'dataId' in x && typeof (x as { dtype?: unknown }).dtype === 'string';

function tfjsEngine(): TfjsEngine {
  const engine = (globalThis as { _tfengine?: TfjsEngine })._tfengine;
  if (!engine || typeof engine.makeTensor !== 'function') {
    throw new InputError('a tf.Tensor was passed in, but @tensorflow/tfjs-core has not been loaded');
  }
  return engine;
}

/** Registers the tf.Tensor adapter with core (importing the package does it). */
export function registerTfjsTensorAdapter(): void {
  registerTensorAdapter({
    name: 'tfjs',
    matches: isTfTensor,
    // float32: tfjs has no float64, and would narrow a Float64Array the same way
    fromHost: (t: HostTensor) => tfjsEngine().makeTensor(Float32Array.from(t.data), [...t.shape], 'float32'),
  });
}
