import { registerHostKernel } from './host-kernels.js';

/**
 * Strided 2-D views of a flat buffer (BLAS leading dimensions) as row copies: what GEMM needs
 * when lda ≠ cols, e.g. the bias columns of an input projection.
 */
export const VIEW_2D = 'BistableView2d';
export const SCATTER_2D = 'BistableScatter2d';

export function registerStridedKernels(): void {
  // out[r, :] = x[offset + r·ld : offset + r·ld + cols]
  registerHostKernel(VIEW_2D, (io, inputs, attrs) => {
    const { offset, rows, cols, ld } = attrs as { offset: number; rows: number; cols: number; ld: number };
    const out = io.out([rows, cols]);
    const x = io.view(inputs.x!);
    const o = io.view(out);
    for (let r = 0; r < rows; r++) o.set(x.subarray(offset + r * ld, offset + r * ld + cols), r * cols);
    return out;
  });
  // a copy of flat x with the [rows, cols] block at offset (stride ld) replaced by m
  registerHostKernel(SCATTER_2D, (io, inputs, attrs) => {
    const { offset, ld } = attrs as { offset: number; ld: number };
    const m = inputs.m!;
    const [rows, cols] = m.shape;
    const out = io.out([...inputs.x!.shape]);
    const x = io.view(inputs.x!);
    const mv = io.view(m);
    const o = io.view(out);
    o.set(x);
    for (let r = 0; r < rows; r++) o.set(mv.subarray(r * cols, (r + 1) * cols), offset + r * ld);
    return out;
  });
}
