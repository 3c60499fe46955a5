import type { CellName, HostArray, StepBackwardArgs, StepForwardArgs } from '../backend/types.js';
import type { CellProgram } from './recipe/program.js';

/**
 * Inside the runner a cell's parameters live in five packed buffers, so that the input
 * projection, the recurrent projection and every weight gradient is a single GEMM:
 *   wx [I, gx·H]   P  = x @ wx, then bx added to P's first bx columns
 *   bx [nbx·H]
 *   wh [H, gr·H]   R  = h @ wh + bh
 *   bh [gr·H]
 *   pw [npw·H]     per-unit vectors read by the pointwise math (BRC's memories)
 * Named parameters (torch names and shapes) map onto blocks of these.
 */
export type PackedSlot = 'wx' | 'bx' | 'wh' | 'bh' | 'pw';

/** How a parameter is initialised, as torch does it. */
export type InitSpec =
  | { kind: 'xavierUniform' }
  | { kind: 'orthogonal' }
  | { kind: 'ones' }
  | { kind: 'zeros' }
  /** torch's RNN-cell default: U(-1/sqrt(H), 1/sqrt(H)) */
  | { kind: 'uniformInvSqrtHidden' };

/** One parameter of a cell: its torch name, its shape and its initialisation. */
export interface ParamSpec {
  /** torch's parameter name, in named_parameters() order. */
  name: string;
  /** Logical (torch) shape. */
  shape: (inputSize: number, hiddenSize: number) => number[];
  init: InitSpec;
  slot: PackedSlot;
  /** First column of the block inside the packed slot, in units of H. */
  col: number;
  /** Logical shape is the transpose of the packed block (torch's [out, in] weights). */
  transposed: boolean;
}

/**
 * Everything the runner needs to know of a cell: its parameters, projections and math. Made by
 * `defineCell` from a recipe; nothing here is written by hand.
 */
export interface CellSpec {
  name: string;
  /** Input projection width, in units of H. */
  gx: number;
  /** Recurrent projection width in units of H (0: no recurrent GEMM). */
  gr: number;
  /** Input-bias width in units of H (covers P's leading columns). */
  nbx: number;
  /** Whether bh exists (width gr·H). */
  hasBh: boolean;
  /** Per-unit pointwise parameter vectors, in units of H. */
  npw: number;
  /** Saved activations per step, in units of H. */
  cacheWidth: number;
  /** LSTM carries a cell state c next to h. */
  hasCellState: boolean;
  params: readonly ParamSpec[];
  /** The pointwise math as straight-line programs: what backends render into their kernels. */
  program: CellProgram;
  /**
   * Every dR block equals its dP block (E_k = D_k: each input projection enters only summed with
   * its recurrent one, as in LSTM's gates), so a kernel may write dP once and copy it to dR.
   */
  dREqualsDP: boolean;
  /** The programs compiled for the host (core's level 1, the reference backend). */
  forward(a: StepForwardArgs<HostArray>): void;
  backward(a: StepBackwardArgs<HostArray>): void;
}

/** The logistic function 1 / (1 + e^−x). */
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * A cell, as models and runners take it: a built-in name, the name of a cell registered with
 * registerCell, or a CellSpec made with defineCell.
 *
 * @category Cells
 */
export type CellRef = CellName | (string & {}) | CellSpec;
