import type { Backend, DeviceBuffer, GemmArgs } from '../backend/types.js';

/** What matmul takes: GemmArgs with defaults for contiguous operands. */
export interface MatmulOptions {
  m: number;
  n: number;
  k: number;
  a: DeviceBuffer;
  aOffset?: number;
  lda?: number;
  transA?: boolean;
  b: DeviceBuffer;
  bOffset?: number;
  ldb?: number;
  transB?: boolean;
  c: DeviceBuffer;
  cOffset?: number;
  ldc?: number;
  accumulate?: boolean;
  /** A row added to every row of C; only for backends with `gemmBias`. */
  bias?: DeviceBuffer | null;
  biasOffset?: number;
  /** Columns the bias covers; only for backends with `gemmBiasLength`. */
  biasLength?: number;
}

/** GemmArgs for C = A @ B (+ C when accumulate), all row-major and contiguous unless leading dims are given. */
export function gemmArgs(o: MatmulOptions): GemmArgs {
  const transA = o.transA ?? false;
  const transB = o.transB ?? false;
  return {
    transA,
    transB,
    m: o.m,
    n: o.n,
    k: o.k,
    alpha: 1,
    beta: o.accumulate ? 1 : 0,
    a: o.a,
    aOffset: o.aOffset ?? 0,
    lda: o.lda ?? (transA ? o.m : o.k),
    b: o.b,
    bOffset: o.bOffset ?? 0,
    ldb: o.ldb ?? (transB ? o.k : o.n),
    c: o.c,
    cOffset: o.cOffset ?? 0,
    ldc: o.ldc ?? o.n,
    ...(o.bias ? { bias: o.bias, biasOffset: o.biasOffset ?? 0 } : {}),
    ...(o.bias && o.biasLength !== undefined ? { biasLength: o.biasLength } : {}),
  };
}

/** C = A @ B (+ C when accumulate), all row-major and contiguous unless leading dims are given. */
export function matmul(be: Backend, o: MatmulOptions): void {
  be.gemm(gemmArgs(o));
}

/** Runs independent GEMMs: in as few passes as the backend can (`gemmMany`), else one by one. */
export function gemmAll(be: Backend, list: readonly GemmArgs[]): void {
  if (list.length === 0) return;
  if (be.gemmMany && list.length > 1) be.gemmMany(list);
  else for (const g of list) be.gemm(g);
}

/**
 * Where a backward puts its weight-gradient GEMMs, and what runs them. With the caller's `later`
 * they go there, for the caller to run (flush does nothing). Otherwise a component that makes
 * them itself (`own`: a unit, a readout) collects them and flush runs them together; one that
 * only passes a queue down (a network, a model) defers them only where the backend batches GEMMs
 * (gemmMany), since elsewhere each runs best while its operands are fresh (queue undefined: the
 * parts run their own).
 */
export function gemmQueue(be: Backend, later: GemmArgs[] | undefined, own: true): GemmQueue<GemmArgs[]>;
export function gemmQueue(be: Backend, later: GemmArgs[] | undefined): GemmQueue<GemmArgs[] | undefined>;
export function gemmQueue(
  be: Backend,
  later: GemmArgs[] | undefined,
  own = false,
): GemmQueue<GemmArgs[] | undefined> {
  const queue = later ?? (own || be.gemmMany ? [] : undefined);
  return {
    queue,
    flush: () => {
      if (!later && queue) gemmAll(be, queue);
    },
  };
}

/** See gemmQueue. */
export interface GemmQueue<Q> {
  queue: Q;
  flush(): void;
}

/** Adds a bias row to every one of `rows` rows of C (width n, leading dim ldc) through GEMM. */
export function addBiasRows(
  be: Backend,
  ones: DeviceBuffer,
  bias: DeviceBuffer,
  rows: number,
  n: number,
  c: DeviceBuffer,
  cOffset: number,
  ldc: number,
  accumulate = true,
): void {
  matmul(be, { m: rows, n, k: 1, a: ones, lda: 1, b: bias, ldb: n, c, cOffset, ldc, accumulate });
}

/** out[0:n] = Σ over `rows` rows of A (width n, leading dim lda), through GEMM with ones; `+=` when accumulating. */
export function columnSumsArgs(
  ones: DeviceBuffer,
  a: DeviceBuffer,
  aOffset: number,
  rows: number,
  n: number,
  lda: number,
  out: DeviceBuffer,
  outOffset = 0,
  accumulate = false,
): GemmArgs {
  return gemmArgs({
    m: 1,
    n,
    k: rows,
    a: ones,
    lda: rows,
    b: a,
    bOffset: aOffset,
    ldb: lda,
    c: out,
    cOffset: outOffset,
    accumulate,
  });
}

/** dst[0:n] += src[0:n] through GEMM (a·1 + 1·dst), so backends need nothing beyond level 1. */
export function addInto(
  be: Backend,
  src: DeviceBuffer,
  dst: DeviceBuffer,
  n: number,
  one: DeviceBuffer,
): void {
  matmul(be, { m: n, n: 1, k: 1, a: src, lda: 1, b: one, ldb: 1, c: dst, accumulate: true });
}
