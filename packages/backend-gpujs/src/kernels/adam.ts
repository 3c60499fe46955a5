import type { Arr, KernelThis } from '../gpujs/types.js';

/**
 * torch's Adam (core's adamHost), one kernel for all three results: the output is
 * [param' | m' | v'], each n long. stepSize = lr / (1 − β1^t) and bc2sqrt = √(1 − β2^t) come in
 * precomputed in double precision.
 */
export function adamKernel(
  this: KernelThis,
  param: Arr,
  pOff: number,
  grad: Arr,
  gOff: number,
  m: Arr,
  mOff: number,
  v: Arr,
  vOff: number,
  n: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  stepSize: number,
  bc2sqrt: number,
): number {
  const idx = this.thread.x;
  const which = Math.floor((idx + 0.5) / n);
  const i = idx - which * n;
  let g = grad[gOff + i];
  if (weightDecay !== 0) {
    g += weightDecay * param[pOff + i];
  }
  const mi = beta1 * m[mOff + i] + (1 - beta1) * g;
  if (which > 0.5 && which < 1.5) {
    return mi;
  }
  const vi = beta2 * v[vOff + i] + (1 - beta2) * g * g;
  if (which > 1.5) {
    return vi;
  }
  return param[pOff + i] - (stepSize * mi) / (Math.sqrt(vi) / bc2sqrt + eps);
}
