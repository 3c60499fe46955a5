import type { GpujsMode } from './gpujs/types.js';

/** One registered backend: a gpu.js mode, where its buffers live, and which kernel levels it offers. */
export interface GpujsVariant {
  /** The user-facing backend name. */
  name: string;
  mode: GpujsMode;
  /** `auto` tries higher priorities first; core's reference backend is 0. */
  priority: number;
  /**
   * 'host': a buffer is a Float32Array and kernel outputs are copied into it (cpu, webasm, where
   * the device is the host). 'resident': buffers are ropes of immutable device arrays that stay
   * on the device between kernels and time steps (GL textures, WebGPU buffers).
   */
  storage: 'host' | 'resident';
  /**
   * Registers level 3: whole-sequence forward with the recurrent product inside the step kernel
   * (one launch per time step). It recomputes each unit's dot products per output value, which pays
   * on a GPU (launches dominate) and not on a CPU (arithmetic dominates).
   */
  sequenceKernels: boolean;
  description: string;
}

/** gpu.js's own names for its modes, and ours. */
export const GPUJS_VARIANTS: readonly GpujsVariant[] = [
  {
    name: 'gpujs-webgpu',
    mode: 'webgpu',
    priority: 22,
    storage: 'resident',
    sequenceKernels: true,
    description: "gpu.js 'webgpu' mode: WGSL compute shaders through Dawn (the webgpu package); float32",
  },
  {
    name: 'gpujs-headlessgl',
    mode: 'headlessgl',
    priority: 20,
    storage: 'resident',
    sequenceKernels: true,
    description: "gpu.js 'headlessgl' mode: GLSL through the gl package (needs an X server); float32",
  },
  {
    name: 'gpujs-webasm',
    mode: 'webasm',
    priority: 10,
    storage: 'host',
    sequenceKernels: false,
    description: "gpu.js 'webasm' mode: kernels compiled to WebAssembly with f32x4 SIMD; float32",
  },
  {
    name: 'gpujs-cpu',
    mode: 'cpu',
    priority: 8,
    storage: 'host',
    sequenceKernels: false,
    description: "gpu.js 'cpu' mode: kernels compiled to plain JavaScript; float32",
  },
];
