import type { KernelFn } from '../gpujs/types.js';
import { adamKernel } from './adam.js';
import { gemmKernel } from './gemm.js';
import { fillKernel, gather7Kernel, sliceKernel, uploadKernel } from './storage.js';

/**
 * A kernel with the name its compiled instances are cached under: a function, or its source text
 * (the cells' step kernels, rendered from their programs).
 */
export interface KernelSource {
  readonly name: string;
  readonly fn: KernelFn | string;
  /** A cell's step kernel: Backend.counters reports these launches apart from the plumbing's. */
  readonly fused?: boolean;
}

const src = (name: string, fn: unknown): KernelSource => ({ name, fn: fn as KernelFn });

export const KERNELS = {
  gemm: src('gemm', gemmKernel),
  adam: src('adam', adamKernel),
  fill: src('fill', fillKernel),
  upload: src('upload', uploadKernel),
  slice: src('slice', sliceKernel),
  gather: src('gather7', gather7Kernel),
} as const;
