import { cellParams as p } from './param-blocks.js';
import type { ParamSpec } from './spec.js';

const U = { kind: 'uniformInvSqrtHidden' } as const;

/** torch's RNN-cell parameters for `gates` stacked gates: weight_ih, weight_hh, bias_ih, bias_hh. */
export function torchCellParams(gates: number): ParamSpec[] {
  const o = { width: gates, init: U };
  return [
    p.input('weight_ih', 0, { ...o, transposed: true }),
    p.recurrent('weight_hh', 0, { ...o, transposed: true }),
    p.inputBias('bias_ih', 0, o),
    p.recurrentBias('bias_hh', 0, o),
  ];
}
