import type { CellKernelOffer, CellSpec } from '@bistable/core';
import { webgpuSequenceKernels } from './sequence-kernels.js';
import { webgpuStepKernels } from './step-kernels.js';

/**
 * The fused WGSL kernels of any cell, at the step and the sequence level, rendered from its
 * recipe. Shaders compile on first use, once per cell, hidden-size class and variant.
 */
export function webgpuCellKernels(spec: CellSpec): CellKernelOffer {
  return { step: webgpuStepKernels(spec), sequence: webgpuSequenceKernels(spec) };
}
