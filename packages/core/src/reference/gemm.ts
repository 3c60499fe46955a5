import type { HostArray } from '../backend/types.js';

/** C = α·op(A)·op(B) + β·C on host arrays, row-major, with offsets and leading dimensions. */
export interface HostGemm {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  a: HostArray;
  aOffset: number;
  lda: number;
  b: HostArray;
  bOffset: number;
  ldb: number;
  c: HostArray;
  cOffset: number;
  ldc: number;
}

/**
 * Row-major GEMM on typed arrays, written for clarity: loops ordered so the innermost one walks
 * memory contiguously where the layout allows, accumulating in double precision.
 */
export function gemmHost(g: HostGemm): void {
  const { m, n, k, alpha, beta, a, b, c, lda, ldb, ldc } = g;
  const ao = g.aOffset;
  const bo = g.bOffset;
  const co = g.cOffset;
  for (let i = 0; i < m; i++) {
    const ci = co + i * ldc;
    if (beta === 0) c.fill(0, ci, ci + n);
    else if (beta !== 1) for (let j = 0; j < n; j++) c[ci + j] *= beta;
  }
  if (k === 0 || alpha === 0) return;
  if (!g.transB) {
    // C[i,:] += alpha · A[i,p] · B[p,:]
    for (let i = 0; i < m; i++) {
      const ci = co + i * ldc;
      for (let p = 0; p < k; p++) {
        const aip = alpha * (g.transA ? a[ao + p * lda + i] : a[ao + i * lda + p]);
        const bp = bo + p * ldb;
        for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
      }
    }
    return;
  }
  // B stored n×k: C[i,j] += alpha · Σ_p A[i,p] · B[j,p], a dot product along B's rows
  for (let i = 0; i < m; i++) {
    const ci = co + i * ldc;
    for (let j = 0; j < n; j++) {
      const bj = bo + j * ldb;
      let s = 0;
      if (g.transA) for (let p = 0; p < k; p++) s += a[ao + p * lda + i] * b[bj + p];
      else {
        const ai = ao + i * lda;
        for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
      }
      c[ci + j] += alpha * s;
    }
  }
}
