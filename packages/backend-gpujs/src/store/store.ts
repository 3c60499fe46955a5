import type { DeviceBuffer } from '@bistable/core';
import type { KernelSource } from '../kernels/index.js';

/** A buffer of a gpu.js backend. Which store holds its data decides the subclass. */
export abstract class GpujsBuffer implements DeviceBuffer {
  readonly dtype = 'float32' as const;
  disposed = false;

  constructor(
    readonly length: number,
    readonly owner: object,
  ) {}
}

/** A kernel argument: an array the kernel can read (typed array, texture or GPU buffer) and where the range starts in it. */
export interface View {
  readonly val: unknown;
  readonly off: number;
}

/**
 * What one operation holds while it runs: views of its inputs and the outputs of its kernels,
 * all kept alive until `close`, then committed ranges alone keep them.
 */
export interface Scope {
  /**
   * The most arrays one kernel may take: the GPU modes bind each as a storage buffer, and WebGPU
   * allows eight per shader stage by default, the output included.
   */
  readonly maxKernelArrays: number;
  view(buf: GpujsBuffer, start: number, len: number): Promise<View>;
  /** Ranges of several buffers, back to back in one array (for kernels that would take too many). */
  concat(ranges: readonly (readonly [GpujsBuffer, number, number])[]): Promise<View>;
  /** A valid array for an argument the kernel will not read (gpu.js needs every argument). */
  standIn(): Promise<View>;
  run(src: KernelSource, outLen: number, args: unknown[]): Promise<unknown>;
  /** buf[start, start+len) ← out[outOff, outOff+len). */
  commit(out: unknown, outOff: number, buf: GpujsBuffer, start: number, len: number): void;
  fill(buf: GpujsBuffer, start: number, len: number, value: number): void;
  /**
   * Host stores only: a contiguous rows×cols copy of the strided matrix M(r, c) =
   * v.val[v.off + r·sr + c·sc], in scratch memory valid until the next pack into the same slot.
   */
  pack?(slot: 0 | 1, v: View, rows: number, cols: number, sr: number, sc: number): View;
  close(): void;
}

/** Where a backend's buffers keep their data. Every method runs inside the backend's queue. */
export interface Store {
  alloc(length: number, owner: object): GpujsBuffer;
  scope(): Scope;
  write(buf: GpujsBuffer, start: number, data: Float32Array): Promise<void>;
  read(buf: GpujsBuffer, start: number, len: number): Promise<Float32Array>;
  fill(buf: GpujsBuffer, start: number, len: number, value: number): void;
  copy(src: GpujsBuffer, srcStart: number, dst: GpujsBuffer, dstStart: number, len: number): void;
  free(buf: GpujsBuffer): void;
  /** Device arrays currently alive (for leak checks). */
  liveArrays(): number;
}
