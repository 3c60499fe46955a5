import { defineCell, cellParams as p } from '@bistable/core';

const U = { kind: 'uniformInvSqrtHidden' } as const;
/**
 * A fifth cell, made with defineCell and written for no backend: the paths the four built-in
 * cells leave out or take alone run here together. Pointwise parameters next to a recurrent
 * product (dPw threads that sum the fused dR @ whᵀ term over the rows), a cell state read
 * through a peephole, a recurrent projection scaled by a fraction (dR ≠ dP), input biases over
 * only some blocks, a negative literal, and a name that is no identifier.
 *
 *   f = σ(P0 + R0 + M0·c),  u = tanh(P1 + R1/2),  c' = f·c + (1 − f)·u
 *   o = σ(P2 + M1·h),  h' = o·tanh(c') − h/4
 */
export const PEEPHOLE = defineCell({
  name: 'Peephole-probe',
  cellState: true,
  params: [
    p.input('w_in', 0, { width: 3 }),
    p.recurrent('w_rec', 0, { width: 2, init: U, transposed: true }),
    p.inputBias('b_in', 0, { width: 2, init: U }),
    p.recurrentBias('b_rec', 0, { width: 2, init: U }),
    p.pointwise('peep_f', 0, { init: U }),
    p.pointwise('peep_o', 1, { init: U }),
  ],
  step: ({ P, R, M, h, c, sigmoid, tanh }) => {
    const f = sigmoid(P[0].add(R[0]).add(M[0].mul(c)));
    const u = tanh(P[1].add(R[1].mul(0.5)));
    const cn = f.mul(c).add(f.neg().add(1).mul(u));
    const o = sigmoid(P[2].add(M[1].mul(h)));
    const t = tanh(cn);
    return { h: o.mul(t).add(h.mul(-0.25)), c: cn, cache: [f, u, o, t] };
  },
});
