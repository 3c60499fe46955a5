import type { Arr, KernelThis } from '../gpujs/types.js';

/**
 * One element of C = alpha·op(A)·op(B) + beta·C over a row-major block with leading dimension
 * ldc. The output covers the span from C's first to last element, so the columns between rows
 * (col ≥ n) pass the old C through: gpu.js outputs are whole arrays, never a strided write.
 * Operands are addressed through strides so transposes cost nothing: A(i,p) = a[aOff + i·sai +
 * p·sap], B(p,j) = b[bOff + p·sbp + j·sbj]. Index arithmetic is in floats (GLSL ES 1.0 and wasm
 * f32); `+ 0.5` keeps floor() exact for spans below 2^22 (the caller chunks larger ones).
 */
export function gemmKernel(
  this: KernelThis,
  a: Arr,
  aOff: number,
  sai: number,
  sap: number,
  b: Arr,
  bOff: number,
  sbp: number,
  sbj: number,
  c: Arr,
  cOff: number,
  ldc: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
): number {
  const idx = this.thread.x;
  const row = Math.floor((idx + 0.5) / ldc);
  const col = idx - row * ldc;
  if (col >= n) {
    return c[cOff + idx];
  }
  let s = 0;
  for (let p = 0; p < k; p++) {
    s += a[aOff + row * sai + p * sap] * b[bOff + p * sbp + col * sbj];
  }
  let r = alpha * s;
  // beta = 0 must ignore C entirely (it may hold NaN)
  if (beta !== 0) {
    r += beta * c[cOff + idx];
  }
  return r;
}
