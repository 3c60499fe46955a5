import type { Backend } from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import { hostSequenceKernels, hostStepKernels } from '../reference/host-kernels.js';

/**
 * float64 on the cpu backend: host typed arrays driven by core's own step loop and cell math,
 * as the reference backend does. The WebAssembly kernels are float32 only; float64 is here so
 * that `auto` never refuses a float64 model, and it runs at the reference's speed.
 */
export function float64SequenceKernels(be: Backend, cell: CellSpec) {
  return hostSequenceKernels(be, cell, hostStepKernels(cell));
}
