import type { Arr, KernelThis } from '../gpujs/types.js';

// compiled in from math.ts through gpu.js `functions`; kernels never run as plain JavaScript
declare function sigm(x: number): number;
declare function tanhS(x: number): number;

/**
 * BRC forward step (core's cells/brc.ts). Output [cache (B·3H: z | a | n per row) | h' (B·H)].
 * Every thread recomputes its unit's gates and returns the one it owns: a gpu.js kernel has one
 * output per thread, and the pointwise math is cheap next to a launch.
 */
export function brcForward(
  this: KernelThis,
  p: Arr,
  pOff: number,
  pw: Arr,
  pwOff: number,
  hp: Arr,
  hpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const cacheLen = B * 3 * H;
  let q = 0;
  let w = 0;
  if (idx < cacheLen) {
    q = idx;
    w = 3 * H;
  } else {
    q = idx - cacheLen;
    w = H;
  }
  const b = Math.floor((q + 0.5) / w);
  const rem = q - b * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  let which = gate;
  if (idx >= cacheLen) {
    which = 3;
  }
  const h = hp[hpOff + b * H + j];
  const pr = pOff + b * 3 * H;
  const z = sigm(p[pr + j] + pw[pwOff + j] * h);
  if (which < 0.5) {
    return z;
  }
  const a = tanhS(p[pr + H + j] + pw[pwOff + H + j] * h) + 1;
  if (which < 1.5) {
    return a;
  }
  const n = tanhS(p[pr + 2 * H + j] + a * h);
  if (which < 2.5) {
    return n;
  }
  return z * h + (1 - z) * n;
}

/**
 * BRC backward step. Output [dP (B·3H) | dhPrev (B·H) | dPw (2H)]; dPw is the incoming dPw plus
 * this step's Σ_b, each of its threads summing over the batch. `hasDOut` = 0: dOut is absent
 * (the caller passes dhCarry in its place so every read stays in range).
 */
export function brcBackward(
  this: KernelThis,
  dOut: Arr,
  dOutOff: number,
  hasDOut: number,
  dhc: Arr,
  dhcOff: number,
  cache: Arr,
  cacheOff: number,
  hp: Arr,
  hpOff: number,
  pw: Arr,
  pwOff: number,
  dPw: Arr,
  dPwOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const pLen = B * 3 * H;
  const hEnd = pLen + B * H;
  if (idx >= hEnd) {
    const qq = idx - hEnd;
    const gw = Math.floor((qq + 0.5) / H);
    const jj = qq - gw * H;
    let s = 0;
    for (let bb = 0; bb < B; bb++) {
      const row = bb * H + jj;
      let g1 = dhc[dhcOff + row];
      if (hasDOut > 0.5) {
        g1 += dOut[dOutOff + row];
      }
      const h1 = hp[hpOff + row];
      const cr = cacheOff + bb * 3 * H + jj;
      const z1 = cache[cr];
      const a1 = cache[cr + H];
      const n1 = cache[cr + 2 * H];
      if (gw < 0.5) {
        s += g1 * (h1 - n1) * z1 * (1 - z1) * h1;
      } else {
        const t1 = a1 - 1;
        s += g1 * (1 - z1) * (1 - n1 * n1) * h1 * (1 - t1 * t1) * h1;
      }
    }
    return dPw[dPwOff + gw * H + jj] + s;
  }
  let q = 0;
  let w = 0;
  if (idx < pLen) {
    q = idx;
    w = 3 * H;
  } else {
    q = idx - pLen;
    w = H;
  }
  const b = Math.floor((q + 0.5) / w);
  const rem = q - b * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  let which = gate;
  if (idx >= pLen) {
    which = 3;
  }
  const row = b * H + j;
  let g = dhc[dhcOff + row];
  if (hasDOut > 0.5) {
    g += dOut[dOutOff + row];
  }
  const h = hp[hpOff + row];
  const cr = cacheOff + b * 3 * H + j;
  const z = cache[cr];
  const a = cache[cr + H];
  const n = cache[cr + 2 * H];
  const dzpre = g * (h - n) * z * (1 - z);
  if (which < 0.5) {
    return dzpre;
  }
  const dnpre = g * (1 - z) * (1 - n * n);
  const t = a - 1;
  const dapre = dnpre * h * (1 - t * t);
  if (which < 1.5) {
    return dapre;
  }
  if (which < 2.5) {
    return dnpre;
  }
  return g * z + dnpre * a + dzpre * pw[pwOff + j] + dapre * pw[pwOff + H + j];
}
