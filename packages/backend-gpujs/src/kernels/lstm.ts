import type { Arr, KernelThis } from '../gpujs/types.js';

declare function sigm(x: number): number;
declare function tanhS(x: number): number;

/**
 * LSTM forward step (core's cells/lstm.ts, torch gate order i, f, g, o), reading R = h @ wh + bh
 * ([B, 4H]). Output [cache (B·5H: i | f | g | o | tanh c') | h' (B·H) | c' (B·H)].
 */
export function lstmForward(
  this: KernelThis,
  p: Arr,
  pOff: number,
  r: Arr,
  rOff: number,
  cp: Arr,
  cpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const cacheLen = B * 5 * H;
  let q = 0;
  let w = 0;
  if (idx < cacheLen) {
    q = idx;
    w = 5 * H;
  } else {
    q = idx - cacheLen;
    w = H;
  }
  const bb = Math.floor((q + 0.5) / w);
  const rem = q - bb * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  let b = bb;
  let which = gate;
  if (idx >= cacheLen) {
    which = 5;
    if (bb >= B) {
      which = 6;
      b = bb - B;
    }
  }
  const pr = pOff + b * 4 * H;
  const rq = rOff + b * 4 * H;
  const gi = sigm(p[pr + j] + r[rq + j]);
  if (which < 0.5) {
    return gi;
  }
  const gf = sigm(p[pr + H + j] + r[rq + H + j]);
  if (which < 1.5) {
    return gf;
  }
  const gg = tanhS(p[pr + 2 * H + j] + r[rq + 2 * H + j]);
  if (which < 2.5) {
    return gg;
  }
  const go = sigm(p[pr + 3 * H + j] + r[rq + 3 * H + j]);
  if (which < 3.5) {
    return go;
  }
  const c = gf * cp[cpOff + b * H + j] + gi * gg;
  if (which > 5.5) {
    return c;
  }
  const tc = tanhS(c);
  if (which < 4.5) {
    return tc;
  }
  return go * tc;
}

/** The same step computing R = h @ wh + bh in place (wh [H, 4H], bh [4H]). */
export function lstmForwardFused(
  this: KernelThis,
  p: Arr,
  pOff: number,
  wh: Arr,
  whOff: number,
  bh: Arr,
  bhOff: number,
  hp: Arr,
  hpOff: number,
  cp: Arr,
  cpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const cacheLen = B * 5 * H;
  let q = 0;
  let w = 0;
  if (idx < cacheLen) {
    q = idx;
    w = 5 * H;
  } else {
    q = idx - cacheLen;
    w = H;
  }
  const bb = Math.floor((q + 0.5) / w);
  const rem = q - bb * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  let b = bb;
  let which = gate;
  if (idx >= cacheLen) {
    which = 5;
    if (bb >= B) {
      which = 6;
      b = bb - B;
    }
  }
  const hr = hpOff + b * H;
  let si = 0;
  let sf = 0;
  let sg = 0;
  let so = 0;
  for (let k = 0; k < H; k++) {
    const hk = hp[hr + k];
    const wk = whOff + k * 4 * H + j;
    si += hk * wh[wk];
    sf += hk * wh[wk + H];
    sg += hk * wh[wk + 2 * H];
    so += hk * wh[wk + 3 * H];
  }
  const pr = pOff + b * 4 * H;
  const gi = sigm(p[pr + j] + (si + bh[bhOff + j]));
  if (which < 0.5) {
    return gi;
  }
  const gf = sigm(p[pr + H + j] + (sf + bh[bhOff + H + j]));
  if (which < 1.5) {
    return gf;
  }
  const gg = tanhS(p[pr + 2 * H + j] + (sg + bh[bhOff + 2 * H + j]));
  if (which < 2.5) {
    return gg;
  }
  const go = sigm(p[pr + 3 * H + j] + (so + bh[bhOff + 3 * H + j]));
  if (which < 3.5) {
    return go;
  }
  const c = gf * cp[cpOff + b * H + j] + gi * gg;
  if (which > 5.5) {
    return c;
  }
  const tc = tanhS(c);
  if (which < 4.5) {
    return tc;
  }
  return go * tc;
}

/**
 * LSTM backward step. Output [dP (B·4H) | dcPrev (B·H)]: dR equals dP and the pointwise dhPrev
 * is zero, so the caller points dR at the dP block and fills dhPrev without a kernel. `hasNext`
 * as in nbrcBackward.
 */
export function lstmBackward(
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
  dcc: Arr,
  dccOff: number,
  cache: Arr,
  cacheOff: number,
  cp: Arr,
  cpOff: number,
  B: number,
  H: number,
): number {
  const idx = this.thread.x;
  const pLen = B * 4 * H;
  let q = 0;
  let w = 0;
  let base = 0;
  if (idx < pLen) {
    q = idx;
    w = 4 * H;
  } else {
    q = idx - pLen;
    w = H;
    base = 4;
  }
  const b = Math.floor((q + 0.5) / w);
  const rem = q - b * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  // 0..3: dP gates i, f, g, o; 4: dcPrev
  const which = base + gate;
  const row = b * H + j;
  let gh = dhc[dhcOff + row];
  // level 3: the rest of dL/dh, dR of the step processed before (t+1) times whᵀ
  if (hasNext > 0.5) {
    const rb = dRnOff + b * 4 * H;
    const wr = whOff + j * 4 * H;
    for (let c = 0; c < 4 * H; c++) {
      gh += dRn[rb + c] * wh[wr + c];
    }
  }
  if (hasDOut > 0.5) {
    gh += dOut[dOutOff + row];
  }
  const cr = cacheOff + b * 5 * H + j;
  const gi = cache[cr];
  const gf = cache[cr + H];
  const gg = cache[cr + 2 * H];
  const go = cache[cr + 3 * H];
  const tc = cache[cr + 4 * H];
  const dct = dcc[dccOff + row] + gh * go * (1 - tc * tc);
  if (which < 0.5) {
    return dct * gg * gi * (1 - gi);
  }
  if (which < 1.5) {
    return dct * cp[cpOff + row] * gf * (1 - gf);
  }
  if (which < 2.5) {
    return dct * gi * (1 - gg * gg);
  }
  if (which < 3.5) {
    return gh * tc * go * (1 - go);
  }
  return dct * gf;
}
