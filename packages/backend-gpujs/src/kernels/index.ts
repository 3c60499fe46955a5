import type { CellName } from '@bistable/core';
import type { KernelFn } from '../gpujs/types.js';
import { adamKernel } from './adam.js';
import { brcBackward, brcForward } from './brc.js';
import { gemmKernel } from './gemm.js';
import { gruBackward, gruForward, gruForwardFused } from './gru.js';
import { lstmBackward, lstmForward, lstmForwardFused } from './lstm.js';
import { nbrcBackward, nbrcForward, nbrcForwardFused } from './nbrc.js';
import { fillKernel, gather7Kernel, sliceKernel, uploadKernel } from './storage.js';

/** A kernel function with the name its compiled instances are cached under. */
export interface KernelSource {
  readonly name: string;
  readonly fn: KernelFn;
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

/** Per cell: the step kernels, and the fused forward used by level 3 (null: BRC needs none). */
export interface CellKernelSet {
  forward: KernelSource;
  forwardFused: KernelSource | null;
  backward: KernelSource;
}

export const CELL_KERNELS: Readonly<Record<CellName, CellKernelSet>> = {
  BRC: { forward: src('brc_fwd', brcForward), forwardFused: null, backward: src('brc_bwd', brcBackward) },
  nBRC: {
    forward: src('nbrc_fwd', nbrcForward),
    forwardFused: src('nbrc_fwd_fused', nbrcForwardFused),
    backward: src('nbrc_bwd', nbrcBackward),
  },
  GRU: {
    forward: src('gru_fwd', gruForward),
    forwardFused: src('gru_fwd_fused', gruForwardFused),
    backward: src('gru_bwd', gruBackward),
  },
  LSTM: {
    forward: src('lstm_fwd', lstmForward),
    forwardFused: src('lstm_fwd_fused', lstmForwardFused),
    backward: src('lstm_bwd', lstmBackward),
  },
};
