// Single-precision GEMM for row-major operands, C = alpha·op(A)·op(B) + beta·C.
// B is packed into zero-padded panels of NR columns; A is read in place through two strides
// (row step `ars`, depth step `aps`, in bytes), which covers both op(A) layouts without a copy.
// A 4×8 register tile (eight f32x4 accumulators) measured fastest under V8's 16 xmm registers.

import { madd } from './simd-math';

// Rows of the register tile: 4 (eight accumulators) or 6 (twelve). Which one is faster depends on
// the engine's register allocator, so callers pass it (`mr`) and the backend measures both once
// (tileBench): V8 up to 12.x spills the 6×8 tile's accumulators (9-11 GMAC/s against 22), V8 13
// with fused multiply-adds keeps them in registers and runs it about 15% faster than the 4×8.
export const MR: i32 = 4;
export const MR6: i32 = 6;
export const NR: i32 = 8;
// Depth block: a KC×NR micro-panel of B (16 KiB) and one of packed A (8 KiB) stay in L1. 512
// rather than 256 keeps depths up to 512 (the gate widths of these models) in one block, so C is
// not read and written back once more; it measured 5-7% faster for a 400-deep product.
export const KC: i32 = 512;
// Row block: MC rows of A by KC (240 KiB, packed) stay in L2 across all panels of B. A multiple
// of both tile heights, so that no block ends in a part-filled panel.
export const MC: i32 = 120;
// Column block: bounds the packed B block (KC×NC floats, 1 MiB) whatever n is.
export const NC: i32 = 512;
// staging for a part-filled tile, sized for the taller one
export const TILE_BYTES: i32 = MR6 * NR * 4;

@inline
function outVec(cp: usize, v: v128, alpha: f32, beta: f32, bias: usize): void {
  if (alpha != 1) v = f32x4.mul(v, f32x4.splat(alpha));
  if (bias != 0) v = f32x4.add(v, v128.load(bias));
  if (beta == 1) v = f32x4.add(v, v128.load(cp));
  else if (beta != 0) v = f32x4.add(v, f32x4.mul(v128.load(cp), f32x4.splat(beta)));
  v128.store(cp, v);
}

/**
 * The valid rows × cols of a tile staged in `tile` (rows of NR floats) written out to C. Inlined:
 * as a call, it measured 2% slower on whole products (V8 compiles the tile function differently).
 */
@inline
function storeTile(tile: usize, rows: i32, cols: i32, c: usize, ldc: usize, alpha: f32, beta: f32, bias: usize): void {
  for (let r = 0; r < rows; r++) {
    const cr = c + <usize>r * ldc;
    const tr = tile + <usize>r * 32;
    for (let j = 0; j < cols; j++) {
      const o = <usize>j * 4;
      let v = load<f32>(tr + o) * alpha;
      if (bias != 0) v += load<f32>(bias + o);
      if (beta != 0) v += beta * load<f32>(cr + o);
      store<f32>(cr + o, v);
    }
  }
}

/**
 * One MR×NR (or MR6×NR) tile: rows × cols of it are valid (rows past the edge re-read row 0 and
 * are dropped; packed B is zero past the edge). `bias` (or 0) is a row vector added to every row.
 * Both heights are this one body, inlined with `h` a constant, so each compiles to straight code
 * with only its own accumulators: the 4×8 tile's eight, or the 6×8 tile's twelve.
 */
@inline
function tileBody(
  h: i32,
  a: usize,
  ars: usize,
  aps: usize,
  rows: i32,
  bp: usize,
  K: i32,
  c: usize,
  ldc: usize,
  cols: i32,
  alpha: f32,
  beta: f32,
  bias: usize,
  tile: usize,
): void {
  let a0 = a;
  let a1 = rows > 1 ? a + ars : a;
  let a2 = rows > 2 ? a + 2 * ars : a;
  let a3 = rows > 3 ? a + 3 * ars : a;
  let a4 = h > 4 && rows > 4 ? a + 4 * ars : a;
  let a5 = h > 4 && rows > 5 ? a + 5 * ars : a;
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0);
  let c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0);
  let c51 = f32x4.splat(0);
  // Depth unrolled by four: V8 puts an interrupt check and a compare on every loop back edge,
  // which at one depth step per iteration cost about a fifth of the throughput. The remainder
  // loop repeats the body: AssemblyScript has no macros, and a helper cannot update the locals.
  let p = 0;
  for (; p + 4 <= K; p += 4) {
    for (let u = 0; u < 4; u++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      let x = v128.load32_splat(a0);
      c00 = madd(x, b0, c00);
      c01 = madd(x, b1, c01);
      x = v128.load32_splat(a1);
      c10 = madd(x, b0, c10);
      c11 = madd(x, b1, c11);
      x = v128.load32_splat(a2);
      c20 = madd(x, b0, c20);
      c21 = madd(x, b1, c21);
      x = v128.load32_splat(a3);
      c30 = madd(x, b0, c30);
      c31 = madd(x, b1, c31);
      if (h > 4) {
        x = v128.load32_splat(a4);
        c40 = madd(x, b0, c40);
        c41 = madd(x, b1, c41);
        x = v128.load32_splat(a5);
        c50 = madd(x, b0, c50);
        c51 = madd(x, b1, c51);
        a4 += aps;
        a5 += aps;
      }
      a0 += aps;
      a1 += aps;
      a2 += aps;
      a3 += aps;
      bp += 32;
    }
  }
  for (; p < K; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(a1);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(a2);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(a3);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    if (h > 4) {
      x = v128.load32_splat(a4);
      c40 = madd(x, b0, c40);
      c41 = madd(x, b1, c41);
      x = v128.load32_splat(a5);
      c50 = madd(x, b0, c50);
      c51 = madd(x, b1, c51);
      a4 += aps;
      a5 += aps;
    }
    a0 += aps;
    a1 += aps;
    a2 += aps;
    a3 += aps;
    bp += 32;
  }
  if (rows == h && cols == 8) {
    const b1 = bias != 0 ? bias + 16 : 0;
    outVec(c, c00, alpha, beta, bias);
    outVec(c + 16, c01, alpha, beta, b1);
    c += ldc;
    outVec(c, c10, alpha, beta, bias);
    outVec(c + 16, c11, alpha, beta, b1);
    c += ldc;
    outVec(c, c20, alpha, beta, bias);
    outVec(c + 16, c21, alpha, beta, b1);
    c += ldc;
    outVec(c, c30, alpha, beta, bias);
    outVec(c + 16, c31, alpha, beta, b1);
    if (h > 4) {
      c += ldc;
      outVec(c, c40, alpha, beta, bias);
      outVec(c + 16, c41, alpha, beta, b1);
      c += ldc;
      outVec(c, c50, alpha, beta, bias);
      outVec(c + 16, c51, alpha, beta, b1);
    }
    return;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c10, 32);
  v128.store(tile, c11, 48);
  v128.store(tile, c20, 64);
  v128.store(tile, c21, 80);
  v128.store(tile, c30, 96);
  v128.store(tile, c31, 112);
  if (h > 4) {
    v128.store(tile, c40, 128);
    v128.store(tile, c41, 144);
    v128.store(tile, c50, 160);
    v128.store(tile, c51, 176);
  }
  storeTile(tile, rows, cols, c, ldc, alpha, beta, bias);
}

/** The MR×NR tile (eight accumulators), for every engine. */
export function microKernel(
  a: usize,
  ars: usize,
  aps: usize,
  rows: i32,
  bp: usize,
  K: i32,
  c: usize,
  ldc: usize,
  cols: i32,
  alpha: f32,
  beta: f32,
  bias: usize,
  tile: usize,
): void {
  tileBody(MR, a, ars, aps, rows, bp, K, c, ldc, cols, alpha, beta, bias, tile);
}

/** The MR6×NR tile (twelve accumulators; see MR6 for when it pays). */
export function microKernel6(
  a: usize,
  ars: usize,
  aps: usize,
  rows: i32,
  bp: usize,
  K: i32,
  c: usize,
  ldc: usize,
  cols: i32,
  alpha: f32,
  beta: f32,
  bias: usize,
  tile: usize,
): void {
  tileBody(MR6, a, ars, aps, rows, bp, K, c, ldc, cols, alpha, beta, bias, tile);
}

/**
 * A 2×16 tile over two adjacent packed panels (`bp1` 0 when there is no second one): the one or
 * two rows left when m is not a multiple of MR. The 4×8 tile would spend a whole tile's work on
 * them; this one costs half as much per panel, which is what lets the sequence kernels split a
 * batch of 100 rows 50/50 between two threads instead of 52/48. Same eight accumulators, so the
 * same register budget and speed as the 4×8 tile.
 */
function microKernel2(
  a: usize,
  ars: usize,
  aps: usize,
  rows: i32,
  bp0: usize,
  bp1: usize,
  K: i32,
  c: usize,
  ldc: usize,
  cols0: i32,
  cols1: i32,
  alpha: f32,
  beta: f32,
  bias: usize,
  tile: usize,
): void {
  let a0 = a;
  let a1 = rows > 1 ? a + ars : a;
  // without a second panel, the first is read twice and the copy dropped
  const d1 = bp1 != 0 ? bp1 - bp0 : 0;
  let bp = bp0;
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c02 = f32x4.splat(0);
  let c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c12 = f32x4.splat(0);
  let c13 = f32x4.splat(0);
  // the same four-deep unrolling as microKernel, for the same reason
  let p = 0;
  for (; p + 4 <= K; p += 4) {
    for (let u = 0; u < 4; u++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const b2 = v128.load(bp + d1);
      const b3 = v128.load(bp + d1, 16);
      let x = v128.load32_splat(a0);
      c00 = madd(x, b0, c00);
      c01 = madd(x, b1, c01);
      c02 = madd(x, b2, c02);
      c03 = madd(x, b3, c03);
      x = v128.load32_splat(a1);
      c10 = madd(x, b0, c10);
      c11 = madd(x, b1, c11);
      c12 = madd(x, b2, c12);
      c13 = madd(x, b3, c13);
      a0 += aps;
      a1 += aps;
      bp += 32;
    }
  }
  for (; p < K; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const b2 = v128.load(bp + d1);
    const b3 = v128.load(bp + d1, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    c02 = madd(x, b2, c02);
    c03 = madd(x, b3, c03);
    x = v128.load32_splat(a1);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    c12 = madd(x, b2, c12);
    c13 = madd(x, b3, c13);
    a0 += aps;
    a1 += aps;
    bp += 32;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c10, 32);
  v128.store(tile, c11, 48);
  storeTile(tile, rows, cols0, c, ldc, alpha, beta, bias);
  if (bp1 == 0) return;
  v128.store(tile, c02);
  v128.store(tile, c03, 16);
  v128.store(tile, c12, 32);
  v128.store(tile, c13, 48);
  storeTile(tile, rows, cols1, c + 32, ldc, alpha, beta, bias != 0 ? bias + 32 : 0);
}

/**
 * Packs rows [p0, p0+kc) × columns [j0, j0+nc) of op(B) into NR-wide panels, each kc×NR
 * contiguous, zero-padded past nc. op(B)(p, j) is b[p·ldb + j], or b[j·ldb + p] when transB.
 */
export function packB(b: usize, ldb: i32, transB: bool, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const ld = <usize>ldb * 4;
  for (let q = 0; q < nc; q += NR) {
    const w = min(NR, nc - q);
    if (!transB) {
      let src = b + <usize>p0 * ld + <usize>(j0 + q) * 4;
      if (w == NR) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
          src += ld;
          dst += 32;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, f32x4.splat(0));
          v128.store(dst, f32x4.splat(0), 16);
          for (let l = 0; l < w; l++) store<f32>(dst + <usize>l * 4, load<f32>(src + <usize>l * 4));
          src += ld;
          dst += 32;
        }
      }
    } else {
      if (w < NR) memory.fill(dst, 0, <usize>kc * 32);
      for (let l = 0; l < w; l++) {
        let src = b + <usize>(j0 + q + l) * ld + <usize>p0 * 4;
        let d = dst + <usize>l * 4;
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(src));
          src += 4;
          d += 32;
        }
      }
      dst += <usize>kc * 32;
    }
  }
}

/**
 * C[m×n] (op) packed-B product for m rows of A at `a` (strides ars/aps), K ≤ any, one depth
 * block, in tiles of `mr` rows. Rows past the last full tile: three or more (at most five) start
 * with a 4×8 tile, and the last one or two go through the 2×16 tile, panel pair by panel pair.
 */
export function gemmPanels(
  a: usize,
  ars: usize,
  aps: usize,
  m: i32,
  K: i32,
  bp: usize,
  n: i32,
  c: usize,
  ldc: usize,
  alpha: f32,
  beta: f32,
  bias: usize,
  tile: usize,
  mr: i32,
): void {
  const panelBytes = <usize>K * 32;
  const full = m - m % mr;
  const mid = m - full > 2 ? min(MR, m - full) : 0;
  const body = full + mid;
  for (let jr = 0; jr < n; jr += NR) {
    const cols = min(NR, n - jr);
    const panel = bp + <usize>(jr / NR) * panelBytes;
    const cj = c + <usize>jr * 4;
    const bj = bias != 0 ? bias + <usize>jr * 4 : 0;
    if (mr == MR6) {
      for (let ir = 0; ir < full; ir += MR6) {
        microKernel6(a + <usize>ir * ars, ars, aps, MR6, panel, K, cj + <usize>ir * ldc, ldc, cols, alpha, beta, bj, tile);
      }
    } else {
      for (let ir = 0; ir < full; ir += MR) {
        microKernel(a + <usize>ir * ars, ars, aps, MR, panel, K, cj + <usize>ir * ldc, ldc, cols, alpha, beta, bj, tile);
      }
    }
    if (mid > 0) {
      microKernel(a + <usize>full * ars, ars, aps, mid, panel, K, cj + <usize>full * ldc, ldc, cols, alpha, beta, bj, tile);
    }
  }
  if (body == m) return;
  const rem = m - body;
  const ar = a + <usize>body * ars;
  const cr = c + <usize>body * ldc;
  for (let jr = 0; jr < n; jr += 2 * NR) {
    const panel = bp + <usize>(jr / NR) * panelBytes;
    const second = jr + NR < n;
    const bj = bias != 0 ? bias + <usize>jr * 4 : 0;
    const cols1 = second ? min(NR, n - jr - NR) : 0;
    microKernel2(ar, ars, aps, rem, panel, second ? panel + panelBytes : 0, K, cr + <usize>jr * 4, ldc, min(NR, n - jr), cols1, alpha, beta, bj, tile);
  }
}

/**
 * Packs op(A) = A (rows contiguous along depth) the same way as packAt, `mr` rows interleaved:
 * four rows by 4×4 transposes, the fifth and sixth of a 6-row panel as pairs.
 */
function packAn(a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize, mr: i32): void {
  const ld = <usize>lda * 4;
  const ps = <usize>mr * 4;
  for (let ir = 0; ir < mc; ir += mr) {
    const rows = min(mr, mc - ir);
    const r0 = a + <usize>(i0 + ir) * ld + <usize>p0 * 4;
    const r1 = r0 + <usize>min(1, rows - 1) * ld;
    const r2 = r0 + <usize>min(2, rows - 1) * ld;
    const r3 = r0 + <usize>min(3, rows - 1) * ld;
    const r4 = r0 + <usize>min(4, rows - 1) * ld;
    const r5 = r0 + <usize>min(5, rows - 1) * ld;
    let p = 0;
    for (; p + 4 <= kc; p += 4) {
      const o = <usize>p * 4;
      const x0 = v128.load(r0 + o);
      const x1 = v128.load(r1 + o);
      const x2 = v128.load(r2 + o);
      const x3 = v128.load(r3 + o);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
      const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
      v128.store(dst, v128.shuffle<f64>(t0, t1, 0, 2));
      v128.store(dst + ps, v128.shuffle<f64>(t0, t1, 1, 3));
      v128.store(dst + 2 * ps, v128.shuffle<f64>(t2, t3, 0, 2));
      v128.store(dst + 3 * ps, v128.shuffle<f64>(t2, t3, 1, 3));
      if (mr == MR6) {
        const x4 = v128.load(r4 + o);
        const x5 = v128.load(r5 + o);
        const lo = v128.shuffle<f32>(x4, x5, 0, 4, 1, 5);
        const hi = v128.shuffle<f32>(x4, x5, 2, 6, 3, 7);
        v128.store64_lane(dst, lo, 0, 16);
        v128.store64_lane(dst + ps, lo, 1, 16);
        v128.store64_lane(dst + 2 * ps, hi, 0, 16);
        v128.store64_lane(dst + 3 * ps, hi, 1, 16);
      }
      dst += 4 * ps;
    }
    for (; p < kc; p++) {
      const o = <usize>p * 4;
      store<f32>(dst, load<f32>(r0 + o));
      store<f32>(dst, load<f32>(r1 + o), 4);
      store<f32>(dst, load<f32>(r2 + o), 8);
      store<f32>(dst, load<f32>(r3 + o), 12);
      if (mr == MR6) {
        store<f32>(dst, load<f32>(r4 + o), 16);
        store<f32>(dst, load<f32>(r5 + o), 20);
      }
      dst += ps;
    }
  }
}

/**
 * gemmPanels over A packed by packAt or packAn: each `mr`-row panel is kc·mr contiguous floats. A
 * last panel of four rows or fewer in a 6-row layout goes through the 4×8 tile, which reads it
 * through the same strides.
 */
function gemmPackedA(
  ap: usize,
  m: i32,
  K: i32,
  bp: usize,
  n: i32,
  c: usize,
  ldc: usize,
  alpha: f32,
  beta: f32,
  bias: usize,
  tile: usize,
  mr: i32,
): void {
  const panelBytes = <usize>K * 32;
  const aps = <usize>mr * 4;
  const aPanelBytes = <usize>K * aps;
  for (let jr = 0; jr < n; jr += NR) {
    const cols = min(NR, n - jr);
    const panel = bp + <usize>(jr / NR) * panelBytes;
    const cj = c + <usize>jr * 4;
    const bj = bias != 0 ? bias + <usize>jr * 4 : 0;
    for (let ir = 0; ir < m; ir += mr) {
      const rows = min(mr, m - ir);
      const at = ap + <usize>(ir / mr) * aPanelBytes;
      const ct = cj + <usize>ir * ldc;
      if (rows > MR) microKernel6(at, 4, aps, rows, panel, K, ct, ldc, cols, alpha, beta, bj, tile);
      else microKernel(at, 4, aps, rows, panel, K, ct, ldc, cols, alpha, beta, bj, tile);
    }
  }
}

/** Bytes of per-thread scratch sgemm needs for a product with n columns and depth k. */
export function sgemmScratchBytes(n: i32, k: i32): i32 {
  const nc = min(NC, ((n + NR - 1) / NR) * NR);
  const kc = min(KC, k);
  return TILE_BYTES + kc * nc * 4 + kc * MC * 4;
}

/**
 * Packs op(A) = Aᵀ rows [i0, i0+mc) × depth [p0, p0+kc) into `mr`-row panels, each kc groups of
 * mr floats (rows past mc repeat the last row). A transposed operand would otherwise be read with
 * a stride of lda per depth step, a new cache line for every four values, from L2.
 */
function packAt(a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize, mr: i32): void {
  const ld = <usize>lda * 4;
  const ps = <usize>mr * 4;
  for (let ir = 0; ir < mc; ir += mr) {
    const rows = min(mr, mc - ir);
    let src = a + <usize>p0 * ld + <usize>(i0 + ir) * 4;
    if (rows == mr) {
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(src));
        if (mr == MR6) v128.store64_lane(dst, v128.load64_zero(src, 16), 0, 16);
        src += ld;
        dst += ps;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let l = 0; l < mr; l++) store<f32>(dst + <usize>l * 4, load<f32>(src + <usize>min(l, rows - 1) * 4));
        src += ld;
        dst += ps;
      }
    }
  }
}

/**
 * The thread `tid` of `nt` computes its share: contiguous blocks of `mr` rows (the tile height,
 * 4 or 6) when m ≥ n, of NR columns otherwise. k > 0 and alpha ≠ 0 (the caller handles the degenerate cases). `bias` (or 0)
 * is a row of n values added to every row of C, in the first depth block's epilogue, so that an
 * input projection needs no separate pass over its output to add the biases.
 */
export function sgemm(
  tid: i32,
  nt: i32,
  transA: i32,
  transB: i32,
  m: i32,
  n: i32,
  k: i32,
  alpha: f32,
  beta: f32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  bias: usize,
  scratch: usize,
  stride: i32,
  mr: i32,
): void {
  let i0 = 0;
  let i1 = m;
  let j0 = 0;
  let j1 = n;
  if (nt > 1) {
    if (m >= n) {
      const per = ((m + mr - 1) / mr + nt - 1) / nt;
      i0 = min(m, tid * per * mr);
      i1 = min(m, i0 + per * mr);
    } else {
      const per = ((n + NR - 1) / NR + nt - 1) / nt;
      j0 = min(n, tid * per * NR);
      j1 = min(n, j0 + per * NR);
    }
    if (i0 >= i1 || j0 >= j1) return;
  }
  const ws = scratch + <usize>tid * <usize>stride;
  const tile = ws;
  const bpack = ws + TILE_BYTES;
  const apack = bpack + <usize>min(KC, k) * <usize>min(NC, ((n + NR - 1) / NR) * NR) * 4;
  const ars: usize = transA ? 4 : <usize>lda * 4;
  const aps: usize = transA ? <usize>lda * 4 : 4;
  const ldcb = <usize>ldc * 4;
  // equal depth blocks (k = 300 → 150 + 150, not 256 + 44): no short block at the end
  const kb = (k + KC - 1) / KC;
  const kcMax = (k + kb - 1) / kb;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += kcMax) {
      const kc = min(kcMax, k - pc);
      const be: f32 = pc == 0 ? beta : 1;
      const bb: usize = pc == 0 && bias != 0 ? bias + <usize>jc * 4 : 0;
      packB(b, ldb, transB != 0, pc, kc, jc, nc, bpack);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        const cc = c + <usize>ic * ldcb + <usize>jc * 4;
        if (transA) packAt(a, lda, ic, mc, pc, kc, apack, mr);
        else packAn(a, lda, ic, mc, pc, kc, apack, mr);
        gemmPackedA(apack, mc, kc, bpack, nc, cc, ldcb, alpha, be, bb, tile, mr);
      }
    }
  }
}

/** Thread `tid`'s share [start, end) of `count` items, in whole chunks of `chunk`. */
@inline
function share(tid: i32, nt: i32, count: i32, chunk: i32): i64 {
  const per = ((count + chunk - 1) / chunk + nt - 1) / nt;
  const start = min(count, tid * per * chunk);
  const end = min(count, start + per * chunk);
  return (<i64>start << 32) | <i64>end;
}

/**
 * k = 1: C[i,j] = alpha·a_i·b_j + beta·C[i,j] + bias_j (bias broadcasts, rank-one updates, the
 * input projection of a one-feature input; `bias` 0 for none); threads split the rows.
 */
export function ger(
  tid: i32,
  nt: i32,
  m: i32,
  n: i32,
  alpha: f32,
  beta: f32,
  a: usize,
  inca: i32,
  b: usize,
  incb: i32,
  c: usize,
  ldc: i32,
  bias: usize,
): void {
  const ia = <usize>inca * 4;
  const ib = <usize>incb * 4;
  const ldcb = <usize>ldc * 4;
  const bv = f32x4.splat(beta);
  const range = share(tid, nt, m, 4);
  const i0 = <i32>(range >> 32);
  const i1 = <i32>range;
  for (let i = i0; i < i1; i++) {
    const s = alpha * load<f32>(a + <usize>i * ia);
    const sv = f32x4.splat(s);
    const cr = c + <usize>i * ldcb;
    let j = 0;
    if (incb == 1) {
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j * 4;
        let v = f32x4.mul(sv, v128.load(b + o));
        if (bias != 0) v = f32x4.add(v, v128.load(bias + o));
        if (beta == 1) v = f32x4.add(v, v128.load(cr + o));
        else if (beta != 0) v = f32x4.add(v, f32x4.mul(bv, v128.load(cr + o)));
        v128.store(cr + o, v);
      }
    }
    for (; j < n; j++) {
      const o = <usize>j * 4;
      let v = s * load<f32>(b + <usize>j * ib);
      if (bias != 0) v += load<f32>(bias + o);
      if (beta != 0) v += beta * load<f32>(cr + o);
      store<f32>(cr + o, v);
    }
  }
}

/**
 * m = 1 with op(B) stored row-major (not transB): C[0,:] = alpha·Σ_p a_p·B[p,:] + beta·C[0,:]
 * (column sums, gradients of a one-output readout). B is read row after row, four rows at a
 * time, into C's row as the accumulator: a column-block order would sweep the whole operand once
 * per block, far beyond L2 for the [T·B, gates] gradients this serves. Threads split the columns.
 */
export function rowTimesMatrix(
  tid: i32,
  nt: i32,
  n: i32,
  k: i32,
  alpha: f32,
  beta: f32,
  a: usize,
  inca: i32,
  b: usize,
  ldb: i32,
  c: usize,
): void {
  const ia = <usize>inca * 4;
  const ld = <usize>ldb * 4;
  const range = share(tid, nt, n, 16);
  const j0 = <i32>(range >> 32);
  const j1 = <i32>range;
  if (j0 >= j1) return;
  const cs = c + <usize>j0 * 4;
  const w = j1 - j0;
  const w4 = w & ~3;
  for (let j = 0; j < w; j++) {
    const cp = cs + <usize>j * 4;
    store<f32>(cp, beta == 0 ? 0 : beta * load<f32>(cp));
  }
  let bp = b + <usize>j0 * 4;
  let ap = a;
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const x0 = f32x4.splat(alpha * load<f32>(ap));
    const x1 = f32x4.splat(alpha * load<f32>(ap + ia));
    const x2 = f32x4.splat(alpha * load<f32>(ap + 2 * ia));
    const x3 = f32x4.splat(alpha * load<f32>(ap + 3 * ia));
    for (let j = 0; j < w4; j += 4) {
      const o = <usize>j * 4;
      const q = bp + o;
      let s = f32x4.add(f32x4.mul(x0, v128.load(q)), f32x4.mul(x1, v128.load(q + ld)));
      s = f32x4.add(s, f32x4.add(f32x4.mul(x2, v128.load(q + 2 * ld)), f32x4.mul(x3, v128.load(q + 3 * ld))));
      v128.store(cs + o, f32x4.add(v128.load(cs + o), s));
    }
    for (let j = w4; j < w; j++) {
      const o = <usize>j * 4;
      const q = bp + o;
      const s =
        f32x4.extract_lane(x0, 0) * load<f32>(q) +
        f32x4.extract_lane(x1, 0) * load<f32>(q + ld) +
        f32x4.extract_lane(x2, 0) * load<f32>(q + 2 * ld) +
        f32x4.extract_lane(x3, 0) * load<f32>(q + 3 * ld);
      store<f32>(cs + o, load<f32>(cs + o) + s);
    }
    ap += 4 * ia;
    bp += 4 * ld;
  }
  for (; p < k; p++) {
    const x = alpha * load<f32>(ap);
    const xv = f32x4.splat(x);
    for (let j = 0; j < w4; j += 4) {
      const o = <usize>j * 4;
      v128.store(cs + o, f32x4.add(v128.load(cs + o), f32x4.mul(xv, v128.load(bp + o))));
    }
    for (let j = w4; j < w; j++) {
      const o = <usize>j * 4;
      store<f32>(cs + o, load<f32>(cs + o) + x * load<f32>(bp + o));
    }
    ap += ia;
    bp += ld;
  }
}

/** Dot product of `k` contiguous floats. */
@inline
function dot(x: usize, y: usize, k: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let p = 0;
  for (; p + 8 <= k; p += 8) {
    const o = <usize>p * 4;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
  }
  s0 = f32x4.add(s0, s1);
  let s =
    f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3);
  for (; p < k; p++) s += load<f32>(x + <usize>p * 4) * load<f32>(y + <usize>p * 4);
  return s;
}

/**
 * C[i,j] = alpha·Σ_p A[i,p]·Bt[j,p] + beta·C[i,j] with both operands contiguous along p (A not
 * transposed, B transposed): dot products, for products with few output columns (a readout).
 */
export function rowDots(m: i32, n: i32, k: i32, alpha: f32, beta: f32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  for (let i = 0; i < m; i++) {
    const ar = a + <usize>i * <usize>lda * 4;
    const cr = c + <usize>i * <usize>ldc * 4;
    for (let j = 0; j < n; j++) {
      const cp = cr + <usize>j * 4;
      let v = alpha * dot(ar, b + <usize>j * <usize>ldb * 4, k);
      if (beta != 0) v += beta * load<f32>(cp);
      store<f32>(cp, v);
    }
  }
}

/** Scratch bytes tileBench needs: a packed 6-row A panel and a B panel of depth 256, and a tile. */
export function tileBenchBytes(): i32 {
  return 256 * (MR6 + NR) * 4 + 2 * TILE_BYTES;
}

/**
 * The `mr`-row tile, `reps` times over depth 256 on operands of ones at `scratch`: the backend
 * times both heights once and keeps the faster (see MR6).
 */
export function tileBench(mr: i32, reps: i32, scratch: usize): void {
  const K = 256;
  const a = scratch;
  const b = a + <usize>(K * MR6 * 4);
  const c = b + <usize>(K * NR * 4);
  const tile = c + <usize>TILE_BYTES;
  for (let i = 0; i < K * (MR6 + NR); i++) store<f32>(a + <usize>i * 4, 1);
  for (let i = 0; i < reps; i++) {
    if (mr == MR6) microKernel6(a, 4, MR6 * 4, MR6, b, K, c, NR * 4, NR, 1, 0, 0, tile);
    else microKernel(a, 4, MR * 4, MR, b, K, c, NR * 4, NR, 1, 0, 0, tile);
  }
}
