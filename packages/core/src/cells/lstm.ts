import { defineCell } from './recipe/define.js';
import { torchCellParams } from './torch-params.js';

/**
 * torch.nn.LSTMCell, gate order i, f, g, o, with G = P + R:
 *   c' = σ(Gf) ⊙ c + σ(Gi) ⊙ tanh(Gg),  h' = σ(Go) ⊙ tanh(c')
 * cache = [i | f | g | o | tanh(c')].
 */
export const LSTM = defineCell({
  name: 'LSTM',
  params: torchCellParams(4),
  cellState: true,
  step: ({ P, R, c, sigmoid, tanh }) => {
    const i = sigmoid(P[0].add(R[0]));
    const f = sigmoid(P[1].add(R[1]));
    const g = tanh(P[2].add(R[2]));
    const o = sigmoid(P[3].add(R[3]));
    const cn = f.mul(c).add(i.mul(g));
    const tc = tanh(cn);
    return { h: o.mul(tc), c: cn, cache: [i, f, g, o, tc] };
  },
});
