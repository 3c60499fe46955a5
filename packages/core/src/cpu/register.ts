import { registerBackend } from '../backend/registry.js';
import { CpuBackend, type CpuBackendOptions } from './backend.js';

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

/**
 * Registers the cpu backend (see CpuBackend.cellKernels for the levels it runs each cell at). Idempotent per
 * name. Other names with other options register separate instances (tests use this to force
 * the threaded path on small shapes).
 */
export function registerCpuBackend(opts: CpuBackendOptions & { priority?: number } = {}): void {
  const name = opts.name ?? 'cpu';
  if (registered.has(name)) return;
  let backend: CpuBackend | null = null;
  registered.add(name);
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
