import type { Backend, DeviceBuffer, DType } from '../backend/types.js';

/** One name's buffers of every member: views of `parent`, member m's at m·stride. */
interface Slab {
  parent: DeviceBuffer;
  stride: number;
  /** The members whose current buffer of this name is a view of this slab. */
  holders: Set<number>;
  /** Each member's last view, reused while its length stays. */
  views: Map<number, DeviceBuffer>;
}

/**
 * The workspace buffers of an Ensemble's members (backends with views only): each name's buffers
 * of all members are views of one parent, member m's at m·stride. A kernel that runs every
 * member's pass at once (SequenceKernels.forwardMany) then finds each operand of all members in
 * one buffer at a fixed stride, which it binds once and indexes by member.
 *
 * A member that asks for a longer buffer than the stride makes a new parent with a larger stride;
 * the other members move to it when they next ask, and the old parent is disposed once no member
 * holds a view of it (the workspace's rule: a buffer replaced by a longer one is not used again).
 * A name whose parent would exceed the backend's largest buffer (`maxBufferBytes`, which each
 * member's micro-batches are planned to fit) gets each member a buffer of its own instead: those
 * members' kernels then run one by one.
 */
export class MemberSlabs {
  private readonly current = new Map<string, Slab>();
  /** Per name, the slab each member's current view is in (a stale one after a resize). */
  private readonly held = new Map<string, Map<number, Slab>>();

  constructor(
    private readonly be: Backend & { view: NonNullable<Backend['view']> },
    private readonly dtype: DType,
    readonly members: number,
  ) {}

  /** Counts `nextStep` calls: a member moves to a newer parent only at a step it has not yet seen. */
  private step = 0;
  /** Per name and member, the step its current view was taken in. */
  private readonly takenAt = new Map<string, Map<number, number>>();

  /**
   * A new training step begins: members whose buffers are in an outgrown parent move to the
   * current one when they next ask. Within a step a member keeps a buffer whose length it does
   * not change (the workspace's promise: what a pass wrote, the next pass of the step reads).
   */
  nextStep(): void {
    this.step++;
  }

  /** Buffers of their own, by name and member, where a shared parent would be too large. */
  private readonly own = new Map<string, Map<number, DeviceBuffer>>();

  /** Member `member`'s buffer of `length` elements under `name`. */
  get(name: string, member: number, length: number): DeviceBuffer {
    const limit = this.be.maxBufferBytes;
    const bytes = this.dtype === 'float64' ? 8 : 4;
    if (limit !== undefined && this.members * this.aligned(length) * bytes > limit)
      return this.alone(name, member, length);
    this.dropOwn(name, member);
    const was = this.held.get(name)?.get(member);
    const keep = was?.views.get(member);
    if (
      was &&
      keep &&
      keep.length === Math.max(1, length) &&
      this.takenAt.get(name)?.get(member) === this.step
    )
      return keep;
    let taken = this.takenAt.get(name);
    if (!taken) {
      taken = new Map();
      this.takenAt.set(name, taken);
    }
    taken.set(member, this.step);
    let slab = this.current.get(name);
    if (!slab || length > slab.stride) {
      // a member asking for less than the oversized stride it would inherit starts afresh
      const grown = this.aligned(Math.max(length, slab?.stride ?? 0));
      const stride =
        limit !== undefined && this.members * grown * bytes > limit ? this.aligned(length) : grown;
      slab = {
        parent: this.be.alloc(this.members * stride, this.dtype),
        stride,
        holders: new Set(),
        views: new Map(),
      };
      const old = this.current.get(name);
      this.current.set(name, slab);
      if (old && old.holders.size === 0) this.be.dispose(old.parent);
    }
    this.hold(name, member, slab);
    const have = slab.views.get(member);
    if (have && have.length === Math.max(1, length)) return have;
    const view = this.be.view(slab.parent, member * slab.stride, Math.max(1, length));
    slab.views.set(member, view);
    return view;
  }

  /** Member `member` gave up its buffer of `name` (its workspace was disposed). */
  release(name: string, member: number): void {
    this.hold(name, member, null);
    this.dropOwn(name, member);
  }

  private aligned(length: number): number {
    const align = Math.max(1, this.be.viewAlign ?? 1);
    return Math.ceil(Math.max(1, length) / align) * align;
  }

  /** A buffer of the member's own under `name` (see the class's note), replacing its view. */
  private alone(name: string, member: number, length: number): DeviceBuffer {
    this.hold(name, member, null);
    let byMember = this.own.get(name);
    if (!byMember) {
      byMember = new Map();
      this.own.set(name, byMember);
    }
    const have = byMember.get(member);
    if (have && have.length === Math.max(1, length)) return have;
    if (have) this.be.dispose(have);
    const buf = this.be.alloc(Math.max(1, length), this.dtype);
    byMember.set(member, buf);
    return buf;
  }

  private dropOwn(name: string, member: number): void {
    const have = this.own.get(name)?.get(member);
    if (!have) return;
    this.be.dispose(have);
    this.own.get(name)!.delete(member);
  }

  private hold(name: string, member: number, slab: Slab | null): void {
    let byMember = this.held.get(name);
    if (!byMember) {
      byMember = new Map();
      this.held.set(name, byMember);
    }
    const was = byMember.get(member);
    if (was === slab) return;
    if (was) {
      was.holders.delete(member);
      was.views.delete(member);
      if (was.holders.size === 0 && this.current.get(name) !== was) this.be.dispose(was.parent);
    }
    if (slab) {
      slab.holders.add(member);
      byMember.set(member, slab);
    } else byMember.delete(member);
  }

  /** Frees every parent (the members' views with them). */
  dispose(): void {
    const all = new Set<Slab>(this.current.values());
    for (const byMember of this.held.values()) for (const s of byMember.values()) all.add(s);
    for (const s of all) this.be.dispose(s.parent);
    for (const byMember of this.own.values()) for (const b of byMember.values()) this.be.dispose(b);
    this.current.clear();
    this.held.clear();
    this.own.clear();
  }
}

/** Where a member's workspace takes its buffers: its ensemble's slabs, under a scope of its own. */
export interface SlabScope {
  slabs: MemberSlabs;
  member: number;
  /** Names the workspace within its member ('rnn', 'unit0', 'fc', …): each scope is its own slabs. */
  scope: string;
}
