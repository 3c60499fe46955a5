import type { CellSpec } from './spec.js';
import { sigmoid } from './spec.js';

/**
 * BRC (Vecoven et al. 2021), as brc_pytorch's BistableRecurrentCell:
 *   a  = tanh(x@kernelr + memoryr ⊙ h + br) + 1
 *   z  = σ(x@kernelz + memoryz ⊙ h + bz)
 *   h' = z ⊙ h + (1 − z) ⊙ tanh(x@kernelh + a ⊙ h)
 * Memories are per-unit vectors, so there is no recurrent GEMM: the recurrence is all pointwise.
 * P = [xz | xr | xh], pw = [memoryz | memoryr], cache = [z | a | n].
 */
export const BRC: CellSpec = {
  name: 'BRC',
  gx: 3,
  gr: 0,
  nbx: 2,
  hasBh: false,
  npw: 2,
  cacheWidth: 3,
  hasCellState: false,
  params: [
    {
      name: 'kernelz',
      shape: (i, h) => [i, h],
      init: { kind: 'xavierUniform' },
      slot: 'wx',
      col: 0,
      transposed: false,
    },
    {
      name: 'kernelr',
      shape: (i, h) => [i, h],
      init: { kind: 'xavierUniform' },
      slot: 'wx',
      col: 1,
      transposed: false,
    },
    {
      name: 'kernelh',
      shape: (i, h) => [i, h],
      init: { kind: 'xavierUniform' },
      slot: 'wx',
      col: 2,
      transposed: false,
    },
    { name: 'memoryz', shape: (_i, h) => [h], init: { kind: 'ones' }, slot: 'pw', col: 0, transposed: false },
    { name: 'memoryr', shape: (_i, h) => [h], init: { kind: 'ones' }, slot: 'pw', col: 1, transposed: false },
    { name: 'bz', shape: (_i, h) => [h], init: { kind: 'zeros' }, slot: 'bx', col: 0, transposed: false },
    { name: 'br', shape: (_i, h) => [h], init: { kind: 'zeros' }, slot: 'bx', col: 1, transposed: false },
  ],

  forward({ B, H, p, pOff, pw, hPrev, hPrevOff, hOut, hOutOff, cache, cacheOff }) {
    const m = pw!;
    for (let b = 0; b < B; b++) {
      const pr = pOff + b * 3 * H;
      const hp = hPrevOff + b * H;
      const ho = hOutOff + b * H;
      const cr = cacheOff + b * 3 * H;
      for (let j = 0; j < H; j++) {
        const h = hPrev[hp + j];
        const z = sigmoid(p[pr + j] + m[j] * h);
        const a = Math.tanh(p[pr + H + j] + m[H + j] * h) + 1;
        const n = Math.tanh(p[pr + 2 * H + j] + a * h);
        hOut[ho + j] = z * h + (1 - z) * n;
        cache[cr + j] = z;
        cache[cr + H + j] = a;
        cache[cr + 2 * H + j] = n;
      }
    }
  },

  backward(s) {
    const { B, H, dOut, dhCarry, cache, hPrev, dP, dhPrev } = s;
    const m = s.pw!;
    const dPw = s.dPw!;
    for (let b = 0; b < B; b++) {
      const row = b * H;
      const cr = s.cacheOff + b * 3 * H;
      const pr = s.dPOff + b * 3 * H;
      for (let j = 0; j < H; j++) {
        const g = dhCarry[s.dhCarryOff + row + j] + (dOut ? dOut[s.dOutOff + row + j] : 0);
        const h = hPrev[s.hPrevOff + row + j];
        const z = cache[cr + j];
        const a = cache[cr + H + j];
        const n = cache[cr + 2 * H + j];
        const dzpre = g * (h - n) * z * (1 - z);
        const dnpre = g * (1 - z) * (1 - n * n);
        const t = a - 1;
        const dapre = dnpre * h * (1 - t * t);
        dP[pr + j] = dzpre;
        dP[pr + H + j] = dapre;
        dP[pr + 2 * H + j] = dnpre;
        dhPrev[s.dhPrevOff + row + j] = g * z + dnpre * a + dzpre * m[j] + dapre * m[H + j];
        dPw[j] += dzpre * h;
        dPw[H + j] += dapre * h;
      }
    }
  },
};
