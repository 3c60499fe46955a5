import type { InitSpec, ParamSpec } from './spec.js';

/** What a parameter builder may change from its slot's usual shape and initialisation. */
export interface BlockOptions {
  /** Blocks of H columns it covers (several gates in one parameter, as torch stacks them). Default 1. */
  width?: number;
  init?: InitSpec;
  /** Stored as torch's [out, in] weights (transposed from the packed [in, out] block). */
  transposed?: boolean;
}

function block(
  name: string,
  slot: ParamSpec['slot'],
  col: number,
  rows: 'input' | 'hidden' | null,
  init: InitSpec,
  o: BlockOptions,
): ParamSpec {
  const w = o.width ?? 1;
  const transposed = o.transposed ?? false;
  const shape = (i: number, h: number): number[] => {
    if (!rows) return [w * h];
    const r = rows === 'input' ? i : h;
    return transposed ? [w * h, r] : [r, w * h];
  };
  return { name, shape, init: o.init ?? init, slot, col, transposed };
}

/**
 * Builders for a recipe's parameters: each names a parameter and says which packed slot and which
 * block of H columns it fills (`col`), with the slot's usual shape and initialisation. `P[k]`,
 * `R[k]` and `M[k]` in a recipe's step read block k of wx, wh and pw.
 *
 * @example
 * ```ts
 * import { cellParams as p } from '@bistable/core';
 *
 * const params = [p.input('kz', 0), p.input('kh', 1), p.recurrent('mz', 0), p.inputBias('bz', 0)];
 * ```
 *
 * @category Cells
 */
export const cellParams = {
  /** Input weights [inputSize, width·H] in slot wx (xavier-uniform). */
  input: (name: string, col: number, o: BlockOptions = {}): ParamSpec =>
    block(name, 'wx', col, 'input', { kind: 'xavierUniform' }, o),
  /** Recurrent weights [H, width·H] in slot wh (orthogonal). */
  recurrent: (name: string, col: number, o: BlockOptions = {}): ParamSpec =>
    block(name, 'wh', col, 'hidden', { kind: 'orthogonal' }, o),
  /** Biases [width·H] of the input projection, slot bx (zeros). */
  inputBias: (name: string, col: number, o: BlockOptions = {}): ParamSpec =>
    block(name, 'bx', col, null, { kind: 'zeros' }, o),
  /** Biases [width·H] of the recurrent projection, slot bh (zeros). */
  recurrentBias: (name: string, col: number, o: BlockOptions = {}): ParamSpec =>
    block(name, 'bh', col, null, { kind: 'zeros' }, o),
  /** Per-unit vectors [width·H] read by the pointwise math, slot pw (ones). */
  pointwise: (name: string, col: number, o: BlockOptions = {}): ParamSpec =>
    block(name, 'pw', col, null, { kind: 'ones' }, o),
};
