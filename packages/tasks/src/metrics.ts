import { bceWithLogitsLoss, InputError, mseLoss } from '@bistable/core';

/** Mean squared error, as torch's MSELoss (mean over every element): core's loss, no gradient. */
export function meanSquaredError(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  return mseLoss(pred, target);
}

/**
 * Mean binary cross-entropy over every time step of every sample, from logits. Equal to
 * brc_pytorch's Sigmoid + BCELoss (mean over B × (L+1)), computed without ever taking log(0)
 * by core's stable BCE-on-logits.
 */
export function meanBinaryCrossEntropy(logits: ArrayLike<number>, target: ArrayLike<number>): number {
  return bceWithLogitsLoss(logits, target);
}

/**
 * The predicted bit of a logit as brc_pytorch computes it: torch.round(sigmoid(x)), round half to
 * even, so p > 0.5 gives 1 and p = 0.5 gives 0. In float32 the sigmoid of a tiny positive logit
 * is exactly 0.5, so the probability is rounded to the model's precision before the comparison.
 */
export function predictedBit(logit: number, dtype: 'float32' | 'float64' = 'float32'): 0 | 1 {
  const p = 1 / (1 + Math.exp(-logit));
  return (dtype === 'float32' ? Math.fround(p) : p) > 0.5 ? 1 : 0;
}

/**
 * Number of samples whose every step is predicted right (brc_pytorch's `.all(dim=1)`), for logits and
 * targets laid out [B, S] (or [B, S, 1]).
 */
export function correctSequences(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  batch: number,
  dtype: 'float32' | 'float64' = 'float32',
): number {
  if (logits.length !== target.length)
    throw new InputError(`accuracy: ${logits.length} logits, ${target.length} targets`);
  if (batch < 1 || logits.length % batch !== 0) {
    throw new InputError(`accuracy: ${logits.length} values do not split into ${batch} samples`);
  }
  const S = logits.length / batch;
  let correct = 0;
  for (let b = 0; b < batch; b++) {
    let ok = true;
    for (let s = 0; s < S && ok; s++) ok = predictedBit(logits[b * S + s], dtype) === target[b * S + s];
    if (ok) correct++;
  }
  return correct;
}

/** Fraction of samples predicted right at every step (brc_pytorch's sequence accuracy). */
export function sequenceAccuracy(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  batch: number,
  dtype: 'float32' | 'float64' = 'float32',
): number {
  return correctSequences(logits, target, batch, dtype) / batch;
}
