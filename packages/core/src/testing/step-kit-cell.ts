import { cellParams as p } from '../cells/param-blocks.js';
import { defineCell } from '../cells/recipe/define.js';

/**
 * A cell no backend was written for, made with `defineCell` as a user would: it reads every kind
 * of operand a recipe has (P, R with a recurrent bias, M, h and a cell state c), uses every
 * operation (add, sub, neg, mul, both activations, literals), and has widths none of the four
 * built-in cells has (gx 2, gr 1, nbx 1, npw 1, cache 3). A backend that keys anything on the
 * built-in cells, or on their widths, fails the step kit on it. It is not registered by name.
 *
 *   z = σ(P0 + R0),  u = tanh(P1 − M0·h),  c' = z·c + (1 − z)·u,  h' = z·tanh(c') − h/4
 */
export const STEP_KIT_CELL = defineCell({
  name: 'StepKitProbe',
  cellState: true,
  params: [
    // torch-style [out, in] weights, both gates in one parameter
    p.input('weight_ih', 0, { width: 2, transposed: true }),
    p.recurrent('weight_hh', 0, { transposed: true }),
    p.inputBias('bias_ih', 0),
    p.recurrentBias('bias_hh', 0),
    p.pointwise('leak', 0),
  ],
  step: ({ P, R, M, h, c, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(R[0]));
    const u = tanh(P[1].add(M[0].mul(h).neg()));
    const cn = z.mul(c).add(z.sub(1).neg().mul(u));
    const t = tanh(cn);
    return { h: z.mul(t).sub(h.mul(0.25)), c: cn, cache: [z, u, t] };
  },
});
