import type { CellSpec, DeviceBuffer, Rng, SequenceBackwardArgs, SequenceForwardArgs } from '@bistable/core';
import type { SequenceGradInputs, SequenceInputs } from '@bistable/core/testing';

/**
 * What the tests of the WGSL whole-sequence kernels share: random inputs for core's float64 oracle
 * (sequenceForward and sequenceBackward of '@bistable/core/testing') and the operands of a
 * backward on the device.
 */

export const randn = (rng: Rng, n: number, scale = 1) =>
  Float64Array.from({ length: n }, () => rng.normal() * scale);

/**
 * Random projections and parameters of `spec` for T steps of B rows and H units, and zero initial
 * states (where a forward with zeroState starts).
 */
export function randomSequence(
  spec: CellSpec,
  rng: Rng,
  T: number,
  B: number,
  H: number,
  reverse: boolean,
): SequenceInputs {
  return {
    T,
    B,
    H,
    reverse,
    p: randn(rng, T * B * spec.gx * H),
    wh: spec.gr > 0 ? randn(rng, H * spec.gr * H, 1 / Math.sqrt(H)) : null,
    bh: spec.hasBh ? randn(rng, spec.gr * H, 0.5) : null,
    pw: spec.npw > 0 ? randn(rng, spec.npw * H, 0.7) : null,
    h0: new Float64Array(B * H),
    c0: spec.hasCellState ? new Float64Array(B * H) : null,
  };
}

/** The gradients a sequence backward takes in: on the outputs, on the final h and c. */
export type SequenceGrads = Pick<SequenceGradInputs, 'dOut' | 'dhN' | 'dcN'>;

/** Random gradients on the outputs (`dOut`) and on the final states (`dhN`: dhN, and dcN where the cell has a c). */
export function randomGrads(
  spec: CellSpec,
  rng: Rng,
  T: number,
  B: number,
  H: number,
  want: { dOut: boolean; dhN: boolean },
): SequenceGrads {
  return {
    dOut: want.dOut ? randn(rng, T * B * H) : null,
    dhN: want.dhN ? randn(rng, B * H) : null,
    dcN: want.dhN && spec.hasCellState ? randn(rng, B * H) : null,
  };
}

/**
 * The backward after the forward `f` (its wh, pw and states), with the gradients `g` uploaded by
 * `put` and every output from `nan` (a buffer of NaN, so that an element the kernel does not write
 * shows).
 */
export function backwardArgs(
  spec: CellSpec,
  f: SequenceForwardArgs,
  g: SequenceGrads,
  put: (d: Float64Array) => DeviceBuffer,
  nan: (n: number) => DeviceBuffer,
): SequenceBackwardArgs {
  const { T, B, H } = f;
  return {
    T,
    B,
    H,
    reverse: f.reverse,
    wh: f.wh,
    pw: f.pw,
    hAll: f.hAll,
    cAll: f.cAll,
    cache: f.cache,
    dOut: g.dOut ? put(g.dOut) : null,
    dhN: g.dhN ? put(g.dhN) : null,
    dcN: g.dcN ? put(g.dcN) : null,
    dP: nan(T * B * spec.gx * H),
    dR: spec.gr > 0 ? nan(T * B * spec.gr * H) : null,
    dh0: nan(B * H),
    dc0: spec.hasCellState ? nan(B * H) : null,
    dPw: spec.npw > 0 ? nan(spec.npw * H) : null,
  };
}
