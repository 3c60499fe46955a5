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
    const result = kernel(...args);
    const out = isThenable(result) ? await result : result;
    if (fresh) this.checkRanWhereAsked(src, kernel);
    return out;
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
