import { kernel, unitVector } from './brc.js';
import { defineCell } from './recipe/define.js';
import type { ParamSpec } from './spec.js';

const memory = (name: string, col: number): ParamSpec => ({
  name,
  shape: (_i, h) => [h, h],
  init: { kind: 'orthogonal' },
  slot: 'wh',
  col,
  transposed: false,
});

/**
 * nBRC, as brc_pytorch's NeuromodulatedBistableRecurrentCell: the memories become full
 * matrices (h @ M), so a and z are neuromodulated by the whole layer's state.
 *   z  = σ(x@kernelz + h@memoryz + bz)
 *   a  = tanh(x@kernelr + h@memoryr + br) + 1
 *   h' = z ⊙ h + (1 − z) ⊙ tanh(x@kernelh + a ⊙ h)
 * P = [xz | xr | xh], R = h @ [memoryz | memoryr], cache = [z | a | n].
 */
export const nBRC = defineCell({
  name: 'nBRC',
  params: [
    kernel('kernelz', 0),
    kernel('kernelr', 1),
    kernel('kernelh', 2),
    memory('memoryz', 0),
    memory('memoryr', 1),
    unitVector('bz', 'bx', 0, { kind: 'zeros' }),
    unitVector('br', 'bx', 1, { kind: 'zeros' }),
  ],
  step: ({ P, R, h, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(R[0]));
    const a = tanh(P[1].add(R[1])).add(1);
    const n = tanh(P[2].add(a.mul(h)));
    return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, a, n] };
  },
});
