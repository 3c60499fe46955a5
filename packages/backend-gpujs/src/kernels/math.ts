/**
 * Helper functions compiled into every kernel (gpu.js `functions`). GLSL ES 1.0 has no tanh, and
 * the textbook forms overflow (exp(89) is inf in float32, and inf/inf is NaN), so both helpers only
 * ever exponentiate a non-positive number.
 */
export function sigm(x: number): number {
  if (x >= 0) {
    return 1 / (1 + Math.exp(-x));
  }
  const e = Math.exp(x);
  return e / (1 + e);
}

export function tanhS(x: number): number {
  const e = Math.exp(-2 * Math.abs(x));
  const t = (1 - e) / (1 + e);
  if (x < 0) {
    return -t;
  }
  return t;
}

export const KERNEL_HELPERS = [sigm, tanhS];
