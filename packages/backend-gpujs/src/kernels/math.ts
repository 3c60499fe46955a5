/**
 * Helper functions compiled into every kernel (gpu.js `functions`). GLSL ES 1.0 has no tanh, and
 * the textbook forms overflow (exp(89) is inf in float32, and inf/inf is NaN), so both helpers only
 * ever exponentiate a non-positive number. They are source strings: gpu.js links helpers by name,
 * and a bundler may rename a function declaration but never the inside of a string.
 */
export const KERNEL_HELPERS: readonly string[] = [
  `function sigm(x) {
    if (x >= 0) {
      return 1 / (1 + Math.exp(-x));
    }
    const e = Math.exp(x);
    return e / (1 + e);
  }`,
  `function tanhS(x) {
    const e = Math.exp(-2 * Math.abs(x));
    const t = (1 - e) / (1 + e);
    if (x < 0) {
      return -t;
    }
    return t;
  }`,
];
