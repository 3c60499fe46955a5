import type { Backend, DeviceBuffer, DType } from '../backend/types.js';

/** One name's buffers of every member: views of `parent`, member m's at m·stride. */
interface Slab {
  parent: DeviceBuffer;
  stride: number;
  /** How many members' current buffers of this name are views of it. */
  users: number;
}

/**
 * A member's current buffer of one name: a view of a slab (taken at step `step`), or a buffer of
 * its own (`slab` null: see the class's note).
 */
interface Held {
  slab: Slab | null;
  buf: DeviceBuffer;
  step: number;
}

/**
 * The workspace buffers of an Ensemble's members (backends with views only): each name's buffers
 * of all members are views of one parent, member m's at m·stride. A kernel that runs every
 * member's pass at once (SequenceKernels.forwardMany) then finds each operand of all members in
 * one buffer at a fixed stride, which it binds once and indexes by member.
 *
 * A member that asks for a longer buffer than the stride makes a new parent with a larger stride.
 * Within a step the other members keep their views (the workspace's promise: what a pass wrote,
 * the next pass of the step reads); after `nextStep` they move to the new parent when they next
 * ask, and the old parent is disposed once no member holds a view of it. A name whose parent
 * would exceed the backend's largest buffer (`maxBufferBytes`, which each member's micro-batches
 * are planned to fit) gets each member a buffer of its own instead: those members' kernels then
 * run one by one.
 */
export class MemberSlabs {
  private readonly current = new Map<string, Slab>();
  /** Per name, each member's current buffer. */
  private readonly held = new Map<string, Map<number, Held>>();
  /** Counts `nextStep` calls: a member moves to a newer parent only at a step it has not yet seen. */
  private step = 0;

  constructor(
    private readonly be: Backend & { view: NonNullable<Backend['view']> },
    private readonly dtype: DType,
    readonly members: number,
  ) {}

  /** A new training step begins (see the class's note). */
  nextStep(): void {
    this.step++;
  }

  /** Member `member`'s buffer of `length` elements under `name`. */
  get(name: string, member: number, length: number): DeviceBuffer {
    const n = Math.max(1, length);
    let byMember = this.held.get(name);
    if (!byMember) {
      byMember = new Map();
      this.held.set(name, byMember);
    }
    const was = byMember.get(member);
    const slab = this.current.get(name);
    // kept while its length stays and its parent is current, or (an outgrown one) for the rest
    // of the step it was last asked for in
    const keep =
      was?.buf.length === n &&
      (was.slab === null ? this.tooLarge(n) : was.slab === slab || was.step === this.step);
    if (was && keep) {
      was.step = this.step;
      return was.buf;
    }
    this.drop(name, member);
    if (this.tooLarge(n)) {
      byMember.set(member, { slab: null, buf: this.be.alloc(n, this.dtype), step: this.step });
      return byMember.get(member)!.buf;
    }
    const use = slab && n <= slab.stride ? slab : this.grow(name, n);
    use.users++;
    const buf = this.be.view(use.parent, member * use.stride, n);
    byMember.set(member, { slab: use, buf, step: this.step });
    return buf;
  }

  /** Member `member` gave up its buffer of `name` (its workspace was disposed). */
  release(name: string, member: number): void {
    this.drop(name, member);
  }

  /** Frees every parent (the members' views with them) and every buffer of a member's own. */
  dispose(): void {
    for (const byMember of this.held.values())
      for (const h of byMember.values()) if (!h.slab) this.be.dispose(h.buf);
    const slabs = new Set<Slab>(this.current.values());
    for (const byMember of this.held.values())
      for (const h of byMember.values()) if (h.slab) slabs.add(h.slab);
    for (const s of slabs) this.be.dispose(s.parent);
    this.current.clear();
    this.held.clear();
  }

  private aligned(length: number): number {
    const align = Math.max(1, this.be.viewAlign ?? 1);
    return Math.ceil(Math.max(1, length) / align) * align;
  }

  private tooLarge(length: number): boolean {
    const limit = this.be.maxBufferBytes;
    return (
      limit !== undefined && this.members * this.aligned(length) * (this.dtype === 'float64' ? 8 : 4) > limit
    );
  }

  /** A new current parent for `name` that holds `length` per member (more where it fits). */
  private grow(name: string, length: number): Slab {
    const old = this.current.get(name);
    const grown = this.aligned(Math.max(length, old?.stride ?? 0));
    // a member asking for less than an oversized stride it would inherit starts afresh
    const stride = this.tooLarge(grown) ? this.aligned(length) : grown;
    const slab = { parent: this.be.alloc(this.members * stride, this.dtype), stride, users: 0 };
    this.current.set(name, slab);
    if (old && old.users === 0) this.be.dispose(old.parent);
    return slab;
  }

  /** Lets go of the member's current buffer of `name`: its own is freed, a parent left empty and outgrown too. */
  private drop(name: string, member: number): void {
    const byMember = this.held.get(name);
    const h = byMember?.get(member);
    if (!h) return;
    byMember!.delete(member);
    if (!h.slab) this.be.dispose(h.buf);
    else if (--h.slab.users === 0 && this.current.get(name) !== h.slab) this.be.dispose(h.slab.parent);
  }
}

/** Where a member's workspace takes its buffers: its ensemble's slabs, under a scope of its own. */
export interface SlabScope {
  slabs: MemberSlabs;
  member: number;
  /** Names the workspace within its member ('rnn', 'unit0', 'fc', …): each scope is its own slabs. */
  scope: string;
}
