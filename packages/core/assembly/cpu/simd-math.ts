// Vector math on four float32 lanes. WebAssembly has no exp instruction and Mathf.exp is scalar,
// so the gate functions build exp from a power of two and a short polynomial.
//
// Every vector constant is read from one table in linear memory. V8 does not keep v128
// constants in registers across a loop: it rebuilds each one at every use from an immediate
// (three instructions), which made the constants most of exp's instruction count. A load from
// the table is one instruction and always hits L1. On Zen 5 under Node 20 the table took sigmoid
// from 5.5 to 5.0 ns per four lanes, and the exp below (2^n and Estrin) on to 4.0 ns. Folding
// sigmoid's negation into the log2(e) factor took a throughput loop of sigmoids from 3.5 to
// 2.85 ns per four lanes; the fused multiply-adds of the relaxed-SIMD build, to 2.2 ns.

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
  // -log2(e) and 2·log2(e): sigmoid's e^-x and tanh's e^2x scale x by these in the one multiply
  // exp4 needs anyway (both products are exact rescalings of log2(e), so results are unchanged)
  -1.4426950408889634, -1.4426950408889634, -1.4426950408889634, -1.4426950408889634,
  2.8853900817779268, 2.8853900817779268, 2.8853900817779268, 2.8853900817779268,
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
const NEG_LOG2E: usize = 208;
const TWO_LOG2E: usize = 224;

@inline
function k(offset: usize): v128 {
  return v128.load(TABLE + offset);
}

/** First byte past the module's static data: the JavaScript heap must start at or above it. */
export function staticDataEnd(): usize {
  return __heap_base;
}

/**
 * c + a·b. The relaxed-SIMD build (one of the four variants the build script makes) fuses it into
 * one instruction; the plain build issues a multiply and an add. Rounding may differ in the last
 * bit, well inside the float32 tolerances.
 */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * 2^t, which is e^x for t = x·log2(e) (callers fold their own factor of x into that multiply).
 * t = n + f with n an integer and |f| ≤ 0.5: 2^n goes straight into the exponent bits, 2^f is a
 * polynomial. Relative error below 2e-7 for |x| ≤ 1 and about
 * 6e-8·|x| beyond (the rounding of t), which sigmoid and tanh damp by their slope: their
 * absolute error stays below 1e-7. The polynomial is evaluated in Estrin's form, whose
 * dependency chain is half as long as Horner's.
 */
@inline
function pow2(t: v128): v128 {
  // pmin/pmax are single x86 instructions (min/max carry NaN fix-ups); t first keeps NaN
  t = f32x4.pmin(f32x4.pmax(t, k(T_LO)), k(T_HI));
  const r = f32x4.add(t, k(MAGIC));
  const f = f32x4.sub(t, f32x4.sub(r, k(MAGIC)));
  const f2 = f32x4.mul(f, f);
  const p01 = madd(k(C1), f, k(C0));
  const p23 = madd(k(C3), f, k(C2));
  const p45 = madd(k(C5), f, k(C4));
  const p = madd(f2, madd(f2, p45, p23), p01);
  // 2^n: n shifted into the exponent field (the trick's high bits shift out), plus the bias
  return f32x4.mul(p, i32x4.add(i32x4.shl(r, 23), k(ONE)));
}

/** 1 / (1 + e^-x); the negation rides in the log2(e) multiply (V8 spends three instructions on a neg). */
@inline
export function sig4(x: v128): v128 {
  return f32x4.div(k(ONE), f32x4.add(k(ONE), pow2(f32x4.mul(x, k(NEG_LOG2E)))));
}

/** 1 − 2 / (e^2x + 1): exact ±1 in the tails, absolute error ~1e-7 near 0. */
@inline
export function tanh4(x: v128): v128 {
  return f32x4.sub(k(ONE), f32x4.div(k(TWO), f32x4.add(pow2(f32x4.mul(x, k(TWO_LOG2E))), k(ONE))));
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
