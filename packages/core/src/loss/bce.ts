import { InputError } from '../backend/errors.js';
import type { HostArray } from '../backend/types.js';

const outsideUnit = (y: number, i: number) =>
  new InputError(`BCE: target ${y} at index ${i} is outside [0, 1]`);

/**
 * Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed on the
 * logits so it never takes log(0): max(x,0) − x·y + log(1 + e^−|x|). Gradient: (σ(x) − y)/n.
 * Equals torch's Sigmoid + BCELoss (whose log is clamped at −100) wherever that clamp is inactive.
 * `count`: the elements the mean is over (default: all given), as in mseLoss.
 */
export function bceWithLogitsLoss(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  grad?: HostArray,
  count = logits.length,
): number {
  if (logits.length !== target.length) {
    throw new InputError(`BCE: logits have ${logits.length} values, target ${target.length}`);
  }
  const n = count;
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    const y = target[i];
    if (!(y >= 0 && y <= 1)) throw outsideUnit(y, i);
    s += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    if (grad) grad[i] = (1 / (1 + Math.exp(-x)) - y) / n;
  }
  return s / n;
}

/** Throws the error bceWithLogitsLoss would for targets outside [0, 1], before any work is done. */
export function checkBceTargets(target: ArrayLike<number>): void {
  for (let i = 0; i < target.length; i++) {
    const y = target[i];
    if (!(y >= 0 && y <= 1)) throw outsideUnit(y, i);
  }
}

/** Mean BCE of probabilities, as torch's BCELoss (log clamped at −100). */
export function bceLoss(prob: ArrayLike<number>, target: ArrayLike<number>): number {
  if (prob.length !== target.length)
    throw new InputError(`BCE: ${prob.length} probabilities, ${target.length} targets`);
  let s = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i];
    const y = target[i];
    s -= y * Math.max(Math.log(p), -100) + (1 - y) * Math.max(Math.log(1 - p), -100);
  }
  return s / prob.length;
}
