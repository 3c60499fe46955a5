// Vector math on four float32 lanes. WebAssembly has no exp instruction and Mathf.exp is scalar,
// so the gate functions use a Cephes-style polynomial exp (relative error below 3e-7).

// Arguments are clamped to ±80 before exp: exp(±80) stays a normal float32, so sigmoid and tanh
// never produce denormals (sigmoid(-80) = 1.8e-35 instead of a true 1e-44; the difference is far
// below float32 resolution of any sum it enters).
const EXP_HI: v128 = f32x4(80, 80, 80, 80);
const EXP_LO: v128 = f32x4(-80, -80, -80, -80);
const LOG2E: v128 = f32x4(1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341);
const MAGIC: v128 = f32x4(12582912, 12582912, 12582912, 12582912);
const ONE: v128 = f32x4(1, 1, 1, 1);
const TWO: v128 = f32x4(2, 2, 2, 2);
const LN2_HI: v128 = f32x4(0.693359375, 0.693359375, 0.693359375, 0.693359375);
const LN2_LO: v128 = f32x4(-2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4);
const P1: v128 = f32x4(1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3);
const P2: v128 = f32x4(8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3);
const P3: v128 = f32x4(4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2);
const P4: v128 = f32x4(1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1);
const P5: v128 = f32x4(5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1);
const ONE_BITS: v128 = i32x4(0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000);
// Magnitudes below this are flushed to zero (see flush4).
const TINY: v128 = f32x4(1e-30, 1e-30, 1e-30, 1e-30);

@inline
export function splat(x: f32): v128 {
  return f32x4.splat(x);
}

@inline
export function exp4(x: v128): v128 {
  // pmin/pmax are single x86 instructions (min/max carry NaN fix-ups); x first keeps NaN
  x = f32x4.pmin(f32x4.pmax(x, EXP_LO), EXP_HI);
  // n = round(x / ln 2) by the 1.5·2^23 trick: adding it leaves n in the low mantissa bits
  const t = f32x4.add(f32x4.mul(x, LOG2E), MAGIC);
  const fx = f32x4.sub(t, MAGIC);
  x = f32x4.sub(f32x4.sub(x, f32x4.mul(fx, LN2_HI)), f32x4.mul(fx, LN2_LO));
  // Cephes' degree-7 term is dropped: it is below 2e-7 relative on the reduced range
  let y = f32x4.add(f32x4.mul(P1, x), P2);
  y = f32x4.add(f32x4.mul(y, x), P3);
  y = f32x4.add(f32x4.mul(y, x), P4);
  y = f32x4.add(f32x4.mul(y, x), P5);
  y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(y, x), x), x), ONE);
  // 2^n: n shifted into the exponent field (the trick's high bits shift out), plus the bias
  const pow2n = i32x4.add(i32x4.shl(t, 23), ONE_BITS);
  return f32x4.mul(y, pow2n);
}

/** 1 / (1 + e^-x) */
@inline
export function sig4(x: v128): v128 {
  return f32x4.div(ONE, f32x4.add(ONE, exp4(f32x4.neg(x))));
}

/** 1 − 2 / (e^2x + 1): exact ±1 in the tails, absolute error ~1e-7 near 0. */
@inline
export function tanh4(x: v128): v128 {
  return f32x4.sub(ONE, f32x4.div(TWO, f32x4.add(exp4(f32x4.add(x, x)), ONE)));
}

/**
 * Zeroes lanes whose magnitude is below 1e-30. Over hundreds of steps, states and gradients that
 * decay geometrically would otherwise enter the denormal range, where every x86 arithmetic
 * instruction takes a microcode assist (WebAssembly cannot turn on flush-to-zero). Such values are
 * 1e-26 below float32 resolution of the unit-scale quantities they are summed with. NaN is kept.
 */
@inline
export function flush4(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(f32x4.abs(x), TINY));
}

@inline
export function one(): v128 {
  return ONE;
}
