import { type GemmArgs, gemmHost } from '@bistable/core';

/** A GEMM without its buffers: shape, transposes, scalars, offsets, leading dimensions, bias place. */
export type GemmShape = Omit<GemmArgs, 'a' | 'b' | 'c' | 'bias'>;

type Defaulted =
  | 'transA'
  | 'transB'
  | 'alpha'
  | 'beta'
  | 'aOffset'
  | 'lda'
  | 'bOffset'
  | 'ldb'
  | 'cOffset'
  | 'ldc';

/**
 * `s` with what it leaves out filled in: no transposes, alpha 1, beta 0, offsets 0, leading
 * dimensions of packed row-major blocks. Everything else (buffers, the bias) passes through.
 */
export function gemmShape<S extends Pick<GemmShape, 'm' | 'n' | 'k'> & Partial<Pick<GemmShape, Defaulted>>>(
  s: S,
) {
  const transA = s.transA ?? false;
  const transB = s.transB ?? false;
  return {
    ...s,
    transA,
    transB,
    alpha: s.alpha ?? 1,
    beta: s.beta ?? 0,
    aOffset: s.aOffset ?? 0,
    bOffset: s.bOffset ?? 0,
    cOffset: s.cOffset ?? 0,
    lda: s.lda ?? (transA ? s.m : s.k),
    ldb: s.ldb ?? (transB ? s.k : s.n),
    ldc: s.ldc ?? s.n,
  };
}

/**
 * The truth a device GEMM with a bias row is checked against, in float64: c = alpha·op(a)·op(b) +
 * beta·c (core's gemmHost on float64 copies of a and b), then bias[biasOffset + j] added to the
 * first biasLength (default n) columns of every row of the block. Writes `c` and returns it.
 */
export function gemmBiasHost(
  g: GemmShape,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  c: Float64Array,
  bias: ArrayLike<number> | null,
): Float64Array {
  gemmHost({ ...g, a: Float64Array.from(a), b: Float64Array.from(b), c });
  if (bias) {
    const len = g.biasLength ?? g.n;
    const at = g.biasOffset ?? 0;
    for (let i = 0; i < g.m; i++) for (let j = 0; j < len; j++) c[g.cOffset + i * g.ldc + j] += bias[at + j];
  }
  return c;
}
