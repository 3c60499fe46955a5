import type { Backend, DeviceBuffer, DType } from '../backend/types.js';
import type { SlabScope } from './member-slabs.js';

/**
 * Named device buffers reused across calls: a buffer is reallocated only when the size it must
 * hold changes, so a training loop at fixed shapes allocates nothing after its first step. An
 * Ensemble's member takes them from its ensemble's slabs (`shared`): views of one parent per name
 * for all members, so that kernels can run every member at once (MemberSlabs).
 */
export class Workspace {
  private readonly bufs = new Map<string, DeviceBuffer>();

  constructor(
    private readonly backend: Backend,
    private readonly dtype: DType,
    private readonly shared: SlabScope | null = null,
  ) {}

  get(name: string, length: number): DeviceBuffer {
    if (this.shared) {
      const { slabs, member } = this.shared;
      const view = slabs.get(this.slabKey(name), member, length);
      this.bufs.set(name, view);
      return view;
    }
    const have = this.bufs.get(name);
    if (have && have.length === length) return have;
    if (have) this.backend.dispose(have);
    const buf = this.backend.alloc(Math.max(1, length), this.dtype);
    this.bufs.set(name, buf);
    return buf;
  }

  /**
   * A buffer of at least `length` ones (bias broadcasts and column sums through GEMM). A longer
   * one replaces it (at least doubling), and the one it replaces lives until the workspace is
   * disposed: GEMMs queued to run later may still read it.
   */
  ones(length: number): DeviceBuffer {
    const have = this.bufs.get('__ones');
    if (have && have.length >= length) return have;
    if (have) this.retired.push(have);
    const buf = this.backend.alloc(Math.max(1, length, 2 * (have?.length ?? 0)), this.dtype);
    this.backend.fill(buf, 1);
    this.bufs.set('__ones', buf);
    return buf;
  }

  /** The slabs' name of each of this workspace's names (asked on every get: kept, not rebuilt). */
  private readonly slabKeys = new Map<string, string>();
  private slabKey(name: string): string {
    let key = this.slabKeys.get(name);
    if (key === undefined) {
      key = `${this.shared!.scope}/${name}`;
      this.slabKeys.set(name, key);
    }
    return key;
  }

  /** Buffers of ones that a longer one replaced (see `ones`). */
  private readonly retired: DeviceBuffer[] = [];

  dispose(): void {
    if (this.shared) {
      // the views' memory is the slabs'; give up this member's share of each
      const { slabs, member } = this.shared;
      for (const name of this.bufs.keys()) if (name !== '__ones') slabs.release(this.slabKey(name), member);
      const ones = this.bufs.get('__ones');
      this.bufs.clear();
      if (ones) this.bufs.set('__ones', ones);
    }
    for (const b of [...this.bufs.values(), ...this.retired]) this.backend.dispose(b);
    this.bufs.clear();
    this.retired.length = 0;
  }
}
