import type {
  AdamArgs,
  DeviceBuffer,
  DeviceCounters,
  DType,
  GemmArgs,
  LossGradientArgs,
} from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import { TfjsBuffer } from '../buffer.js';
import { webgpuAdam } from './adam-kernel.js';
import { webgpuCellKernels } from './cell-kernels.js';
import { webgpuCopy, webgpuFill, webgpuGemm } from './gemm-kernel.js';
import { webgpuLossGradient } from './loss-kernel.js';
import { wgslRunner } from './runner.js';

/**
 * The tfjs-webgpu backend with its arithmetic in WGSL. The generic tfjs backend expresses a GEMM
 * into part of a buffer, a copy or a fill as several tfjs ops that rebuild whole tensors; here each
 * is one dispatch that writes in place, and Adam is one dispatch per parameter buffer. Host
 * values are written into the buffer's existing GPU buffer, in order with the recorded work.
 * Buffers remain plain tfjs tensors (read and dispose are tfjs's), but they are born on the
 * device: no host array of zeros is made and uploaded for them. Every cell, user-defined ones
 * included, runs in WGSL kernels rendered from its recipe (cell-kernels.ts).
 */
export class WebgpuTfjsBackend extends TfjsBackend {
  private readonly born = new Set<TfjsBuffer>();
  /**
   * false: `write` goes through tfjs ops (TfjsBackend.write), which replace the buffer's tensor
   * and GPU buffer on every write (side-by-side measurements, tests).
   */
  writeInPlace = true;

  /** `maxBufferBytes` lowers the device's own limit (tests, or room for other work on the GPU). */
  constructor(
    name = 'tfjs-webgpu',
    private readonly limits: { maxBufferBytes?: number } = {},
  ) {
    super(name, 'webgpu');
    this.kernelSource = webgpuCellKernels;
  }

  /**
   * The largest buffer a kernel can bind: every WGSL kernel binds whole buffers as storage, so the
   * device's maxStorageBufferBindingSize (2 GiB on most GPUs) caps a buffer as much as maxBufferSize.
   */
  get maxBufferBytes(): number {
    const l = wgslRunner().device.limits;
    const device = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    return Math.min(device, this.limits.maxBufferBytes ?? device);
  }

  private mine(...bufs: DeviceBuffer[]): void {
    for (const b of bufs) this.own(b);
  }

  override alloc(length: number, dtype: DType): DeviceBuffer {
    // bad arguments and empty buffers take the generic path, which checks and reports them
    if (dtype !== 'float32' || !Number.isInteger(length) || length <= 0) return super.alloc(length, dtype);
    const runner = wgslRunner();
    const info = runner.be.makeTensorInfo([length], 'float32');
    const t = tf.engine().makeTensorFromTensorInfo(info, tf.findBackend('webgpu')!) as tf.Tensor1D;
    const buf = new TfjsBuffer(this, t);
    this.born.add(buf);
    // a fresh WebGPU buffer is zeroed, but tfjs hands out pooled ones
    webgpuFill(buf, 0, 0, length);
    return buf;
  }

  /**
   * Copies the values, as float32, into the buffer's GPU buffer in place (WgslRunner.write): the
   * GPU buffer keeps its identity, so the bind groups cached for it stay valid, and a partial
   * write touches only its range. Work recorded before the write still reads the old values.
   */
  override write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    const b = this.own(buf);
    if (!this.writeInPlace) {
      super.write(buf, data, offset);
      return;
    }
    // the queue copies the values at once, so a caller's Float32Array is written as it is
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = values.length;
    if (!Number.isInteger(offset)) throw new RangeError(`write offset must be a whole number, got ${offset}`);
    if (offset < 0 || offset + n > b.length)
      throw new RangeError(`write of ${n} values at ${offset} overruns a buffer of ${b.length}`);
    if (n === 0) return;
    wgslRunner().write(b, offset, values);
  }

  override release(buf: TfjsBuffer): void {
    if (!this.born.delete(buf)) super.release(buf);
  }

  override get liveBuffers(): number {
    return super.liveBuffers + this.born.size;
  }

  override gemm(g: GemmArgs): void {
    this.mine(g.a, g.b, g.c);
    webgpuGemm(g);
  }

  override copy(
    src: DeviceBuffer,
    srcOffset: number,
    dst: DeviceBuffer,
    dstOffset: number,
    length: number,
  ): void {
    this.mine(src, dst);
    webgpuCopy(src, srcOffset, dst, dstOffset, length);
  }

  override fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    this.mine(buf);
    webgpuFill(buf, value, offset, length ?? buf.length - offset);
  }

  override adam(a: AdamArgs): void {
    this.mine(a.param, a.grad, a.m, a.v);
    webgpuAdam(a);
  }

  lossGradient(a: LossGradientArgs): void {
    this.mine(a.pred, a.target, a.grad);
    const short = [a.pred, a.target, a.grad].find((b) => b.length < a.n);
    if (short) throw new RangeError(`loss gradient over ${a.n} values, but a buffer holds ${short.length}`);
    webgpuLossGradient(a);
  }

  /**
   * Waits for the device. (Reading back a fresh tfjs tensor does not: tfjs-backend-webgpu keeps
   * small new tensors on the host, so their data() returns at once.)
   */
  override async sync(): Promise<void> {
    await wgslRunner().sync();
  }

  /**
   * Dispatches (fused kernels and tfjs's own programs), submits and readbacks since the first call,
   * and the host's time waiting on the device (WgslRunner.counters).
   */
  counters(): DeviceCounters {
    return wgslRunner().counters();
  }

  override destroy(): void {
    for (const b of [...this.born]) b.dispose();
    super.destroy();
  }
}
