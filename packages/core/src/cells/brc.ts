import { defineCell } from './recipe/define.js';
import type { InitSpec, ParamSpec } from './spec.js';

const XAVIER: InitSpec = { kind: 'xavierUniform' };
const kernel = (name: string, col: number): ParamSpec => ({
  name,
  shape: (i, h) => [i, h],
  init: XAVIER,
  slot: 'wx',
  col,
  transposed: false,
});
const unitVector = (name: string, slot: 'bx' | 'pw', col: number, init: InitSpec): ParamSpec => ({
  name,
  shape: (_i, h) => [h],
  init,
  slot,
  col,
  transposed: false,
});

/**
 * BRC (Vecoven et al. 2021), as brc_pytorch's BistableRecurrentCell:
 *   a  = tanh(x@kernelr + memoryr ⊙ h + br) + 1
 *   z  = σ(x@kernelz + memoryz ⊙ h + bz)
 *   h' = z ⊙ h + (1 − z) ⊙ tanh(x@kernelh + a ⊙ h)
 * Memories are per-unit vectors, so there is no recurrent GEMM: the recurrence is all pointwise.
 * P = [xz | xr | xh], pw = [memoryz | memoryr], cache = [z | a | n].
 */
export const BRC = defineCell({
  name: 'BRC',
  params: [
    kernel('kernelz', 0),
    kernel('kernelr', 1),
    kernel('kernelh', 2),
    unitVector('memoryz', 'pw', 0, { kind: 'ones' }),
    unitVector('memoryr', 'pw', 1, { kind: 'ones' }),
    unitVector('bz', 'bx', 0, { kind: 'zeros' }),
    unitVector('br', 'bx', 1, { kind: 'zeros' }),
  ],
  step: ({ P, M, h, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(M[0].mul(h)));
    const a = tanh(P[1].add(M[1].mul(h))).add(1);
    const n = tanh(P[2].add(a.mul(h)));
    return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, a, n] };
  },
});

/** Shared with nBRC, whose input weights and biases are BRC's. */
export { kernel, unitVector };
