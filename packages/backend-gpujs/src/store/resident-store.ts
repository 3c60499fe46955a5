import type { KernelRunner } from '../engine/kernel-runner.js';
import type { DeviceHandle } from '../gpujs/types.js';
import { KERNELS, type KernelSource } from '../kernels/index.js';
import { clear, firstEndingAfter, piecesOf, place, type Seg, ValRef } from './rope.js';
import { GpujsBuffer, type Scope, type Store } from './store.js';

class RopeBuf extends GpujsBuffer {
  readonly segs: Seg[];
  constructor(length: number, owner: object) {
    super(length, owner);
    this.segs = length > 0 ? [{ start: 0, end: length, ref: null, off: 0, value: 0 }] : [];
  }
}

const segsOf = (b: GpujsBuffer): Seg[] => (b as RopeBuf).segs;

/** Part of a device array, held by whoever has it. */
interface Piece {
  ref: ValRef;
  off: number;
  len: number;
}

/** Reads a small piece through a slice kernel rather than downloading a large array whole. */
const SLICE_BELOW = 1 / 2;
const SLICE_MIN_ARRAY = 1 << 14;

/** Constant arrays kept for reuse. */
const MAX_CONSTANTS = 16;

/** Pieces per gather launch (the gather kernel's inputs): as many arrays as any kernel takes. */
const GATHER_WIDTH = 7;

/**
 * The headlessgl and webgpu modes (and cpu, for testing this path): data stays in device arrays
 * between kernels and across time steps, and comes back only on `read`. Buffers are ropes over
 * immutable kernel outputs (see rope.ts); fills are constant segments that only become arrays when
 * a kernel reads them.
 */
export class ResidentStore implements Store {
  private live = 0;
  private blank: ValRef | null = null;
  /** Constant arrays by value and length: immutable, so every reader can share one. */
  private readonly constants = new Map<string, ValRef>();

  constructor(private readonly runner: KernelRunner) {}

  /** Device arrays alive, not counting the constants kept for reuse. */
  liveArrays(): number {
    return this.live - this.constants.size;
  }

  alloc(length: number, owner: object): GpujsBuffer {
    return new RopeBuf(length, owner);
  }

  private wrap(val: unknown, length: number): ValRef {
    this.live++;
    return new ValRef(val, length, (v) => {
      this.live--;
      if (!(v instanceof Float32Array)) (v as DeviceHandle).delete();
    });
  }

  /** Runs a kernel; its output comes back retained once (the caller's hold). */
  private async produce(src: KernelSource, outLen: number, args: unknown[]): Promise<ValRef> {
    const ref = this.wrap(await this.runner.run(src, outLen, args), outLen);
    ref.retain();
    return ref;
  }

  private async standInRef(): Promise<ValRef> {
    if (!this.blank) this.blank = await this.produce(KERNELS.fill, 1, [0]);
    return this.blank;
  }

  scope(): Scope {
    // every reference here is held once, and let go when the operation ends
    const held: ValRef[] = [];
    return {
      maxKernelArrays: GATHER_WIDTH,
      view: async (buf, start, len) => {
        if (len === 0) return { val: (await this.standInRef()).val, off: 0 };
        const v = await this.contiguous(buf, start, len);
        held.push(v.ref);
        return { val: v.ref.val, off: v.off };
      },
      concat: async (ranges) => {
        const pieces = [];
        for (const [buf, start, len] of ranges)
          pieces.push(...(await this.heldPieces(buf, start, start + len)));
        if (pieces.length === 0) return { val: (await this.standInRef()).val, off: 0 };
        const whole = await this.gather(pieces);
        held.push(whole.ref);
        return { val: whole.ref.val, off: whole.off };
      },
      standIn: async () => ({ val: (await this.standInRef()).val, off: 0 }),
      run: async (src, outLen, args) => {
        const ref = await this.produce(src, outLen, args);
        held.push(ref);
        return ref;
      },
      commit: (out, outOff, buf, start, len) => {
        place(segsOf(buf), start, start + len, { ref: out as ValRef, off: outOff, value: 0 });
      },
      fill: (buf, start, len, value) => this.fill(buf, start, len, value),
      close: () => {
        for (const r of held.splice(0)) r.release();
      },
    };
  }

  /**
   * [start, start+len) of `buf` as one array: the segment's own when one covers it, otherwise a
   * fill or a gather, placed back into the buffer so the next reader finds it whole. Returns a
   * held reference.
   */
  private async contiguous(
    buf: GpujsBuffer,
    start: number,
    len: number,
  ): Promise<{ ref: ValRef; off: number }> {
    const segs = segsOf(buf);
    const end = start + len;
    const s = segs[firstEndingAfter(segs, start)];
    if (s.ref && s.start <= start && s.end >= end) {
      s.ref.retain();
      return { ref: s.ref, off: s.off + (start - s.start) };
    }
    const whole = await this.gather(await this.heldPieces(buf, start, end));
    place(segs, start, end, { ref: whole.ref, off: whole.off, value: 0 });
    return { ref: whole.ref, off: whole.off };
  }

  /** [start, end) of `buf` as held pieces: its segments' arrays, and constant arrays for fills. */
  private async heldPieces(buf: GpujsBuffer, start: number, end: number): Promise<Piece[]> {
    const pieces: Piece[] = [];
    for (const p of piecesOf(segsOf(buf), start, end)) {
      const n = p.end - p.start;
      if (p.ref) {
        p.ref.retain();
        pieces.push({ ref: p.ref, off: p.off, len: n });
      } else {
        pieces.push({ ref: await this.constant(p.value, n), off: 0, len: n });
      }
    }
    return pieces;
  }

  /**
   * A held array of `len` copies of `value`. Zero-filled carries and initial states are read again
   * every step; one shared array serves them all instead of a fill launch per read.
   */
  private async constant(value: number, len: number): Promise<ValRef> {
    const key = `${value}/${len}`;
    let ref = this.constants.get(key);
    if (ref) {
      this.constants.delete(key); // most recently used last
    } else {
      ref = await this.produce(KERNELS.fill, len, [value]); // the cache's hold
      while (this.constants.size >= MAX_CONSTANTS) {
        const [oldest, old] = this.constants.entries().next().value!;
        this.constants.delete(oldest);
        old.release();
      }
    }
    this.constants.set(key, ref);
    ref.retain();
    return ref;
  }

  /** Concatenates held pieces, GATHER_WIDTH per launch, level by level; returns a held piece. */
  private async gather(pieces: Piece[]): Promise<Piece> {
    let level = pieces;
    while (level.length > 1) {
      const next: typeof pieces = [];
      for (let i = 0; i < level.length; i += GATHER_WIDTH) {
        const group = level.slice(i, i + GATHER_WIDTH);
        if (group.length === 1) {
          next.push(group[0]);
          continue;
        }
        const total = group.reduce((s, p) => s + p.len, 0);
        const blank = (await this.standInRef()).val;
        const args: unknown[] = [];
        let end = 0;
        for (let g = 0; g < GATHER_WIDTH; g++) {
          const p = group[g];
          end += p ? p.len : 0;
          args.push(p ? p.ref.val : blank, p ? p.off : 0);
          if (g < GATHER_WIDTH - 1) args.push(g < group.length - 1 ? end : total);
        }
        const ref = await this.produce(KERNELS.gather, total, args);
        for (const p of group) p.ref.release();
        next.push({ ref, off: 0, len: total });
      }
      level = next;
    }
    return level[0];
  }

  async write(buf: GpujsBuffer, start: number, data: Float32Array): Promise<void> {
    if (data.length === 0) return;
    const ref = await this.produce(KERNELS.upload, data.length, [data]);
    place(segsOf(buf), start, start + data.length, { ref, off: 0, value: 0 });
    ref.release();
  }

  async read(buf: GpujsBuffer, start: number, len: number): Promise<Float32Array> {
    const out = new Float32Array(len);
    for (const p of piecesOf(segsOf(buf), start, start + len)) {
      if (!p.ref) out.fill(p.value, p.start - start, p.end - start);
      else out.set(await this.download(p.ref, p.off, p.end - p.start), p.start - start);
    }
    return out;
  }

  private async download(ref: ValRef, off: number, n: number): Promise<Float32Array> {
    if (ref.val instanceof Float32Array) return ref.val.subarray(off, off + n);
    if (n < ref.length * SLICE_BELOW && ref.length >= SLICE_MIN_ARRAY) {
      const piece = await this.produce(KERNELS.slice, n, [ref.val, off]);
      try {
        return (await this.runner.readback(() => (piece.val as DeviceHandle).toArray())).subarray(0, n);
      } finally {
        piece.release();
      }
    }
    const all = await this.runner.readback(() => (ref.val as DeviceHandle).toArray());
    return all.subarray(off, off + n);
  }

  fill(buf: GpujsBuffer, start: number, len: number, value: number): void {
    place(segsOf(buf), start, start + len, { ref: null, off: 0, value });
  }

  copy(src: GpujsBuffer, srcStart: number, dst: GpujsBuffer, dstStart: number, len: number): void {
    // pieces are taken (and held) before placing, so overlapping copies within one buffer are safe
    const pieces = piecesOf(segsOf(src), srcStart, srcStart + len);
    for (const p of pieces) p.ref?.retain();
    const segs = segsOf(dst);
    for (const p of pieces) place(segs, dstStart + (p.start - srcStart), dstStart + (p.end - srcStart), p);
    for (const p of pieces) p.ref?.release();
  }

  free(buf: GpujsBuffer): void {
    clear(segsOf(buf));
  }
}
