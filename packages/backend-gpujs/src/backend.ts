import {
  type AdamArgs,
  type Backend,
  BackendUnavailableError,
  backwardSteps,
  type CellKernelOffer,
  type CellSpec,
  type DeviceBuffer,
  type DeviceCounters,
  type DType,
  forwardSteps,
  type GemmArgs,
  type HostArray,
  InputError,
  type RecurrentCarry,
  type RecurrentWeights,
  type StepBackwardArgs,
  type StepForwardArgs,
  type StepKernels,
  type StepScratch,
} from '@bistable/core';
import { KernelRunner } from './engine/kernel-runner.js';
import { OpQueue } from './engine/op-queue.js';
import type { GpuInstance } from './gpujs/types.js';
import { adamOp } from './ops/adam.js';
import { stepBackwardOp, stepForwardOp } from './ops/cell-step.js';
import { gemmExtents, gemmOp } from './ops/gemm.js';
import { HostStore } from './store/host-store.js';
import { ResidentStore } from './store/resident-store.js';
import { GpujsBuffer, type Scope, type Store } from './store/store.js';
import type { GpujsVariant } from './variants.js';

/** Float index arithmetic inside kernels is exact up to 2^24. */
export const MAX_BUFFER_LENGTH = 1 << 24;

/**
 * A core backend on one gpu.js mode. Every operation goes through one queue (see OpQueue), and
 * buffers live in the variant's store: host typed arrays (cpu, webasm) or device-resident ropes
 * (headlessgl, webgpu).
 */
export class GpujsBackend implements Backend {
  readonly name: string;
  readonly dtypes: readonly DType[] = ['float32'];
  readonly store: Store;
  private readonly runner: KernelRunner;
  private readonly queue: OpQueue;
  private readonly scratch = new Map<string, StepScratch>();
  private destroyed = false;
  /**
   * The device's name where the GPU is emulated on the CPU (lavapipe, SwiftShader): `auto` then
   * prefers backends that run natively. Set for the WebGPU mode from its adapter's info.
   */
  softwareDevice?: string;
  /**
   * Device work since the first call, on the GPU modes (undefined on cpu and webasm, whose
   * "device" is the host). dispatches: kernel launches, one compute dispatch or draw each;
   * fusedDispatches: those of the cells' step kernels, the rest being GEMMs, Adam and the store's
   * uploads, gathers, fills and slices. submits: launches plus readbacks (KernelRunner.counters).
   * readbacks: device arrays copied back for `read`. waitMs: the time spent waiting for those
   * copies. `sync` adds none: it drains this backend's queue, which is the host recording the
   * queued work, and gpu.js offers no fence to wait on the device itself. Launches count when the
   * queue runs them, so read the counters after `sync` (or an awaited call).
   */
  readonly counters?: () => DeviceCounters;

  constructor(
    readonly variant: GpujsVariant,
    private readonly gpu: GpuInstance,
  ) {
    this.name = variant.name;
    this.runner = new KernelRunner(gpu, variant.mode, variant.storage === 'resident');
    this.store = variant.storage === 'resident' ? new ResidentStore(this.runner) : new HostStore(this.runner);
    this.queue = new OpQueue(variant.name);
    if (variant.mode === 'webgpu' || variant.mode === 'headlessgl') {
      const runner = this.runner;
      this.counters = () => runner.counters();
    }
  }

  /** Kernel launches so far. */
  get kernelLaunches(): number {
    return this.runner.launches;
  }

  // ---- storage -------------------------------------------------------------------------------

  alloc(length: number, dtype: DType): DeviceBuffer {
    this.alive();
    if (dtype !== 'float32') {
      throw new InputError(
        `backend '${this.name}' supports float32 only, not ${dtype} (gpu.js computes in float32)`,
      );
    }
    if (!Number.isInteger(length) || length < 0)
      throw new InputError(`buffer length must be a non-negative integer, got ${length}`);
    if (length > MAX_BUFFER_LENGTH) {
      throw new InputError(
        `backend '${this.name}' holds at most ${MAX_BUFFER_LENGTH} values per buffer (kernels index in float32), asked for ${length}`,
      );
    }
    return this.store.alloc(length, this);
  }

  write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    const b = this.own(buf);
    this.range(b, offset, data.length, 'write');
    // the caller may reuse its array at once; the queued write must see today's values
    const copy = data instanceof Float32Array ? data.slice() : Float32Array.from(data);
    this.queue.post('write', () => this.store.write(b, offset, copy));
  }

  async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    const b = this.own(buf);
    const n = length ?? b.length - offset;
    this.range(b, offset, n, 'read');
    if (out && out.length < n) throw new RangeError(`read of ${n} values into an array of ${out.length}`);
    const data = await this.queue.call('read', () => this.store.read(b, offset, n));
    if (!out) return data;
    out.set(data);
    return out;
  }

  fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    const b = this.own(buf);
    const n = length ?? b.length - offset;
    this.range(b, offset, n, 'fill');
    this.queue.post('fill', () => this.store.fill(b, offset, n, value));
  }

  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    const s = this.own(src);
    const d = this.own(dst);
    this.range(s, srcOffset, length, 'copy source');
    this.range(d, dstOffset, length, 'copy destination');
    this.queue.post('copy', () => this.store.copy(s, srcOffset, d, dstOffset, length));
  }

  dispose(buf: DeviceBuffer): void {
    if (!(buf instanceof GpujsBuffer) || buf.owner !== this || buf.disposed) return;
    buf.disposed = true;
    this.queue.post('dispose', () => this.store.free(buf));
  }

  // ---- arithmetic ----------------------------------------------------------------------------

  gemm(g: GemmArgs): void {
    const a = this.own(g.a);
    const b = this.own(g.b);
    const c = this.own(g.c);
    for (const [k, v] of Object.entries({ m: g.m, n: g.n, k: g.k, lda: g.lda, ldb: g.ldb, ldc: g.ldc })) {
      if (!Number.isInteger(v) || v < 0)
        throw new InputError(`gemm: ${k} must be a non-negative integer, got ${v}`);
    }
    if (g.ldc < g.n) throw new InputError(`gemm: ldc (${g.ldc}) is smaller than n (${g.n})`);
    const ext = gemmExtents(g);
    if (ext.aLen > 0) this.range(a, g.aOffset, ext.aLen, 'gemm A');
    if (ext.bLen > 0) this.range(b, g.bOffset, ext.bLen, 'gemm B');
    if (ext.cLen > 0) this.range(c, g.cOffset, ext.cLen, 'gemm C');
    const args = { ...g };
    this.queue.post('gemm', () => this.scoped((s) => gemmOp(s, args)));
  }

  adam(a: AdamArgs): void {
    const bufs = [a.param, a.grad, a.m, a.v].map((x) => this.own(x));
    if (bufs.some((x) => x.length !== bufs[0].length))
      throw new InputError('adam: param, grad, m and v differ in length');
    const args = { ...a };
    this.queue.post('adam', () => this.scoped((s) => adamOp(s, args)));
  }

  sync(): Promise<void> {
    return this.queue.drain();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.queue.post('destroy', () => {
      this.runner.destroy();
      return this.gpu.destroy();
    });
  }

  // ---- fused kernels (levels 2 and 3) --------------------------------------------------------

  /**
   * Every cell's step kernels, rendered from its program (built-in and user-defined cells alike);
   * whole-sequence kernels where the variant has them.
   */
  cellKernels(cell: CellSpec): CellKernelOffer {
    const step: StepKernels = {
      forward: (a) => this.stepForward(cell, a),
      backward: (a) => this.stepBackward(cell, a),
    };
    if (!this.variant.sequenceKernels) return { step };
    // level 3's step kernels compute the recurrent products, so core's loops run no GEMM per step
    const fused: StepKernels = {
      fusesRecurrent: true,
      forward: (a, rec) => this.stepForward(cell, a, rec),
      backward: (a, carry) => this.stepBackward(cell, a, carry),
    };
    return {
      step,
      sequence: {
        // all T steps, one launch each
        forward: (a) => forwardSteps(this, cell, a, fused, this.stepScratch(cell, a.B, a.H)),
        // one launch per step, and one GEMM after the loop to finish dh0
        backward: (a) => backwardSteps(this, cell, a, fused, this.stepScratch(cell, a.B, a.H)),
      },
    };
  }

  /** One step in one launch; with `rec` (level 3) the kernel computes R = hPrev @ wh + bh itself. */
  stepForward(cell: CellSpec, a: StepForwardArgs<DeviceBuffer>, rec?: RecurrentWeights): Promise<void> {
    this.own(a.hPrev);
    return this.queue.call(`${cell.name} step forward`, () =>
      this.scoped((s) => stepForwardOp(s, cell, a, rec ?? null)),
    );
  }

  /**
   * One step in one launch; with `carry` (level 3) the kernel adds carry.dR @ whᵀ to the gradient
   * reaching h.
   */
  stepBackward(
    cell: CellSpec,
    a: StepBackwardArgs<DeviceBuffer>,
    carry?: RecurrentCarry | null,
  ): Promise<void> {
    this.own(a.dhCarry);
    return this.queue.call(`${cell.name} step backward`, () =>
      this.scoped((s) => stepBackwardOp(s, cell, a, carry ?? null)),
    );
  }

  private stepScratch(cell: CellSpec, B: number, H: number): StepScratch {
    // the carries depend on the shape alone: cells of one shape share them, as they run in turn
    const key = `${B}/${H}/${cell.hasCellState ? 'c' : ''}`;
    let s = this.scratch.get(key);
    if (!s) {
      const pair = (): [DeviceBuffer, DeviceBuffer] => [
        this.alloc(B * H, 'float32'),
        this.alloc(B * H, 'float32'),
      ];
      s = {
        // read only by loops that run the recurrent GEMM themselves; this backend's kernels compute R
        ones: null,
        r: null,
        dh: pair(),
        dc: cell.hasCellState ? pair() : null,
      };
      this.scratch.set(key, s);
    }
    return s;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private async scoped(f: (s: Scope) => Promise<void>): Promise<void> {
    const s = this.store.scope();
    try {
      await f(s);
    } finally {
      s.close();
    }
  }

  private alive(): void {
    if (this.destroyed) throw new BackendUnavailableError(this.name, 'it was destroyed');
  }

  private own(buf: DeviceBuffer | null): GpujsBuffer {
    this.alive();
    if (!(buf instanceof GpujsBuffer) || buf.owner !== this) {
      throw new InputError(`a buffer passed to backend '${this.name}' was not allocated by it`);
    }
    if (buf.disposed) throw new InputError(`a buffer passed to backend '${this.name}' was already disposed`);
    return buf;
  }

  private range(b: GpujsBuffer, offset: number, length: number, what: string): void {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > b.length
    ) {
      throw new RangeError(`${what} of ${length} values at ${offset} overruns a buffer of ${b.length}`);
    }
  }
}
