import type { DeviceCounters } from '@bistable/core';
import type { GpuInstance, GpujsMode, RunShortcut } from '../gpujs/types.js';
import type { KernelSource } from '../kernels/index.js';
import { KERNEL_HELPERS } from '../kernels/math.js';

/** Loop bounds in kernels are run-time values; GL needs a compile-time ceiling. */
const LOOP_MAX = 1 << 24;

/** What gpu.js's kernel classes report as their static `mode` (class names do not survive bundlers). */
const KERNEL_MODE: Record<GpujsMode, string> = {
  cpu: 'cpu',
  webasm: 'webasm',
  headlessgl: 'gpu',
  webgpu: 'webgpu',
};

/** Device work since counting began (KernelRunner.counters). */
interface Tally {
  /** `launches` when counting began: the total already counts every launch. */
  launchBase: number;
  fused: number;
  readbacks: number;
  waitMs: number;
}

const now = (): number => globalThis.performance.now();

/**
 * Compiles each kernel once per output length and keeps it: a GL kernel owns a program and an
 * output texture per size, so resizing one (dynamicOutput) would reallocate on every call.
 * `resident`: results stay on the device as immutable handles (pipeline + immutable); otherwise
 * results are host arrays the caller copies out at once.
 */
export class KernelRunner {
  private readonly cache = new Map<string, RunShortcut>();
  /** Kernel launches so far (for measurements). */
  launches = 0;
  /** null until the first counters() call, so that a backend nobody measures pays nothing. */
  private tally: Tally | null = null;

  constructor(
    private readonly gpu: GpuInstance,
    readonly mode: GpujsMode,
    private readonly resident: boolean,
  ) {}

  async run(src: KernelSource, outLen: number, args: unknown[]): Promise<unknown> {
    if (!(outLen > 0)) throw new Error(`kernel '${src.name}' asked for an output of ${outLen} values`);
    const key = `${src.name}/${outLen}`;
    let kernel = this.cache.get(key);
    const fresh = !kernel;
    if (!kernel) {
      kernel = this.gpu.createKernel(src.fn, {
        output: [outLen],
        // the cpu backend reuses its result array in mutable pipeline mode: no allocation per call
        pipeline: this.resident || this.mode === 'cpu',
        immutable: this.resident,
        dynamicArguments: true,
        dynamicOutput: false,
        loopMaxIterations: LOOP_MAX,
        precision: 'single',
        tactic: 'precision',
        functions: KERNEL_HELPERS,
      });
      if (this.mode === 'webasm' && kernel.kernel) kernel.kernel.moduleCacheLimit = 64;
      this.cache.set(key, kernel);
    }
    this.launches++;
    if (src.fused && this.tally) this.tally.fused++;
    const result = kernel(...args);
    const out = isThenable(result) ? await result : result;
    if (fresh) this.checkRanWhereAsked(src, kernel);
    return out;
  }

  /**
   * Every device-to-host read goes through here (a handle's toArray), so that counters() sees
   * each one and the time the host spent waiting for it.
   */
  async readback(read: () => Float32Array | Promise<Float32Array>): Promise<Float32Array> {
    const t = this.tally;
    if (!t) return read();
    t.readbacks++;
    const t0 = now();
    try {
      return await read();
    } finally {
      t.waitMs += now() - t0;
    }
  }

  /**
   * Totals since the first call (which returns zeros). gpu.js records nothing ahead: each kernel
   * run is encoded and submitted on its own (WebGPU: one queue.submit per run; GL: one draw,
   * issued at once), and each readback submits its own copy (WebGPU: a staging copy, then
   * mapAsync; GL: readPixels, which flushes whatever is pending). Submits are therefore launches
   * plus readbacks.
   */
  counters(): DeviceCounters {
    this.tally ??= { launchBase: this.launches, fused: 0, readbacks: 0, waitMs: 0 };
    const t = this.tally;
    const dispatches = this.launches - t.launchBase;
    return {
      dispatches,
      fusedDispatches: t.fused,
      submits: dispatches + t.readbacks,
      readbacks: t.readbacks,
      waitMs: t.waitMs,
    };
  }

  /** gpu.js degrades to its cpu backend with only a console warning; here that is an error. */
  private checkRanWhereAsked(src: KernelSource, kernel: RunShortcut): void {
    const ran = kernel.kernel?.constructor?.mode;
    if (ran && ran !== KERNEL_MODE[this.mode]) {
      const why = kernel.kernel.fallbackReason ? `: ${kernel.kernel.fallbackReason}` : '';
      throw new Error(`gpu.js ran kernel '${src.name}' in its '${ran}' mode instead of '${this.mode}'${why}`);
    }
  }

  destroy(): void {
    for (const k of this.cache.values()) {
      try {
        k.destroy?.();
      } catch {
        // a kernel whose context is already gone has nothing left to free
      }
    }
    this.cache.clear();
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
