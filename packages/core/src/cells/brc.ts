import { cellParams as p } from './param-blocks.js';
import { defineCell } from './recipe/define.js';

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
    p.input('kernelz', 0),
    p.input('kernelr', 1),
    p.input('kernelh', 2),
    p.pointwise('memoryz', 0),
    p.pointwise('memoryr', 1),
    p.inputBias('bz', 0),
    p.inputBias('br', 1),
  ],
  step: ({ P, M, h, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(M[0].mul(h)));
    const a = tanh(P[1].add(M[1].mul(h))).add(1);
    const n = tanh(P[2].add(a.mul(h)));
    return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, a, n] };
  },
});
