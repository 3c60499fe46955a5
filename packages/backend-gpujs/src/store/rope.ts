/**
 * A buffer held as a rope of segments over immutable device arrays. gpu.js kernel outputs are
 * whole, immutable arrays (textures, GPU buffers), so writing part of a buffer cannot happen in
 * place; instead the written range points at the new array and the rest keeps pointing at the old
 * ones. Writing one time step of hAll [(T+1), B, H] therefore costs one step, not the whole
 * buffer, and copying a range shares arrays instead of moving data. A range that spans several
 * segments is gathered into one array when a kernel needs it contiguous.
 */

/** A device array with a reference count; freed when no segment and no running operation holds it. */
export class ValRef {
  private refs = 0;
  private freed = false;

  constructor(
    readonly val: unknown,
    readonly length: number,
    private readonly onFree: (val: unknown) => void,
  ) {}

  get count(): number {
    return this.refs;
  }

  get alive(): boolean {
    return !this.freed;
  }

  retain(): void {
    if (this.freed) throw new Error('internal: a freed device array was used again');
    this.refs++;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('internal: a device array was released more often than retained');
    if (--this.refs === 0) {
      this.freed = true;
      this.onFree(this.val);
    }
  }
}

/** [start, end) of the buffer reads ref.val[off + (i - start)], or the constant `value` when ref is null. */
export interface Seg {
  start: number;
  end: number;
  ref: ValRef | null;
  off: number;
  value: number;
}

export type Piece = Pick<Seg, 'ref' | 'off' | 'value'>;

/** Index of the first segment that ends after `pos`. */
export function firstEndingAfter(segs: readonly Seg[], pos: number): number {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid].end <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The segments overlapping [start, end), clipped to it. */
export function piecesOf(segs: readonly Seg[], start: number, end: number): Seg[] {
  const out: Seg[] = [];
  for (let i = firstEndingAfter(segs, start); i < segs.length && segs[i].start < end; i++) {
    out.push(cut(segs[i], Math.max(start, segs[i].start), Math.min(end, segs[i].end)));
  }
  return out;
}

function cut(s: Seg, start: number, end: number): Seg {
  return { start, end, ref: s.ref, off: s.ref ? s.off + (start - s.start) : 0, value: s.value };
}

function joinable(a: Seg, b: Seg): boolean {
  if (a.end !== b.start) return false;
  if (!a.ref || !b.ref) return !a.ref && !b.ref && Object.is(a.value, b.value);
  return a.ref === b.ref && a.off + (a.end - a.start) === b.off;
}

/** Points [start, end) at `piece`, releasing what it covered. Retains before it releases. */
export function place(segs: Seg[], start: number, end: number, piece: Piece): void {
  if (end <= start) return;
  const i = firstEndingAfter(segs, start);
  let j = i;
  while (j < segs.length && segs[j].start < end) j++;
  const added: Seg[] = [];
  if (i < j && segs[i].start < start) added.push(cut(segs[i], segs[i].start, start));
  added.push({ start, end, ref: piece.ref, off: piece.ref ? piece.off : 0, value: piece.value });
  if (i < j && segs[j - 1].end > end) added.push(cut(segs[j - 1], end, segs[j - 1].end));
  for (const s of added) s.ref?.retain();
  const removed = segs.splice(i, j - i, ...added);
  for (const s of removed) s.ref?.release();
  // join neighbours that continue each other (a fill next to a fill, two halves of one array)
  for (let k = Math.min(i + added.length, segs.length - 1); k >= Math.max(i, 1); k--) {
    const a = segs[k - 1];
    const b = segs[k];
    if (joinable(a, b)) {
      a.end = b.end;
      segs.splice(k, 1);
      b.ref?.release();
    }
  }
}

/** Releases every segment (the buffer is gone). */
export function clear(segs: Seg[]): void {
  const removed = segs.splice(0, segs.length);
  for (const s of removed) s.ref?.release();
}
