import type { DType } from '../backend/types.js';

/** The largest error a case may show, on forward values and on gradients. */
export interface Tolerance {
  forward: number;
  gradient: number;
}

/** float64: the oracle's own agreement; float32: single-precision rounding over short sequences. */
export function toleranceFor(dtype: DType): Tolerance {
  return dtype === 'float64' ? { forward: 1e-12, gradient: 1e-10 } : { forward: 1e-4, gradient: 1e-4 };
}

/** Worst |a − b| / max(1, |b|): relative for large values, absolute for small ones. */
export function worstError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}
