import type { Arr, KernelThis } from '../gpujs/types.js';

/** Kernels that move data between device arrays: gpu.js outputs are immutable whole arrays. */

export function fillKernel(this: KernelThis, v: number): number {
  return v;
}

/** Host data → a device array. */
export function uploadKernel(this: KernelThis, x: Arr): number {
  return x[this.thread.x];
}

/** A contiguous piece of a device array, so a small read does not download a large array. */
export function sliceKernel(this: KernelThis, x: Arr, off: number): number {
  return x[off + this.thread.x];
}

/**
 * Concatenates up to seven pieces (ends e0 ≤ … ≤ e5 in output coordinates; the last runs to the
 * end). Seven inputs and the output are WebGPU's default limit of eight storage buffers per stage.
 */
export function gather7Kernel(
  this: KernelThis,
  a0: Arr,
  o0: number,
  e0: number,
  a1: Arr,
  o1: number,
  e1: number,
  a2: Arr,
  o2: number,
  e2: number,
  a3: Arr,
  o3: number,
  e3: number,
  a4: Arr,
  o4: number,
  e4: number,
  a5: Arr,
  o5: number,
  e5: number,
  a6: Arr,
  o6: number,
): number {
  const i = this.thread.x;
  if (i < e0) {
    return a0[o0 + i];
  }
  if (i < e1) {
    return a1[o1 + i - e0];
  }
  if (i < e2) {
    return a2[o2 + i - e1];
  }
  if (i < e3) {
    return a3[o3 + i - e2];
  }
  if (i < e4) {
    return a4[o4 + i - e3];
  }
  if (i < e5) {
    return a5[o5 + i - e4];
  }
  return a6[o6 + i - e5];
}
