import {
  type Backend,
  type DeviceBuffer,
  type DType,
  type GemmArgs,
  getBackend,
  type HostArray,
  registerBackend,
} from '@bistable/core';
import { bundledGoldenPath, loadGolden, runConformance } from '@bistable/core/testing';

/** A buffer of this backend: a typed array with the two fields core reads. */
class ArrayBuffer1D implements DeviceBuffer {
  constructor(readonly data: HostArray) {}
  get length() {
    return this.data.length;
  }
  get dtype(): DType {
    return this.data instanceof Float64Array ? 'float64' : 'float32';
  }
}
const arr = (b: DeviceBuffer) => (b as ArrayBuffer1D).data;

/** Level 1 only: storage and a row-major GEMM. Core runs every cell's math on top of these. */
class TinyBackend implements Backend {
  readonly name = 'tiny';
  readonly dtypes: readonly DType[] = ['float64', 'float32'];

  alloc(length: number, dtype: DType): DeviceBuffer {
    return new ArrayBuffer1D(dtype === 'float64' ? new Float64Array(length) : new Float32Array(length));
  }
  write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    arr(buf).set(data, offset);
  }
  async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    const view = arr(buf).subarray(offset, offset + (length ?? buf.length - offset));
    if (out) {
      out.set(view);
      return out;
    }
    return view.slice();
  }
  fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    arr(buf).fill(value, offset, length === undefined ? undefined : offset + length);
  }
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    arr(dst).set(arr(src).subarray(srcOffset, srcOffset + length), dstOffset);
  }
  dispose(): void {}

  /** C = alpha·op(A)·op(B) + beta·C, row-major with leading dimensions and offsets. */
  gemm(g: GemmArgs): void {
    const [a, b, c] = [arr(g.a), arr(g.b), arr(g.c)];
    for (let i = 0; i < g.m; i++) {
      for (let j = 0; j < g.n; j++) {
        let s = 0;
        for (let p = 0; p < g.k; p++) {
          const av = g.transA ? a[g.aOffset + p * g.lda + i] : a[g.aOffset + i * g.lda + p];
          const bv = g.transB ? b[g.bOffset + j * g.ldb + p] : b[g.bOffset + p * g.ldb + j];
          s += av * bv;
        }
        const ci = g.cOffset + i * g.ldc + j;
        // beta = 0 must ignore whatever C held, NaN included
        c[ci] = g.beta === 0 ? g.alpha * s : g.alpha * s + g.beta * c[ci];
      }
    }
  }
}

registerBackend({ name: 'tiny', priority: -1, init: () => new TinyBackend() });

// the conformance kit: every oracle case, at every level 'tiny' registers (level 1 here)
const golden = await loadGolden(bundledGoldenPath());
const results = await runConformance(golden, await getBackend('tiny'), 'float64');
const failed = results.filter((r) => !r.passed);
console.log(`${results.length - failed.length} of ${results.length} cases pass`);
for (const r of failed) console.log(`FAIL ${r.id} level ${r.level}: worst ${r.worst}`);
