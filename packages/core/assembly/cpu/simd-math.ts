// Vector math on four float32 lanes. WebAssembly has no exp instruction and Mathf.exp is scalar,
// so the gate functions build exp from a power of two and a short polynomial.
//
// Every vector constant is read from one table in linear memory. V8 does not keep v128
// constants in registers across a loop: it rebuilds each one at every use from an immediate
// (three instructions), which made the constants most of exp4's instruction count. A load from
// the table is one instruction and always hits L1. On Zen 5 under Node 20 the table took sigmoid
// from 5.5 to 5.0 ns per four lanes, and the exp below (2^n and Estrin) on to 4.0 ns.

// The table: each constant four times (one v128), in the order of the offsets below. The data
// segment lands below the first block the JavaScript heap hands out (checked at instantiation
// through staticDataEnd).
const TABLE: usize = memory.data<f32>([
  // t = x·log2(e) is clamped to ±115 (x ≈ ±79.7): 2^t stays a normal float32, so sigmoid and
  // tanh never produce denormals (sigmoid(-80) = 2e-35 instead of a true 1e-35, far below
  // float32 resolution of any sum it enters)
  115, 115, 115, 115,
  -115, -115, -115, -115,
  1.4426950408889634, 1.4426950408889634, 1.4426950408889634, 1.4426950408889634,
  // 1.5·2^23: adding it rounds to an integer and leaves that integer in the low mantissa bits
  12582912, 12582912, 12582912, 12582912,
  // 2^f on [-0.5, 0.5], degree 5, relative error 1.1e-7 (a weighted least-squares fit to the
  // minimax; the polynomial alone, before float32 rounding)
  1.0000000591419473, 1.0000000591419473, 1.0000000591419473, 1.0000000591419473,
  0.6931467214542705, 0.6931467214542705, 0.6931467214542705, 0.6931467214542705,
  0.24022161078045684, 0.24022161078045684, 0.24022161078045684, 0.24022161078045684,
  0.05551127099016914, 0.05551127099016914, 0.05551127099016914, 0.05551127099016914,
  0.009673869380680537, 0.009673869380680537, 0.009673869380680537, 0.009673869380680537,
  0.0013140676599121895, 0.0013140676599121895, 0.0013140676599121895, 0.0013140676599121895,
  // 1.0, whose bits (0x3f800000) are also the exponent bias that 2^n is built on
  1, 1, 1, 1,
  2, 2, 2, 2,
  // magnitudes below this are flushed to zero (see flush4)
  1e-30, 1e-30, 1e-30, 1e-30,
]);
const T_HI: usize = 0;
const T_LO: usize = 16;
const LOG2E: usize = 32;
const MAGIC: usize = 48;
const C0: usize = 64;
const C1: usize = 80;
const C2: usize = 96;
const C3: usize = 112;
const C4: usize = 128;
const C5: usize = 144;
const ONE: usize = 160;
const TWO: usize = 176;
const TINY: usize = 192;

@inline
function k(offset: usize): v128 {
  return v128.load(TABLE + offset);
}

/** First byte past the module's static data: the JavaScript heap must start at or above it. */
export function staticDataEnd(): usize {
  return __heap_base;
}

/**
 * e^x as 2^t, t = x·log2(e) = n + f with n an integer and |f| ≤ 0.5: 2^n goes straight into the
 * exponent bits, 2^f is a polynomial. Relative error below 2e-7 for |x| ≤ 1 and about
 * 6e-8·|x| beyond (the rounding of t), which sigmoid and tanh damp by their slope: their
 * absolute error stays below 1e-7. The polynomial is evaluated in Estrin's form, whose
 * dependency chain is half as long as Horner's.
 */
@inline
export function exp4(x: v128): v128 {
  // pmin/pmax are single x86 instructions (min/max carry NaN fix-ups); t first keeps NaN
  const t = f32x4.pmin(f32x4.pmax(f32x4.mul(x, k(LOG2E)), k(T_LO)), k(T_HI));
  const r = f32x4.add(t, k(MAGIC));
  const f = f32x4.sub(t, f32x4.sub(r, k(MAGIC)));
  const f2 = f32x4.mul(f, f);
  const p01 = f32x4.add(k(C0), f32x4.mul(k(C1), f));
  const p23 = f32x4.add(k(C2), f32x4.mul(k(C3), f));
  const p45 = f32x4.add(k(C4), f32x4.mul(k(C5), f));
  const p = f32x4.add(p01, f32x4.mul(f2, f32x4.add(p23, f32x4.mul(f2, p45))));
  // 2^n: n shifted into the exponent field (the trick's high bits shift out), plus the bias
  return f32x4.mul(p, i32x4.add(i32x4.shl(r, 23), k(ONE)));
}

/** 1 / (1 + e^-x) */
@inline
export function sig4(x: v128): v128 {
  return f32x4.div(k(ONE), f32x4.add(k(ONE), exp4(f32x4.neg(x))));
}

/** 1 − 2 / (e^2x + 1): exact ±1 in the tails, absolute error ~1e-7 near 0. */
@inline
export function tanh4(x: v128): v128 {
  return f32x4.sub(k(ONE), f32x4.div(k(TWO), f32x4.add(exp4(f32x4.add(x, x)), k(ONE))));
}

/**
 * Zeroes lanes whose magnitude is below 1e-30. Over hundreds of steps, states and gradients that
 * decay geometrically would otherwise enter the denormal range, where every x86 arithmetic
 * instruction takes a microcode assist (WebAssembly cannot turn on flush-to-zero). Such values are
 * 1e-26 below float32 resolution of the unit-scale quantities they are summed with. NaN is kept.
 */
@inline
export function flush4(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(f32x4.abs(x), k(TINY)));
}

@inline
export function one(): v128 {
  return k(ONE);
}
