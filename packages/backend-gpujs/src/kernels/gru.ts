import type { Arr, KernelThis } from '../gpujs/types.js';

declare function sigm(x: number): number;
declare function tanhS(x: number): number;

/**
 * GRU forward step (core's cells/gru.ts, torch gate order r, z, n), reading R = h @ wh + bh
 * ([B, 3H]). Output [cache (B·4H: r | z | n | Rn) | h' (B·H)].
 */
export function gruForward(
  this: KernelThis,
  p: Arr,
  pOff: number,
  r: Arr,
  rOff: number,
  hp: Arr,
  hpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const cacheLen = B * 4 * H;
  let q = 0;
  let w = 0;
  if (idx < cacheLen) {
    q = idx;
    w = 4 * H;
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
    which = 4;
  }
  const pr = pOff + b * 3 * H;
  const rq = rOff + b * 3 * H;
  const rn = r[rq + 2 * H + j];
  if (which > 2.5 && which < 3.5) {
    return rn;
  }
  const rg = sigm(p[pr + j] + r[rq + j]);
  if (which < 0.5) {
    return rg;
  }
  const z = sigm(p[pr + H + j] + r[rq + H + j]);
  if (which < 1.5) {
    return z;
  }
  const n = tanhS(p[pr + 2 * H + j] + rg * rn);
  if (which < 2.5) {
    return n;
  }
  return (1 - z) * n + z * hp[hpOff + b * H + j];
}

/** The same step computing R = h @ wh + bh in place (wh [H, 3H], bh [3H]). */
export function gruForwardFused(
  this: KernelThis,
  p: Arr,
  pOff: number,
  wh: Arr,
  whOff: number,
  bh: Arr,
  bhOff: number,
  hp: Arr,
  hpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const cacheLen = B * 4 * H;
  let q = 0;
  let w = 0;
  if (idx < cacheLen) {
    q = idx;
    w = 4 * H;
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
    which = 4;
  }
  const hr = hpOff + b * H;
  let sr = 0;
  let sz = 0;
  let rn = 0;
  for (let k = 0; k < H; k++) {
    const hk = hp[hr + k];
    const wk = whOff + k * 3 * H + j;
    sr += hk * wh[wk];
    sz += hk * wh[wk + H];
    rn += hk * wh[wk + 2 * H];
  }
  sr += bh[bhOff + j];
  sz += bh[bhOff + H + j];
  rn += bh[bhOff + 2 * H + j];
  if (which > 2.5 && which < 3.5) {
    return rn;
  }
  const pr = pOff + b * 3 * H;
  const rg = sigm(p[pr + j] + sr);
  if (which < 0.5) {
    return rg;
  }
  const z = sigm(p[pr + H + j] + sz);
  if (which < 1.5) {
    return z;
  }
  const n = tanhS(p[pr + 2 * H + j] + rg * rn);
  if (which < 2.5) {
    return n;
  }
  return (1 - z) * n + z * hp[hr + j];
}

/**
 * GRU backward step. Output [dP (B·3H) | dR (B·3H) | dhPrev pointwise part (B·H)]; `hasNext` as
 * in nbrcBackward.
 */
export function gruBackward(
  this: KernelThis,
  dOut: Arr,
  dOutOff: number,
  hasDOut: number,
  dhc: Arr,
  dhcOff: number,
  dRn: Arr,
  dRnOff: number,
  wh: Arr,
  whOff: number,
  hasNext: number,
  cache: Arr,
  cacheOff: number,
  hp: Arr,
  hpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const pLen = B * 3 * H;
  const rEnd = 2 * pLen;
  let q = 0;
  let w = 0;
  let base = 0;
  if (idx < pLen) {
    q = idx;
    w = 3 * H;
  } else if (idx < rEnd) {
    q = idx - pLen;
    w = 3 * H;
    base = 3;
  } else {
    q = idx - rEnd;
    w = H;
    base = 6;
  }
  const b = Math.floor((q + 0.5) / w);
  const rem = q - b * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  // 0..2: dP gates r, z, n; 3..5: dR gates r, z, n; 6: dhPrev
  const which = base + gate;
  const row = b * H + j;
  let g = dhc[dhcOff + row];
  // level 3: the rest of dL/dh, dR of the step processed before (t+1) times whᵀ
  if (hasNext > 0.5) {
    const rb = dRnOff + b * 3 * H;
    const wr = whOff + j * 3 * H;
    for (let c = 0; c < 3 * H; c++) {
      g += dRn[rb + c] * wh[wr + c];
    }
  }
  if (hasDOut > 0.5) {
    g += dOut[dOutOff + row];
  }
  const cr = cacheOff + b * 4 * H + j;
  const z = cache[cr + H];
  if (which > 5.5) {
    return g * z;
  }
  const rg = cache[cr];
  const n = cache[cr + 2 * H];
  const rn = cache[cr + 3 * H];
  const h = hp[hpOff + row];
  const dnpre = g * (1 - z) * (1 - n * n);
  const dzpre = g * (h - n) * z * (1 - z);
  const drpre = dnpre * rn * rg * (1 - rg);
  if (which < 0.5 || (which > 2.5 && which < 3.5)) {
    return drpre;
  }
  if (which < 1.5 || (which > 3.5 && which < 4.5)) {
    return dzpre;
  }
  if (which < 2.5) {
    return dnpre;
  }
  return dnpre * rg;
}
