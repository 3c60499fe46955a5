import type { CellKernelOffer, CellSpec } from '@bistable/core';
import { HOST_BACKENDS } from './host-kernels.js';
import { programMath } from './program-ops.js';
import { tfjsSequenceKernels } from './sequence.js';
import { fusedSequenceKernels } from './sequence-fused.js';
import { fusedStepKernels, tfjsStepKernels } from './step.js';

/** Level 2 and 3 of any cell from tfjs ops: its recipe run op by op (program-ops.ts). */
export function tfjsOpKernels(spec: CellSpec): CellKernelOffer {
  const math = programMath(spec);
  return { step: tfjsStepKernels(spec, math), sequence: tfjsSequenceKernels(spec, math) };
}

/**
 * The kernels a bistable backend on tfjs backend `tfName` runs for any cell: tfjs-cpu and
 * tfjs-wasm run each step's pointwise math as one fused kernel (core's host functions on their
 * own memory); the others (tfjs-node's libtensorflow, WebGPU without WGSL kernels) compose it
 * from tfjs ops.
 */
export function tfjsCellKernels(spec: CellSpec, tfName: string): CellKernelOffer {
  if ((HOST_BACKENDS as readonly string[]).includes(tfName)) {
    return { step: fusedStepKernels(spec), sequence: fusedSequenceKernels(spec) };
  }
  return tfjsOpKernels(spec);
}

export type { StepGradIn, StepGradOut, StepIn, StepOut, TfCellMath } from './cell-math.js';
export { programMath, runProgram } from './program-ops.js';
