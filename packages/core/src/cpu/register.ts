import { registerBackend, registerKernel } from '../backend/registry.js';
import type {
  NarrowSequenceBackwardArgs,
  NarrowSequenceForwardArgs,
  SequenceBackwardArgs,
  SequenceForwardArgs,
} from '../backend/types.js';
import { CELL_NAMES, CELLS } from '../cells/index.js';
import { dataOf, HostBuffer } from '../reference/host-buffer.js';
import { CPU_NARROW_INPUT_MAX, CpuBackend, type CpuBackendOptions } from './backend.js';
import { float64SequenceKernels } from './float64.js';

/**
 * `auto`'s rank of the cpu backend: above every backend measured slower than it on a CPU (all of
 * them but tfjs-webgpu on a hardware GPU: tfjs-wasm 3-4×, the others 10-50×, in Node and in a
 * browser), and above tfjs-node and tfjs-node-gpu, which are not measured (they run op by op, as
 * tfjs-wasm does). Below tfjs-webgpu (50), which trained the bench model 8× faster on an H200;
 * a WebGPU adapter that emulates the GPU on the CPU ranks after every native backend instead.
 * The table and the run it comes from: apps/docs/guide/choosing-backend.md.
 */
export const CPU_PRIORITY = 40;

const registered = new Set<string>();

/** float64 path: the bias gradients as column sums of dP and dR, after the host backward. */
function hostBiasGradients(a: SequenceBackwardArgs, nbx: number, gx: number, gr: number): void {
  const rows = a.T * a.B;
  const sums = (
    dst: SequenceBackwardArgs['dBx'],
    src: SequenceBackwardArgs['dP'] | null,
    width: number,
    ld: number,
  ) => {
    if (!dst || !src) return;
    const out = dataOf(dst);
    const d = dataOf(src);
    out.fill(0, 0, width);
    for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[j] += d[r * ld + j];
  };
  sums(a.dBx, a.dP, nbx * a.H, gx * a.H);
  sums(a.dBh, a.dR, gr * a.H, gr * a.H);
}

/**
 * Registers the cpu backend (level 1 plus whole-sequence kernels for every cell). Idempotent per
 * name. Other names with other options register separate instances (tests use this to force
 * the threaded path on small shapes).
 */
export function registerCpuBackend(opts: CpuBackendOptions & { priority?: number } = {}): void {
  const name = opts.name ?? 'cpu';
  if (registered.has(name)) return;
  registered.add(name);
  let backend: CpuBackend | null = null;
  const instance = (): CpuBackend => {
    if (!backend) throw new Error(`the ${name} backend ran a kernel before it was initialised`);
    return backend;
  };
  for (const cellName of CELL_NAMES) {
    const spec = CELLS[cellName];
    let f64: ReturnType<typeof float64SequenceKernels> | null = null;
    const host = () => {
      f64 ??= float64SequenceKernels(instance(), spec);
      return f64;
    };
    registerKernel({
      backendName: name,
      cell: cellName,
      level: 3,
      kernels: {
        forward: (a: SequenceForwardArgs) =>
          a.hAll instanceof HostBuffer ? host().forward(a) : instance().sequenceForward(cellName, spec.gr, a),
        backward: async (a: SequenceBackwardArgs) => {
          if (!(a.hAll instanceof HostBuffer)) return instance().sequenceBackward(cellName, spec.gr, a);
          await host().backward(a);
          hostBiasGradients(a, spec.nbx, spec.gx, spec.gr);
        },
        biasGradients: true,
        narrowInput: {
          maxWidth: CPU_NARROW_INPUT_MAX,
          dtypes: ['float32'],
          forward: (a: NarrowSequenceForwardArgs) => instance().sequenceForward(cellName, spec.gr, a),
          backward: (a: NarrowSequenceBackwardArgs) => instance().sequenceBackward(cellName, spec.gr, a),
        },
      },
    });
  }
  registerBackend({
    name,
    priority: opts.priority ?? CPU_PRIORITY,
    init: async () => {
      backend ??= await CpuBackend.create({ ...opts, name });
      return backend;
    },
    description:
      'WebAssembly SIMD kernels on worker threads (Node) or one thread (browsers); float32 fast, float64 via host math',
  });
}
