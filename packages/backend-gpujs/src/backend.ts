import {
  type AdamArgs,
  type Backend,
  BackendUnavailableError,
  backwardSteps,
  CELLS,
  type CellName,
  type DeviceBuffer,
  type DType,
  type GemmArgs,
  type HostArray,
  InputError,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type StepBackwardArgs,
  type StepForwardArgs,
  type StepScratch,
  slots,
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

  constructor(
    readonly variant: GpujsVariant,
    private readonly gpu: GpuInstance,
  ) {
    this.name = variant.name;
    this.runner = new KernelRunner(gpu, variant.mode, variant.storage === 'resident');
    this.store = variant.storage === 'resident' ? new ResidentStore(this.runner) : new HostStore(this.runner);
    this.queue = new OpQueue(variant.name);
  }

  /** Compiled kernel instances (one per kernel and output length). */
  get compiledKernels(): number {
    return this.runner.size;
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

  stepForward(cell: CellName, a: StepForwardArgs<DeviceBuffer>): Promise<void> {
    return this.queue.call(`${cell} step forward`, () => this.scoped((s) => stepForwardOp(s, cell, a, null)));
  }

  stepBackward(cell: CellName, a: StepBackwardArgs<DeviceBuffer>): Promise<void> {
    return this.queue.call(`${cell} step backward`, () => this.scoped((s) => stepBackwardOp(s, cell, a)));
  }

  /** All T steps, one launch each: the recurrent product is computed inside the step kernel. */
  sequenceForward(cell: CellName, a: SequenceForwardArgs): Promise<void> {
    const spec = CELLS[cell];
    const { T, B, H } = a;
    const BH = B * H;
    const fused = spec.gr > 0 ? { wh: a.wh!, bh: a.bh } : null;
    return this.queue.call(`${cell} sequence forward`, async () => {
      for (let i = 0; i < T; i++) {
        const t = a.reverse ? T - 1 - i : i;
        const { prev, out } = slots(t, a.reverse);
        const step: StepForwardArgs<DeviceBuffer> = {
          B,
          H,
          p: a.p,
          pOff: t * BH * spec.gx,
          r: null,
          rOff: 0,
          pw: a.pw,
          hPrev: a.hAll,
          hPrevOff: prev * BH,
          cPrev: a.cAll,
          cPrevOff: prev * BH,
          hOut: a.hAll,
          hOutOff: out * BH,
          cOut: a.cAll,
          cOutOff: out * BH,
          cache: a.cache,
          cacheOff: t * BH * spec.cacheWidth,
        };
        await this.scoped((s) => stepForwardOp(s, cell, step, fused));
      }
    });
  }

  /**
   * All T steps backwards, one launch each: a step's kernel adds the previous step's dR @ whᵀ to
   * the gradient reaching h itself (core would run that GEMM between steps), and one GEMM after
   * the loop finishes dh0. BRC has no recurrent GEMM and runs core's step loop over its kernels.
   */
  sequenceBackward(cell: CellName, a: SequenceBackwardArgs): Promise<void> {
    const spec = CELLS[cell];
    const scratch = this.stepScratch(cell, a.B, a.H);
    if (spec.gr === 0) {
      const driver = {
        forward: (x: StepForwardArgs<DeviceBuffer>) => this.stepForward(cell, x),
        backward: (x: StepBackwardArgs<DeviceBuffer>) => this.stepBackward(cell, x),
      };
      return backwardSteps(this, spec, a, driver, scratch);
    }
    const { T, B, H } = a;
    const BH = B * H;
    const grH = spec.gr * H;
    const store = this.store;
    const own = (b: DeviceBuffer | null) => b as GpujsBuffer;
    return this.queue.call(`${cell} sequence backward`, async () => {
      let [cur, next] = scratch.dh.map(own);
      let [curC, nextC] = scratch.dc ? scratch.dc.map(own) : [null, null];
      if (a.dhN) store.copy(own(a.dhN), 0, cur, 0, BH);
      else store.fill(cur, 0, BH, 0);
      if (curC) {
        if (a.dcN) store.copy(own(a.dcN), 0, curC, 0, BH);
        else store.fill(curC, 0, BH, 0);
      }
      let prevT = -1;
      for (let i = 0; i < T; i++) {
        const t = a.reverse ? i : T - 1 - i;
        const { prev } = slots(t, a.reverse);
        const step: StepBackwardArgs<DeviceBuffer> = {
          B,
          H,
          dOut: a.dOut,
          dOutOff: t * BH,
          dhCarry: cur,
          dhCarryOff: 0,
          dcCarry: curC,
          dcCarryOff: 0,
          cache: a.cache,
          cacheOff: t * BH * spec.cacheWidth,
          hPrev: a.hAll,
          hPrevOff: prev * BH,
          cPrev: a.cAll,
          cPrevOff: prev * BH,
          pw: null,
          dP: a.dP,
          dPOff: t * BH * spec.gx,
          dR: a.dR,
          dROff: t * B * grH,
          dhPrev: next,
          dhPrevOff: 0,
          dcPrev: nextC,
          dcPrevOff: 0,
          dPw: null,
        };
        const carry = prevT >= 0 ? { dR: a.dR!, dROff: prevT * B * grH, wh: a.wh! } : null;
        await this.scoped((s) => stepBackwardOp(s, cell, step, carry));
        [cur, next] = [next, cur];
        [curC, nextC] = [nextC, curC];
        prevT = t;
      }
      // dh0 = (pointwise part of the last step) + its dR @ whᵀ
      store.copy(cur, 0, own(a.dh0), 0, BH);
      const g = {
        transA: false,
        transB: true,
        m: B,
        n: H,
        k: grH,
        alpha: 1,
        beta: 1,
        a: a.dR!,
        aOffset: prevT * B * grH,
        lda: grH,
        b: a.wh!,
        bOffset: 0,
        ldb: grH,
        c: a.dh0,
        cOffset: 0,
        ldc: H,
      };
      await this.scoped((s) => gemmOp(s, g));
      if (a.dc0 && curC) store.copy(curC, 0, own(a.dc0), 0, BH);
    });
  }

  private stepScratch(cell: CellName, B: number, H: number): StepScratch {
    const key = `${cell}/${B}/${H}`;
    let s = this.scratch.get(key);
    if (!s) {
      const spec = CELLS[cell];
      const ones = this.alloc(B, 'float32');
      this.fill(ones, 1);
      const pair = (): [DeviceBuffer, DeviceBuffer] => [
        this.alloc(B * H, 'float32'),
        this.alloc(B * H, 'float32'),
      ];
      s = {
        ones,
        // only forwardSteps reads r, and this backend never runs it (level 3 fuses R into the kernel)
        r: null,
        dh: pair(),
        dc: spec.hasCellState ? pair() : null,
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

/** The backend a buffer belongs to (fused kernels are registered before any backend exists). */
export function ownerOf(buf: DeviceBuffer): GpujsBackend {
  if (buf instanceof GpujsBuffer && buf.owner instanceof GpujsBackend) return buf.owner;
  throw new InputError('a gpu.js kernel was given a buffer from another backend');
}
