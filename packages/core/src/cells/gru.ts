import type { CellSpec } from './spec.js';
import { sigmoid } from './spec.js';

const U = { kind: 'uniformInvSqrtHidden' } as const;

/**
 * torch.nn.GRUCell, gate order r, z, n:
 *   r = σ(Pr + Rr), z = σ(Pz + Rz), n = tanh(Pn + r ⊙ Rn), h' = (1 − z) ⊙ n + z ⊙ h
 * with P = x@W_ihᵀ + b_ih and R = h@W_hhᵀ + b_hh (r multiplies Rn, bias included).
 * cache = [r | z | n | Rn].
 */
export const GRU: CellSpec = {
  name: 'GRU',
  gx: 3,
  gr: 3,
  nbx: 3,
  hasBh: true,
  npw: 0,
  cacheWidth: 4,
  hasCellState: false,
  params: [
    { name: 'weight_ih', shape: (i, h) => [3 * h, i], init: U, slot: 'wx', col: 0, transposed: true },
    { name: 'weight_hh', shape: (_i, h) => [3 * h, h], init: U, slot: 'wh', col: 0, transposed: true },
    { name: 'bias_ih', shape: (_i, h) => [3 * h], init: U, slot: 'bx', col: 0, transposed: false },
    { name: 'bias_hh', shape: (_i, h) => [3 * h], init: U, slot: 'bh', col: 0, transposed: false },
  ],

  forward({ B, H, p, pOff, r, rOff, hPrev, hPrevOff, hOut, hOutOff, cache, cacheOff }) {
    const rr = r!;
    for (let b = 0; b < B; b++) {
      const pr = pOff + b * 3 * H;
      const rq = rOff + b * 3 * H;
      const hp = hPrevOff + b * H;
      const ho = hOutOff + b * H;
      const cr = cacheOff + b * 4 * H;
      for (let j = 0; j < H; j++) {
        const rg = sigmoid(p[pr + j] + rr[rq + j]);
        const z = sigmoid(p[pr + H + j] + rr[rq + H + j]);
        const rn = rr[rq + 2 * H + j];
        const n = Math.tanh(p[pr + 2 * H + j] + rg * rn);
        hOut[ho + j] = (1 - z) * n + z * hPrev[hp + j];
        cache[cr + j] = rg;
        cache[cr + H + j] = z;
        cache[cr + 2 * H + j] = n;
        cache[cr + 3 * H + j] = rn;
      }
    }
  },

  backward(s) {
    const { B, H, dOut, dhCarry, cache, hPrev, dP, dhPrev } = s;
    const dR = s.dR!;
    for (let b = 0; b < B; b++) {
      const row = b * H;
      const cr = s.cacheOff + b * 4 * H;
      const pr = s.dPOff + b * 3 * H;
      const rq = s.dROff + b * 3 * H;
      for (let j = 0; j < H; j++) {
        const g = dhCarry[s.dhCarryOff + row + j] + (dOut ? dOut[s.dOutOff + row + j] : 0);
        const h = hPrev[s.hPrevOff + row + j];
        const rg = cache[cr + j];
        const z = cache[cr + H + j];
        const n = cache[cr + 2 * H + j];
        const rn = cache[cr + 3 * H + j];
        const dnpre = g * (1 - z) * (1 - n * n);
        const dzpre = g * (h - n) * z * (1 - z);
        const drpre = dnpre * rn * rg * (1 - rg);
        dP[pr + j] = drpre;
        dP[pr + H + j] = dzpre;
        dP[pr + 2 * H + j] = dnpre;
        dR[rq + j] = drpre;
        dR[rq + H + j] = dzpre;
        dR[rq + 2 * H + j] = dnpre * rg;
        dhPrev[s.dhPrevOff + row + j] = g * z;
      }
    }
  },
};
