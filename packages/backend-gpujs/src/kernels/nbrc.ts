import type { Arr, KernelThis } from '../gpujs/types.js';

declare function sigm(x: number): number;
declare function tanhS(x: number): number;

/**
 * nBRC forward step (core's cells/nbrc.ts), reading R = h @ [memoryz | memoryr] ([B, 2H]).
 * Output [cache (B·3H: z | a | n) | h' (B·H)].
 */
export function nbrcForward(
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
  const pr = pOff + b * 3 * H;
  const rr = rOff + b * 2 * H;
  const z = sigm(p[pr + j] + r[rr + j]);
  if (which < 0.5) {
    return z;
  }
  const a = tanhS(p[pr + H + j] + r[rr + H + j]) + 1;
  if (which < 1.5) {
    return a;
  }
  const h = hp[hpOff + b * H + j];
  const n = tanhS(p[pr + 2 * H + j] + a * h);
  if (which < 2.5) {
    return n;
  }
  return z * h + (1 - z) * n;
}

/**
 * The same step with the recurrent product computed in place (wh [H, 2H]): one launch per time
 * step instead of a GEMM and a pointwise kernel. Each thread redoes its unit's two dot products.
 */
export function nbrcForwardFused(
  this: KernelThis,
  p: Arr,
  pOff: number,
  wh: Arr,
  whOff: number,
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
  const hr = hpOff + b * H;
  let rz = 0;
  let ra = 0;
  for (let k = 0; k < H; k++) {
    const hk = hp[hr + k];
    rz += hk * wh[whOff + k * 2 * H + j];
    ra += hk * wh[whOff + k * 2 * H + H + j];
  }
  const pr = pOff + b * 3 * H;
  const z = sigm(p[pr + j] + rz);
  if (which < 0.5) {
    return z;
  }
  const a = tanhS(p[pr + H + j] + ra) + 1;
  if (which < 1.5) {
    return a;
  }
  const h = hp[hr + j];
  const n = tanhS(p[pr + 2 * H + j] + a * h);
  if (which < 2.5) {
    return n;
  }
  return z * h + (1 - z) * n;
}

/**
 * nBRC backward step. Output [dP (B·3H) | dR (B·2H) | dhPrev pointwise part (B·H)]. With
 * `hasNext` (level 3) the gradient reaching h also takes dRn @ whᵀ, dRn being the dR block of the
 * step processed just before: the recurrent GEMM of the backward folds into this launch.
 */
export function nbrcBackward(
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
  const rEnd = pLen + B * 2 * H;
  let q = 0;
  let w = 0;
  let base = 0;
  if (idx < pLen) {
    q = idx;
    w = 3 * H;
  } else if (idx < rEnd) {
    q = idx - pLen;
    w = 2 * H;
    base = 3;
  } else {
    q = idx - rEnd;
    w = H;
    base = 5;
  }
  const b = Math.floor((q + 0.5) / w);
  const rem = q - b * w;
  const gate = Math.floor((rem + 0.5) / H);
  const j = rem - gate * H;
  // 0..2: dP gates z, a, n; 3..4: dR gates z, a; 5: dhPrev
  const which = base + gate;
  const row = b * H + j;
  let g = dhc[dhcOff + row];
  // level 3: the rest of dL/dh, dR of the step processed before (t+1) times whᵀ
  if (hasNext > 0.5) {
    const rb = dRnOff + b * 2 * H;
    const wr = whOff + j * 2 * H;
    for (let c = 0; c < 2 * H; c++) {
      g += dRn[rb + c] * wh[wr + c];
    }
  }
  if (hasDOut > 0.5) {
    g += dOut[dOutOff + row];
  }
  const h = hp[hpOff + row];
  const cr = cacheOff + b * 3 * H + j;
  const z = cache[cr];
  const a = cache[cr + H];
  const n = cache[cr + 2 * H];
  const dzpre = g * (h - n) * z * (1 - z);
  const dnpre = g * (1 - z) * (1 - n * n);
  const t = a - 1;
  const dapre = dnpre * h * (1 - t * t);
  if (which < 0.5) {
    return dzpre;
  }
  if (which < 1.5) {
    return dapre;
  }
  if (which < 2.5) {
    return dnpre;
  }
  if (which < 3.5) {
    return dzpre;
  }
  if (which < 4.5) {
    return dapre;
  }
  return g * z + dnpre * a;
}
