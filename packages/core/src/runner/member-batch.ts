import type { MemberSlabs, SlabScope } from './member-slabs.js';

/** One member's pass waiting to be run with the other members' passes at the same place. */
interface Waiting {
  /** Where in the model (unit and direction of the pass): calls with one key run together. */
  key: string;
  member: number;
  args: unknown;
  runMany: (list: readonly unknown[]) => void | Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Lets an Ensemble's members record their training steps side by side and runs their sequence
 * passes at the same place in the model (a unit's forward, or its backward) as one call
 * (SequenceKernels.forwardMany), so that a backend can batch them into one dispatch.
 *
 * `all` runs one task per member concurrently. A member's pass waits (`pass`) until every member
 * still running waits too; then each group of waiting passes with one key runs as one call, in
 * member order, and the members go on. Nothing can deadlock: when a member finishes it no longer
 * counts, and members whose models take different paths (micro-batches of different sizes) meet
 * in smaller groups. Outside `all` a pass runs at once on its own.
 */
export class MemberBatch {
  private readonly running = new Set<number>();
  private waiting: Waiting[] = [];
  private firing = false;
  /** Groups run so far, and the passes in them (for tests and benchmarks). */
  readonly stats = { groups: 0, passes: 0 };

  /**
   * Runs member i's task for each [i, task], side by side, and returns their results in that
   * order once all have settled; the first failure is thrown after the others have finished
   * recording (no member is left halfway through its step).
   */
  async all<T>(tasks: readonly (readonly [number, () => Promise<T>])[]): Promise<T[]> {
    if (this.running.size > 0) throw new Error('internal: an ensemble step is already being recorded');
    for (const [m] of tasks) this.running.add(m);
    const settled = await Promise.allSettled(
      tasks.map(async ([m, task]) => {
        try {
          return await task();
        } finally {
          this.running.delete(m);
          this.fireIfAllWait();
        }
      }),
    );
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  }

  /**
   * Member `member`'s pass at `key` with `args`: run by `runMany` together with the other
   * members' passes at `key` (runMany of the first of them runs the group), or at once alone
   * when the member is not part of a running `all`.
   */
  pass<A>(
    key: string,
    member: number,
    args: A,
    runMany: (list: readonly A[]) => void | Promise<void>,
  ): Promise<void> {
    if (!this.running.has(member)) return Promise.resolve(runMany([args]));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({
        key,
        member,
        args,
        runMany: runMany as Waiting['runMany'],
        resolve,
        reject,
      });
      this.fireIfAllWait();
    });
  }

  private fireIfAllWait(): void {
    // a member waits on one pass at a time, and only while it runs: all wait when the counts meet
    if (this.firing || this.waiting.length === 0 || this.waiting.length < this.running.size) return;
    void this.fire();
  }

  private async fire(): Promise<void> {
    this.firing = true;
    const batch = this.waiting;
    this.waiting = [];
    const groups = new Map<string, Waiting[]>();
    for (const w of batch) {
      const g = groups.get(w.key);
      if (g) g.push(w);
      else groups.set(w.key, [w]);
    }
    for (const group of groups.values()) {
      group.sort((a, b) => a.member - b.member);
      this.stats.groups++;
      this.stats.passes += group.length;
      try {
        await group[0].runMany(group.map((w) => w.args));
        for (const w of group) w.resolve();
      } catch (e) {
        for (const w of group) w.reject(e);
      }
    }
    this.firing = false;
    // members released above may already wait again
    this.fireIfAllWait();
  }
}

/**
 * A model's place in an Ensemble that batches its members' passes: the ensemble's slabs (its
 * workspaces' buffers) and batch, and the member's index.
 */
export interface MemberSlot {
  slabs: MemberSlabs;
  batch: MemberBatch;
  index: number;
}

/** Where a workspace of the member `slot` (or of a model on its own: null) takes its buffers. */
export const slabScope = (slot: MemberSlot | null | undefined, scope: string): SlabScope | null =>
  slot ? { slabs: slot.slabs, member: slot.index, scope } : null;
