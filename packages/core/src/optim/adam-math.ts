import type { HostArray } from '../backend/types.js';

/**
 * torch's Adam on host arrays: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps). Weight decay is L2, added to g.
 */
export function adamHost(a: {
  param: HostArray;
  grad: HostArray;
  m: HostArray;
  v: HostArray;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}): void {
  const { param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step } = a;
  const bc1 = 1 - beta1 ** step;
  const bc2sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / bc1;
  for (let i = 0; i < param.length; i++) {
    const g = weightDecay !== 0 ? grad[i] + weightDecay * param[i] : grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    param[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2sqrt + eps);
  }
}
