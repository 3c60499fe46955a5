import type { ParamSpec } from './spec.js';

const U = { kind: 'uniformInvSqrtHidden' } as const;

/** torch's RNN-cell parameters for `gates` stacked gates: weight_ih, weight_hh, bias_ih, bias_hh. */
export function torchCellParams(gates: number): ParamSpec[] {
  return [
    { name: 'weight_ih', shape: (i, h) => [gates * h, i], init: U, slot: 'wx', col: 0, transposed: true },
    { name: 'weight_hh', shape: (_i, h) => [gates * h, h], init: U, slot: 'wh', col: 0, transposed: true },
    { name: 'bias_ih', shape: (_i, h) => [gates * h], init: U, slot: 'bx', col: 0, transposed: false },
    { name: 'bias_hh', shape: (_i, h) => [gates * h], init: U, slot: 'bh', col: 0, transposed: false },
  ];
}
