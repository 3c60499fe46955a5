import {
  type AdamArgs,
  checkViewRange,
  type DeviceBuffer,
  type DeviceCounters,
  type DType,
  type GemmArgs,
  type HostArray,
  type LinearLossArgs,
  type LossGradientArgs,
} from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import { TfjsBuffer } from '../buffer.js';
import { webgpuAdam } from './adam-kernel.js';
import { BufferView, isBufferView } from './buffer-view.js';
import { webgpuCellKernels } from './cell-kernels.js';
import { checkGemm, webgpuCopy, webgpuFill, webgpuGemm } from './gemm-kernel.js';
import { webgpuGemmMany } from './gemm-many-kernel.js';
import { webgpuLinearLoss, webgpuLinearLossMany, webgpuLossGradient } from './loss-kernel.js';
import { currentRunner, wgslRunner } from './runner.js';
import { releaseTransposed } from './sequence-kernels.js';

/**
 * The tfjs-webgpu backend with its arithmetic in WGSL. The generic tfjs backend expresses a GEMM
 * into part of a buffer, a copy or a fill as several tfjs ops that rebuild whole tensors; here each
 * is one dispatch that writes in place, and Adam is one dispatch per parameter buffer. Host
 * values are written into the buffer's existing GPU buffer, in order with the recorded work.
 * Buffers remain plain tfjs tensors (read and dispose are tfjs's), but they are born on the
 * device: no host array of zeros is made and uploaded for them. Every cell, user-defined ones
 * included, runs in WGSL kernels rendered from its recipe (cell-kernels.ts).
 *
 * `view` makes buffers that alias a range of a plain buffer (buffer-view.ts): the runner binds a
 * view as its range of the parent's GPU buffer, so every kernel works on views unchanged, and the
 * methods here that are tfjs's (read, the tfjs path of write) work on the parent's range.
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

  /**
   * Element alignment of `view` offsets: a storage binding's offset must be a multiple of the
   * device's minStorageBufferOffsetAlignment (256 bytes on most devices, so 64 elements).
   */
  get viewAlign(): number {
    return Math.max(1, Math.ceil(wgslRunner().device.limits.minStorageBufferOffsetAlignment / 4));
  }

  /**
   * Checks that every buffer given (nulls skipped) is this backend's: a plain buffer, or a view
   * whose parent is still alive. Methods that hand buffers to WGSL kernels call it first; the
   * runner resolves views itself.
   */
  protected mine(...bufs: (DeviceBuffer | null | undefined)[]): void {
    for (const b of bufs) if (b) this.placed(b);
  }

  /** The plain buffer holding `buf`'s elements and `buf`'s offset in it (0 unless a view). */
  protected placed(buf: DeviceBuffer): { root: TfjsBuffer; offset: number } {
    if (!isBufferView(buf)) return { root: this.own(buf), offset: 0 };
    if (buf.owner !== this)
      throw new TypeError(`buffer belongs to backend '${buf.owner.name}', not '${this.name}'`);
    return { root: buf.root, offset: buf.offset };
  }

  /**
   * Whether a dispatch that writes `w` and reads `r` cannot bind both as they are: two ranges of
   * one parent that overlap from different starts (WebGPU forbids a writable binding that
   * overlaps another). Such operands go to the kernel as the parent with their offsets added.
   */
  protected clash(w: DeviceBuffer, r: DeviceBuffer): boolean {
    const a = this.placed(w);
    const b = this.placed(r);
    if (a.root !== b.root || a.offset === b.offset) return false;
    return a.offset < b.offset + r.length && b.offset < a.offset + w.length;
  }

  /**
   * A buffer aliasing `length` elements of `buf` from element `offset`, usable wherever a buffer
   * is. `offset` must be a multiple of `viewAlign`. A view of a view is a view of the same parent
   * (offsets added). The view lives as long as its parent: disposing the view does nothing, and
   * using it after the parent was disposed throws.
   */
  view(buf: DeviceBuffer, offset: number, length: number): DeviceBuffer {
    const { root, offset: base } = this.placed(buf);
    checkViewRange(buf.length, offset, length, this.viewAlign);
    return new BufferView(this, root, base + offset, length);
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
    const { root, offset: base } = this.placed(buf);
    if (!this.writeInPlace) {
      if (isBufferView(buf) && (offset < 0 || offset + data.length > buf.length))
        throw new RangeError(
          `write of ${data.length} values at ${offset} overruns a buffer of ${buf.length}`,
        );
      super.write(root, data, base + offset);
      return;
    }
    // the queue copies the values at once, so a caller's Float32Array is written as it is
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = values.length;
    if (!Number.isInteger(offset)) throw new RangeError(`write offset must be a whole number, got ${offset}`);
    if (offset < 0 || offset + n > buf.length)
      throw new RangeError(`write of ${n} values at ${offset} overruns a buffer of ${buf.length}`);
    if (n === 0) return;
    // a view's offset is the runner's to add
    wgslRunner().write(buf, offset, values);
  }

  /** A view reads its parent's range. */
  override async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    if (!isBufferView(buf)) return super.read(buf, offset, length, out);
    this.placed(buf);
    const n = length ?? buf.length - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(n))
      throw new RangeError(`read of ${n} values at ${offset}: whole numbers expected`);
    // a range of a larger buffer: a copy command, not tfjs's slice (a dispatch) then a read; the
    // runner checks the range against the view
    return wgslRunner().read(buf, offset, n, out ?? new Float32Array(n));
  }

  /** Disposing a view does nothing: it goes with its parent. */
  override dispose(buf: DeviceBuffer): void {
    if (!isBufferView(buf)) {
      // a weight's transposed copy (its own, or its views') goes with it
      const runner = currentRunner();
      if (runner) releaseTransposed(runner, buf);
      super.dispose(buf);
      return;
    }
    if (buf.owner !== this)
      throw new TypeError(`buffer belongs to backend '${buf.owner.name}', not '${this.name}'`);
  }

  override release(buf: TfjsBuffer): void {
    if (!this.born.delete(buf)) super.release(buf);
  }

  override get liveBuffers(): number {
    return super.liveBuffers + this.born.size;
  }

  /** The GEMM adds a bias row (to the first biasLength columns) in its epilogue. */
  readonly gemmBias = true;
  readonly gemmBiasLength = true;

  override gemm(g: GemmArgs): void {
    this.mine(g.a, g.b, g.c, g.bias);
    webgpuGemm(this.unclashGemm(g));
  }

  /** Independent GEMMs (a backward's weight gradients) grouped into few dispatches (gemm-many-kernel.ts). */
  gemmMany(list: readonly GemmArgs[]): void {
    for (const g of list) this.mine(g.a, g.b, g.c, g.bias);
    // its kernel binds every operand's whole parent and adds the views' offsets: nothing clashes
    webgpuGemmMany(list);
  }

  /**
   * `g` as it is, or, where C and a read operand are ranges of one parent that cannot be bound
   * side by side (clash), with every operand on C's parent replaced by that parent and its
   * offset. The blocks are checked against the views first, since the kernel then checks them
   * against the parent only.
   */
  protected unclashGemm(g: GemmArgs): GemmArgs {
    const reads = [g.a, g.b, g.bias].filter((b): b is DeviceBuffer => !!b);
    if (!reads.some((r) => this.clash(g.c, r))) return g;
    if (g.m === 0 || g.n === 0) return g;
    checkGemm(g);
    const root = this.placed(g.c).root;
    const flat = (buf: DeviceBuffer, offset: number): [DeviceBuffer, number] => {
      const p = this.placed(buf);
      return p.root === root ? [root, p.offset + offset] : [buf, offset];
    };
    const [a, aOffset] = flat(g.a, g.aOffset);
    const [b, bOffset] = flat(g.b, g.bOffset);
    const [c, cOffset] = flat(g.c, g.cOffset);
    const out: GemmArgs = { ...g, a, aOffset, b, bOffset, c, cOffset };
    if (g.bias) [out.bias, out.biasOffset] = flat(g.bias, g.biasOffset ?? 0);
    return out;
  }

  override copy(
    src: DeviceBuffer,
    srcOffset: number,
    dst: DeviceBuffer,
    dstOffset: number,
    length: number,
  ): void {
    this.mine(src, dst);
    // two ranges of one parent that cannot be bound side by side: the runner copies within the
    // parent (checking the ranges, and that they do not overlap)
    if (this.clash(dst, src)) wgslRunner().copy(src, srcOffset, dst, dstOffset, length);
    else webgpuCopy(src, srcOffset, dst, dstOffset, length);
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

  /** A 'last' readout, its loss gradient and its input gradient in one dispatch (loss-kernel.ts). */
  linearLoss(a: LinearLossArgs): void {
    this.mine(a.x, a.w, a.b, a.target, a.y, a.dy, a.dx);
    webgpuLinearLoss(a);
  }

  /** Several models' readouts, runs of them in one dispatch (an Ensemble's members). */
  linearLossMany(list: readonly LinearLossArgs[]): void {
    for (const a of list) this.mine(a.x, a.w, a.b, a.target, a.y, a.dy, a.dx);
    webgpuLinearLossMany(list);
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
