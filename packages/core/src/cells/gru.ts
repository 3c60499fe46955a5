import { defineCell } from './recipe/define.js';
import { torchCellParams } from './torch-params.js';

/**
 * torch.nn.GRUCell, gate order r, z, n:
 *   r = σ(Pr + Rr), z = σ(Pz + Rz), n = tanh(Pn + r ⊙ Rn), h' = (1 − z) ⊙ n + z ⊙ h
 * with P = x@W_ihᵀ + b_ih and R = h@W_hhᵀ + b_hh (r multiplies Rn, bias included).
 * cache = [r | z | n | Rn].
 */
export const GRU = defineCell({
  name: 'GRU',
  params: torchCellParams(3),
  step: ({ P, R, h, sigmoid, tanh }) => {
    const r = sigmoid(P[0].add(R[0]));
    const z = sigmoid(P[1].add(R[1]));
    const n = tanh(P[2].add(r.mul(R[2])));
    return { h: z.neg().add(1).mul(n).add(z.mul(h)), cache: [r, z, n, R[2]] };
  },
});
