import { InputError } from '@bistable/core';

/**
 * Trailing moving average over the last `window` values. The first window−1 points average what
 * there is so far, so the curve starts at step 0 like the raw loss.
 */
export function trailingMovingAverage(values: readonly number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1)
    throw new InputError(`moving-average window must be a positive integer, got ${window}`);
  const out: number[] = new Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (ddof = 1); NaN for fewer than two values. */
export function sampleStd(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) * (v - m), 0) / (n - 1));
}

/** Standard error of the mean, sample std (ddof = 1) / √n, as scipy.stats.sem; NaN below two values. */
export function standardError(values: readonly number[]): number {
  return sampleStd(values) / Math.sqrt(values.length);
}
