import { CELL_NAMES, registerKernel } from '@bistable/core';
import { webgpuSequenceKernels } from './sequence-kernels.js';
import { webgpuStepKernels } from './step-kernels.js';

/**
 * Registers the fused WGSL kernels of every cell with core, at level 2 (one step) and level 3
 * (whole sequence), for the named bistable backend. They replace any kernels registered before
 * under that name. Shaders compile on first use, once per cell, hidden size and variant.
 */
export function registerWebgpuKernels(backendName: string): void {
  for (const cell of CELL_NAMES) {
    registerKernel({ backendName, cell, level: 2, kernels: webgpuStepKernels(cell) });
    registerKernel({ backendName, cell, level: 3, kernels: webgpuSequenceKernels(cell) });
  }
}
