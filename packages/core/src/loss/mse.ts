import { InputError } from '../backend/errors.js';
import type { HostArray } from '../backend/types.js';

/**
 * Mean squared error over all elements, and its gradient with respect to `pred`. `count` is the
 * number of elements the mean is taken over (default: all given): a slice of a larger batch passes
 * the batch's, so that its loss and gradient are its share of the batch's.
 */
export function mseLoss(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  grad?: HostArray,
  count = pred.length,
): number {
  if (pred.length !== target.length) {
    throw new InputError(`MSE: prediction has ${pred.length} values, target ${target.length}`);
  }
  const n = count;
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i] - target[i];
    s += d * d;
    if (grad) grad[i] = (2 * d) / n;
  }
  return s / n;
}
