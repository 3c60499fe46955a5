import type { GemmArgs } from '@bistable/core';
import { KERNELS } from '../kernels/index.js';
import type { GpujsBuffer, Scope } from '../store/store.js';

/** Largest output span per launch: keeps the kernel's float index arithmetic exact. */
export const MAX_SPAN = 1 << 22;

/** Below this inner length, packing operands on the host costs more than the strided reads. */
const PACK_MIN_K = 8;

/** Element ranges a GEMM reads and writes (checked before it is queued). */
export function gemmExtents(g: GemmArgs) {
  const [sai, sap] = g.transA ? [1, g.lda] : [g.lda, 1];
  const [sbp, sbj] = g.transB ? [1, g.ldb] : [g.ldb, 1];
  const aLen = g.k > 0 && g.m > 0 ? (g.m - 1) * sai + (g.k - 1) * sap + 1 : 0;
  const bLen = g.k > 0 && g.n > 0 ? (g.k - 1) * sbp + (g.n - 1) * sbj + 1 : 0;
  const cLen = g.m > 0 && g.n > 0 ? (g.m - 1) * g.ldc + g.n : 0;
  return { sai, sap, sbp, sbj, aLen, bLen, cLen };
}

/** C = alpha·op(A)·op(B) + beta·C, in row chunks whose output span stays under MAX_SPAN. */
export async function gemmOp(s: Scope, g: GemmArgs): Promise<void> {
  const { m, n, k } = g;
  if (m === 0 || n === 0) return;
  const { sai, sap, sbp, sbj, bLen } = gemmExtents(g);
  const a = g.a as GpujsBuffer;
  const b = g.b as GpujsBuffer;
  const c = g.c as GpujsBuffer;
  const rowsPer = Math.max(1, Math.floor(MAX_SPAN / g.ldc));
  for (let r0 = 0; r0 < m; r0 += rowsPer) {
    const rows = Math.min(rowsPer, m - r0);
    const span = (rows - 1) * g.ldc + n;
    const cStart = g.cOffset + r0 * g.ldc;
    let av =
      k > 0 ? await s.view(a, g.aOffset + r0 * sai, (rows - 1) * sai + (k - 1) * sap + 1) : await s.standIn();
    let bv = k > 0 ? await s.view(b, g.bOffset, bLen) : await s.standIn();
    let [ai, ap, bp, bj] = [sai, sap, sbp, sbj];
    // on the host, each output's dot product walks A's row and B's column: make both contiguous
    if (s.pack && k >= PACK_MIN_K) {
      if (sap !== 1) [av, ai, ap] = [s.pack(0, av, rows, k, sai, sap), k, 1];
      if (sbp !== 1 && n > 1) [bv, bp, bj] = [s.pack(1, bv, n, k, sbj, sbp), 1, k];
    }
    // C is read for beta, and for the columns between rows that the span passes through
    const needC = g.beta !== 0 || (rows > 1 && g.ldc > n);
    const cv = needC ? await s.view(c, cStart, span) : await s.standIn();
    const out = await s.run(KERNELS.gemm, span, [
      av.val,
      av.off,
      ai,
      ap,
      bv.val,
      bv.off,
      bp,
      bj,
      cv.val,
      cv.off,
      g.ldc,
      n,
      k,
      g.alpha,
      g.beta,
    ]);
    s.commit(out, 0, c, cStart, span);
  }
}
