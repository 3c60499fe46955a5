import { cellParams as p } from './param-blocks.js';
import { defineCell } from './recipe/define.js';

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
    p.input('kernelz', 0),
    p.input('kernelr', 1),
    p.input('kernelh', 2),
    p.recurrent('memoryz', 0),
    p.recurrent('memoryr', 1),
    p.inputBias('bz', 0),
    p.inputBias('br', 1),
  ],
  step: ({ P, R, h, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(R[0]));
    const a = tanh(P[1].add(R[1])).add(1);
    const n = tanh(P[2].add(a.mul(h)));
    return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, a, n] };
  },
});
