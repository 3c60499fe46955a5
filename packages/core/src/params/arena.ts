import type { Backend, DeviceBuffer, DType } from '../backend/types.js';

/** Where a buffer sits in an arena: the arena's whole buffer and the element offset. */
interface Placement {
  arena: ParamArena;
  index: number;
  kind: 'value' | 'grad';
}

const placements = new WeakMap<DeviceBuffer, Placement>();

/** Hands out a parameter's value and gradient buffers of `length` elements (see ParamArena.take). */
export type TakeParam = (length: number) => { value: DeviceBuffer; grad: DeviceBuffer };

/**
 * A model's parameters and their gradients, each kind carved from one buffer when the backend
 * has views (`Backend.view`), so that an optimizer updates all of them in one pass and a kernel
 * binds one buffer for all of them. The arena is planned from the lengths its users will ask for,
 * in that order (`take`); every value has a gradient at the same offset of the other buffer.
 * Without views, `take` allocates plain buffers and there is no whole buffer.
 */
export class ParamArena {
  /** The whole buffers (null without views). */
  readonly values: DeviceBuffer | null;
  readonly grads: DeviceBuffer | null;
  /** Element offset of each planned entry. */
  readonly offsets: readonly number[];
  private taken = 0;

  constructor(
    readonly be: Backend,
    readonly dtype: DType,
    readonly lengths: readonly number[],
  ) {
    const offsets: number[] = [];
    let end = 0;
    if (be.view) {
      const align = Math.max(1, be.viewAlign ?? 1);
      for (const len of lengths) {
        offsets.push(end);
        end = Math.ceil((end + len) / align) * align;
      }
    }
    this.offsets = offsets;
    this.values = be.view && end > 0 ? be.alloc(end, dtype) : null;
    this.grads = be.view && end > 0 ? be.alloc(end, dtype) : null;
  }

  /** The next planned entry: a value and its gradient of `length` elements. */
  take(length: number): { value: DeviceBuffer; grad: DeviceBuffer } {
    const i = this.taken;
    if (i >= this.lengths.length || this.lengths[i] !== length) {
      throw new Error(
        `internal: parameter ${i} of the arena asked for ${length} values, planned ${this.lengths[i] ?? 'none'}`,
      );
    }
    this.taken++;
    // an empty slot (a cell without input biases) takes no room: nothing to view
    if (!this.values || !this.grads || length === 0) {
      return { value: this.be.alloc(length, this.dtype), grad: this.be.alloc(length, this.dtype) };
    }
    const at = this.offsets[i];
    const value = this.be.view!(this.values, at, length);
    const grad = this.be.view!(this.grads, at, length);
    placements.set(value, { arena: this, index: i, kind: 'value' });
    placements.set(grad, { arena: this, index: i, kind: 'grad' });
    return { value, grad };
  }

  /** Whether every planned entry was taken (the model asked for exactly what was planned). */
  get complete(): boolean {
    return this.taken === this.lengths.length;
  }

  /** Frees the whole buffers (the views go with them); plain buffers are their owners' to free. */
  dispose(): void {
    if (this.values) this.be.dispose(this.values);
    if (this.grads) this.be.dispose(this.grads);
  }
}

/**
 * The arena whose whole buffers hold exactly these parameters, value i and gradient i at the same
 * entry, covering every entry of it; null when they are not all views of one complete arena.
 */
export function wholeArena(
  params: readonly { value: DeviceBuffer; grad: DeviceBuffer }[],
): ParamArena | null {
  const first = params.find((p) => p.value.length > 0);
  const arena = first && placements.get(first.value)?.arena;
  const entries = arena?.lengths.filter((n) => n > 0).length;
  if (!arena?.values || !arena.complete) return null;
  const seen = new Set<number>();
  for (const p of params) {
    if (p.value.length === 0 && p.grad.length === 0) continue;
    const v = placements.get(p.value);
    const g = placements.get(p.grad);
    if (v?.arena !== arena || g?.arena !== arena || v.kind !== 'value' || g.kind !== 'grad') return null;
    if (v.index !== g.index || seen.has(v.index)) return null;
    seen.add(v.index);
  }
  return seen.size === entries ? arena : null;
}

/** A plain-buffer allocator with the arena's interface (components built outside a model). */
export function plainTake(be: Backend, dtype: DType): TakeParam {
  return (length) => ({ value: be.alloc(length, dtype), grad: be.alloc(length, dtype) });
}

/** A view's element offset in its arena's whole buffer (0 for anything else). */
export function arenaOffset(buf: DeviceBuffer): number {
  const at = placements.get(buf);
  return at ? at.arena.offsets[at.index] : 0;
}
