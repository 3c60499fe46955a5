import { registerBackend } from '../backend/registry.js';
import type {
  AdamArgs,
  Backend,
  CellKernelOffer,
  DeviceBuffer,
  DType,
  GemmArgs,
  HostArray,
} from '../backend/types.js';
import { checkViewRange } from '../backend/views.js';
import type { CellSpec } from '../cells/spec.js';
import { adamHost } from '../optim/adam-math.js';
import { gemmHost } from './gemm.js';
import { dataOf, HostBuffer, hostArray } from './host-buffer.js';
import { hostSequenceKernels, hostStepKernels } from './host-kernels.js';

/**
 * The oracle backend: plain TypeScript on typed arrays, float64 and float32. Readable first;
 * it offers every kernel level so the conformance kit exercises each path of the runner.
 */
export class ReferenceBackend implements Backend {
  readonly name: string;
  readonly dtypes: readonly DType[] = ['float64', 'float32'];

  constructor(name = 'reference') {
    this.name = name;
  }

  alloc(length: number, dtype: DType): DeviceBuffer {
    return new HostBuffer(hostArray(length, dtype));
  }
  write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    const d = dataOf(buf);
    if (offset + data.length > d.length) {
      throw new RangeError(`write of ${data.length} values at ${offset} overruns a buffer of ${d.length}`);
    }
    d.set(data, offset);
  }
  async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    const d = dataOf(buf);
    const n = length ?? d.length - offset;
    const view = d.subarray(offset, offset + n);
    if (out) {
      out.set(view);
      return out;
    }
    return view.slice() as HostArray;
  }
  fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    const d = dataOf(buf);
    d.fill(value, offset, length === undefined ? d.length : offset + length);
  }
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    dataOf(dst).set(dataOf(src).subarray(srcOffset, srcOffset + length), dstOffset);
  }
  /** A subarray of the parent's typed array: every op works on it as on any buffer. */
  view(buf: DeviceBuffer, offset: number, length: number): DeviceBuffer {
    checkViewRange(dataOf(buf).length, offset, length);
    return (buf as HostBuffer).view(offset, length);
  }
  dispose(_buf: DeviceBuffer): void {
    // garbage collected
  }
  /** Every level for every cell, user-defined ones included: core's host functions in place. */
  cellKernels(cell: CellSpec): CellKernelOffer {
    const step = hostStepKernels(cell);
    return { step, sequence: hostSequenceKernels(this, cell, step) };
  }
  gemm(g: GemmArgs): void {
    gemmHost({ ...g, a: dataOf(g.a), b: dataOf(g.b), c: dataOf(g.c) });
  }
  adam(a: AdamArgs): void {
    adamHost({ ...a, param: dataOf(a.param), grad: dataOf(a.grad), m: dataOf(a.m), v: dataOf(a.v) });
  }
}

let registered = false;

/**
 * Registers `reference` (priority 12: above tfjs-cpu, gpujs-webasm and gpujs-cpu, which trained
 * no faster than it, in Node and in a browser; below every backend that did). Idempotent.
 */
export function registerReferenceBackend(): void {
  if (registered) return;
  registered = true;
  const be = new ReferenceBackend();
  registerBackend({
    name: be.name,
    priority: 12,
    init: () => be,
    description: 'plain TypeScript on typed arrays; float64 and float32; the oracle',
  });
}
