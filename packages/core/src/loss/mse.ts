import { InputError } from '../backend/errors.js';
import type { HostArray } from '../backend/types.js';

/** Mean squared error over all elements, and its gradient with respect to `pred`. */
export function mseLoss(pred: ArrayLike<number>, target: ArrayLike<number>, grad?: HostArray): number {
  if (pred.length !== target.length) {
    throw new InputError(`MSE: prediction has ${pred.length} values, target ${target.length}`);
  }
  const n = pred.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = pred[i] - target[i];
    s += d * d;
    if (grad) grad[i] = (2 * d) / n;
  }
  return s / n;
}
