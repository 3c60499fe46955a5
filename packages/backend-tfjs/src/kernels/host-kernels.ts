import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-cpu and tfjs-wasm keep tensor data in memory JavaScript can address: plain typed arrays
 * (cpu) and the WebAssembly heap (wasm). Both backends run some layout ops element by element
 * through generic index arithmetic (tfjs-cpu's strided slice, transpose and broadcast cost about
 * a microsecond per element; tfjs-wasm's slice copies its whole input first), so a column block
 * or one time step of a long sequence costs far more than the arithmetic around it. The kernels
 * registered here are ordinary tfjs kernels for those two backends: they read their inputs in
 * place and write fresh outputs, so the data never leaves the tfjs backend.
 */
export const HOST_BACKENDS = ['cpu', 'wasm'] as const;

/** Output allocation and zero-copy views for one backend. */
export interface HostIO {
  /** A new float32 output. Allocate every output before taking any view (wasm's heap may grow). */
  out(shape: number[]): tf.TensorInfo;
  /** The float32 values of a tensor, in place. Never write to an input's view. */
  view(t: tf.TensorInfo): Float32Array;
}

type CpuLike = {
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
  readSync(id: object): unknown;
};
type WasmLike = {
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): unknown;
};

function ioFor(backendName: string, backend: unknown): HostIO {
  if (backendName === 'cpu') {
    const b = backend as CpuLike;
    return {
      out: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape))),
      view: (t) => b.readSync(t.dataId) as Float32Array,
    };
  }
  const b = backend as WasmLike;
  return {
    out: (shape) => b.makeOutput(shape, 'float32'),
    view: (t) => b.typedArrayFromHeap(t) as Float32Array,
  };
}

export type HostKernelFn = (
  io: HostIO,
  inputs: Readonly<Record<string, tf.TensorInfo | undefined>>,
  attrs: Readonly<Record<string, unknown>>,
) => tf.TensorInfo | tf.TensorInfo[];

const registered = new Set<string>();

/** Registers a kernel for tfjs-cpu and tfjs-wasm (once per name). */
export function registerHostKernel(kernelName: string, fn: HostKernelFn): void {
  if (registered.has(kernelName)) return;
  registered.add(kernelName);
  for (const backendName of HOST_BACKENDS) {
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs, backend }) =>
        fn(
          ioFor(backendName, backend),
          inputs as Record<string, tf.TensorInfo>,
          attrs as Record<string, unknown>,
        ),
    });
  }
}

/** Whether the active tfjs backend has the named kernel. */
export function activeHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Runs a registered kernel on the active backend, always as a list of outputs. */
export function runHost(
  kernelName: string,
  inputs: Record<string, tf.Tensor | null | undefined>,
  attrs: Readonly<Record<string, unknown>>,
): tf.Tensor[] {
  const named: tf.NamedTensorMap = {};
  for (const [k, v] of Object.entries(inputs)) if (v) named[k] = v;
  const out = tf.engine().runKernel(kernelName, named, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}
