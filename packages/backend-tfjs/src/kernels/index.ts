import {
  CELLS,
  type CellName,
  type DeviceBuffer,
  type SequenceKernels,
  type StepKernels,
} from '@bistable/core';
import { tfjsBuffer } from '../buffer.js';
import { brcMath } from './brc.js';
import type { TfCellMath } from './cell-math.js';
import { STEP_FORWARD } from './fused-step.js';
import { gruMath } from './gru.js';
import { activeHas } from './host-kernels.js';
import { lstmMath } from './lstm.js';
import { nbrcMath } from './nbrc.js';
import { tfjsSequenceKernels } from './sequence.js';
import { fusedSequenceKernels } from './sequence-fused.js';
import { fusedStepKernels, tfjsStepKernels } from './step.js';

export const TF_CELL_MATH: Readonly<Record<CellName, TfCellMath>> = {
  BRC: brcMath,
  nBRC: nbrcMath,
  GRU: gruMath,
  LSTM: lstmMath,
};

interface Pair<K> {
  generic: K;
  fused: K;
}

const steps = new Map<CellName, Pair<StepKernels>>();
const sequences = new Map<CellName, Pair<SequenceKernels>>();

/**
 * Kernels run on whichever tfjs backend the buffers' owner made active: tfjs-cpu and tfjs-wasm
 * have the fused step kernel (core's cell math on their own memory), the others (tfjs-node's
 * libtensorflow, WebGPU) compose the step from tfjs ops.
 */
function pick<K>(pair: Pair<K>, buf: DeviceBuffer): K {
  tfjsBuffer(buf).owner.activate();
  return activeHas(STEP_FORWARD) ? pair.fused : pair.generic;
}

/** Level 2 kernels of a cell. */
export function stepKernels(cell: CellName): StepKernels {
  let k = steps.get(cell);
  if (!k) {
    k = { generic: tfjsStepKernels(CELLS[cell], TF_CELL_MATH[cell]), fused: fusedStepKernels(cell) };
    steps.set(cell, k);
  }
  const pair = k;
  return {
    forward: (a) => pick(pair, a.hOut).forward(a),
    backward: (a) => pick(pair, a.dP).backward(a),
  };
}

/** Level 3 kernels of a cell. */
export function sequenceKernels(cell: CellName): SequenceKernels {
  let k = sequences.get(cell);
  if (!k) {
    k = { generic: tfjsSequenceKernels(CELLS[cell], TF_CELL_MATH[cell]), fused: fusedSequenceKernels(cell) };
    sequences.set(cell, k);
  }
  const pair = k;
  return {
    forward: (a) => pick(pair, a.hAll).forward(a),
    backward: (a) => pick(pair, a.hAll).backward(a),
  };
}

export type { StepGradIn, StepGradOut, StepIn, StepOut, TfCellMath } from './cell-math.js';
export { brcMath, gruMath, lstmMath, nbrcMath };
