import type { Backend, DeviceBuffer, DType } from '../backend/types.js';

/**
 * Named device buffers reused across calls: a buffer is reallocated only when the size it must
 * hold changes, so a training loop at fixed shapes allocates nothing after its first step.
 */
export class Workspace {
  private readonly bufs = new Map<string, DeviceBuffer>();

  constructor(
    private readonly backend: Backend,
    private readonly dtype: DType,
  ) {}

  get(name: string, length: number): DeviceBuffer {
    const have = this.bufs.get(name);
    if (have && have.length === length) return have;
    if (have) this.backend.dispose(have);
    const buf = this.backend.alloc(Math.max(1, length), this.dtype);
    this.bufs.set(name, buf);
    return buf;
  }

  /** A buffer of ones (for bias broadcasts and column sums through GEMM). */
  ones(length: number): DeviceBuffer {
    const have = this.bufs.get('__ones');
    if (have && have.length >= length) return have;
    const buf = this.get('__ones', length);
    this.backend.fill(buf, 1);
    return buf;
  }

  dispose(): void {
    for (const b of this.bufs.values()) this.backend.dispose(b);
    this.bufs.clear();
  }
}
