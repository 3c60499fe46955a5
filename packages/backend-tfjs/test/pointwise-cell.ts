import {
  type CellSpec,
  defineCell,
  cellParams as p,
  type RecipeInputs,
  type RecipeStep,
} from '@bistable/core';

/**
 * BRC's per-unit memories with a cell state: no recurrent matrix (gr = 0) but a c to carry and
 * two pointwise parameters, which takes the whole-sequence backward's direct bindings past 8.
 */
export const pointwiseParams = [
  p.input('kz', 0),
  p.input('kh', 1),
  p.pointwise('mz', 0),
  p.pointwise('mc', 1),
  p.inputBias('bz', 0),
];

export const pointwiseStep = ({ P, M, h, c, sigmoid, tanh }: RecipeInputs): RecipeStep => {
  const z = sigmoid(P[0].add(M[0].mul(h)));
  const n = tanh(P[1].add(M[1].mul(c)));
  const cn = z.mul(c).add(z.neg().add(1).mul(n));
  return { h: tanh(cn), c: cn, cache: [z, n, tanh(cn)] };
};

/** That cell, defined under `name`. */
export const pointwiseCell = (name: string): CellSpec =>
  defineCell({ name, cellState: true, params: pointwiseParams, step: pointwiseStep });
