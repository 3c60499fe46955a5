import { type Backend, registerBackend } from '@bistable/core';
import { importFor } from './init/import-error.js';

/** The bistable backends this package provides, in order of preference for `auto`. */
export interface TfjsBackendInfo {
  name: 'tfjs-node-gpu' | 'tfjs-webgpu' | 'tfjs-webgl' | 'tfjs-node' | 'tfjs-wasm' | 'tfjs-cpu';
  /** The tfjs backend underneath (tf.getBackend() while it works). */
  tfjsBackend: string;
  priority: number;
  description: string;
}

/** The tfjs backends this package registers, with their priorities and what each needs. */
export const TFJS_BACKENDS: readonly TfjsBackendInfo[] = [
  {
    name: 'tfjs-webgpu',
    tfjsBackend: 'webgpu',
    priority: 50,
    description:
      'tfjs-backend-webgpu with fused WGSL kernels (browser WebGPU, or the webgpu package in Node)',
  },
  {
    name: 'tfjs-node-gpu',
    tfjsBackend: 'tensorflow',
    priority: 38,
    description:
      'libtensorflow on an NVIDIA GPU (optional peer @tensorflow/tfjs-node-gpu; CUDA 11.2, cuDNN 8.1)',
  },
  {
    name: 'tfjs-node',
    tfjsBackend: 'tensorflow',
    priority: 36,
    description: 'libtensorflow on the CPU (optional peer @tensorflow/tfjs-node)',
  },
  {
    name: 'tfjs-wasm',
    tfjsBackend: 'wasm',
    priority: 30,
    description: 'tfjs-backend-wasm (XNNPACK WebAssembly); float32',
  },
  {
    name: 'tfjs-webgl',
    tfjsBackend: 'webgl',
    priority: 25,
    description: 'tfjs-backend-webgl in a browser (WebGL 2 shaders, op by op); float32',
  },
  {
    name: 'tfjs-cpu',
    tfjsBackend: 'cpu',
    priority: 5,
    description: 'tfjs-backend-cpu (plain JavaScript); float32',
  },
];

const TFJS_CORE_HINT =
  "install it with 'pnpm add @tensorflow/tfjs-core@^4.22.0', or add @tensorflow/tfjs, which includes it";

/** Starts a backend; the user's active tfjs backend is the same before and after. */
async function init(name: TfjsBackendInfo['name']): Promise<Backend> {
  const { startingTfjsBackend } = await importFor<typeof import('./global-backend.js')>(
    name,
    '@tensorflow/tfjs-core',
    TFJS_CORE_HINT,
    () => import('./global-backend.js'),
  );
  return startingTfjsBackend(() => start(name));
}

async function start(name: TfjsBackendInfo['name']): Promise<Backend> {
  switch (name) {
    case 'tfjs-cpu':
      return (await import('./init/tfjs-cpu.js')).initTfjsCpu();
    case 'tfjs-wasm':
      return (await import('./init/tfjs-wasm.js')).initTfjsWasm();
    case 'tfjs-webgpu':
      return (await import('./init/tfjs-webgpu.js')).initTfjsWebgpu();
    case 'tfjs-webgl':
      return (await import('./init/tfjs-webgl.js')).initTfjsWebgl();
    case 'tfjs-node':
    case 'tfjs-node-gpu':
      return (await import('./init/tfjs-node.js')).initTfjsNode(name);
  }
}

let registered = false;

/**
 * Registers every tfjs backend with core (idempotent; importing the package does it). Nothing
 * heavy loads here: tfjs itself loads when a backend is first asked for with getBackend(name),
 * and a backend whose init fails is skipped by `auto`. Each backend instance offers level 2 and 3
 * kernels for any cell, rendered from its recipe (TfjsBackend.cellKernels): WGSL on tfjs-webgpu,
 * one host kernel per step on tfjs-cpu and tfjs-wasm, tfjs ops elsewhere.
 *
 * @example
 * ```ts
 * // importing the package calls this: its backends join core's registry
 * import '@bistable/backend-tfjs';
 * import { getBackend } from '@bistable/core';
 *
 * const backend = await getBackend('tfjs-cpu'); // or 'auto': tfjs-webgpu where a GPU answers
 * console.log(backend.name);
 * ```
 */
export function registerTfjsBackends(): void {
  if (registered) return;
  registered = true;
  for (const info of TFJS_BACKENDS) {
    registerBackend({
      name: info.name,
      priority: info.priority,
      init: () => init(info.name),
      description: info.description,
    });
  }
}
