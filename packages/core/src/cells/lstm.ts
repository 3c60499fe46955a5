import type { CellSpec } from './spec.js';
import { sigmoid } from './spec.js';

const U = { kind: 'uniformInvSqrtHidden' } as const;

/**
 * torch.nn.LSTMCell, gate order i, f, g, o, with G = P + R:
 *   c' = σ(Gf) ⊙ c + σ(Gi) ⊙ tanh(Gg),  h' = σ(Go) ⊙ tanh(c')
 * cache = [i | f | g | o | tanh(c')].
 */
export const LSTM: CellSpec = {
  name: 'LSTM',
  gx: 4,
  gr: 4,
  nbx: 4,
  hasBh: true,
  npw: 0,
  cacheWidth: 5,
  hasCellState: true,
  params: [
    { name: 'weight_ih', shape: (i, h) => [4 * h, i], init: U, slot: 'wx', col: 0, transposed: true },
    { name: 'weight_hh', shape: (_i, h) => [4 * h, h], init: U, slot: 'wh', col: 0, transposed: true },
    { name: 'bias_ih', shape: (_i, h) => [4 * h], init: U, slot: 'bx', col: 0, transposed: false },
    { name: 'bias_hh', shape: (_i, h) => [4 * h], init: U, slot: 'bh', col: 0, transposed: false },
  ],

  forward(s) {
    const { B, H, p, hOut, cache } = s;
    const rr = s.r!;
    const cPrev = s.cPrev!;
    const cOut = s.cOut!;
    for (let b = 0; b < B; b++) {
      const pr = s.pOff + b * 4 * H;
      const rq = s.rOff + b * 4 * H;
      const row = b * H;
      const cr = s.cacheOff + b * 5 * H;
      for (let j = 0; j < H; j++) {
        const i = sigmoid(p[pr + j] + rr[rq + j]);
        const f = sigmoid(p[pr + H + j] + rr[rq + H + j]);
        const g = Math.tanh(p[pr + 2 * H + j] + rr[rq + 2 * H + j]);
        const o = sigmoid(p[pr + 3 * H + j] + rr[rq + 3 * H + j]);
        const c = f * cPrev[s.cPrevOff + row + j] + i * g;
        const tc = Math.tanh(c);
        cOut[s.cOutOff + row + j] = c;
        hOut[s.hOutOff + row + j] = o * tc;
        cache[cr + j] = i;
        cache[cr + H + j] = f;
        cache[cr + 2 * H + j] = g;
        cache[cr + 3 * H + j] = o;
        cache[cr + 4 * H + j] = tc;
      }
    }
  },

  backward(s) {
    const { B, H, dOut, dhCarry, cache, dP, dhPrev } = s;
    const dR = s.dR!;
    const dcCarry = s.dcCarry!;
    const cPrev = s.cPrev!;
    const dcPrev = s.dcPrev!;
    for (let b = 0; b < B; b++) {
      const row = b * H;
      const cr = s.cacheOff + b * 5 * H;
      const pr = s.dPOff + b * 4 * H;
      const rq = s.dROff + b * 4 * H;
      for (let j = 0; j < H; j++) {
        const gh = dhCarry[s.dhCarryOff + row + j] + (dOut ? dOut[s.dOutOff + row + j] : 0);
        const i = cache[cr + j];
        const f = cache[cr + H + j];
        const g = cache[cr + 2 * H + j];
        const o = cache[cr + 3 * H + j];
        const tc = cache[cr + 4 * H + j];
        const dct = dcCarry[s.dcCarryOff + row + j] + gh * o * (1 - tc * tc);
        const di = dct * g * i * (1 - i);
        const df = dct * cPrev[s.cPrevOff + row + j] * f * (1 - f);
        const dg = dct * i * (1 - g * g);
        const dO = gh * tc * o * (1 - o);
        dP[pr + j] = di;
        dP[pr + H + j] = df;
        dP[pr + 2 * H + j] = dg;
        dP[pr + 3 * H + j] = dO;
        dR[rq + j] = di;
        dR[rq + H + j] = df;
        dR[rq + 2 * H + j] = dg;
        dR[rq + 3 * H + j] = dO;
        dcPrev[s.dcPrevOff + row + j] = dct * f;
        dhPrev[s.dhPrevOff + row + j] = 0;
      }
    }
  },
};
