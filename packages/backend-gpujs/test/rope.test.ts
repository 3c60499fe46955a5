import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { piecesOf, place, type Seg, ValRef } from '../src/store/rope.js';

const LEN = 50;

type Op =
  | { kind: 'write'; start: number; len: number; seed: number }
  | { kind: 'fill'; start: number; len: number; value: number }
  | { kind: 'copy'; src: number; dst: number; len: number };

const range = fc
  .tuple(fc.integer({ min: 0, max: LEN - 1 }), fc.integer({ min: 1, max: LEN }))
  .map(([s, l]) => ({ start: s, len: Math.min(l, LEN - s) }));

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(range, fc.integer()).map(([r, seed]) => ({ kind: 'write' as const, ...r, seed })),
  fc
    .tuple(range, fc.integer({ min: -3, max: 3 }))
    .map(([r, value]) => ({ kind: 'fill' as const, ...r, value })),
  fc
    .tuple(
      fc.integer({ min: 0, max: LEN - 1 }),
      fc.integer({ min: 0, max: LEN - 1 }),
      fc.integer({ min: 1, max: LEN }),
    )
    .map(([src, dst, l]) => ({ kind: 'copy' as const, src, dst, len: Math.min(l, LEN - src, LEN - dst) })),
);

/** What a rope reads as, element by element; throws if it points at a freed array. */
function contents(segs: Seg[]): number[] {
  return piecesOf(segs, 0, LEN).flatMap((p) =>
    Array.from({ length: p.end - p.start }, (_, i) => {
      if (!p.ref) return p.value;
      if (!p.ref.alive) throw new Error('segment points at a freed array');
      return (p.ref.val as number[])[p.off + i];
    }),
  );
}

describe('rope of immutable arrays', () => {
  it('reads like a plain array under writes, fills and (overlapping) copies, and frees each array exactly once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const model = new Array<number>(LEN).fill(0);
        const segs: Seg[] = [{ start: 0, end: LEN, ref: null, off: 0, value: 0 }];
        const made: ValRef[] = [];
        const freed = new Map<ValRef, number>();
        for (const o of ops) {
          if (o.kind === 'write') {
            // an array longer than the write, read from an offset, like a kernel output block
            const data = Array.from({ length: o.len + 3 }, (_, i) => o.seed * 31 + i);
            const ref: ValRef = new ValRef(data, data.length, () =>
              freed.set(ref, (freed.get(ref) ?? 0) + 1),
            );
            made.push(ref);
            ref.retain(); // the operation's hold
            place(segs, o.start, o.start + o.len, { ref, off: 2, value: 0 });
            ref.release();
            for (let i = 0; i < o.len; i++) model[o.start + i] = data[2 + i];
          } else if (o.kind === 'fill') {
            place(segs, o.start, o.start + o.len, { ref: null, off: 0, value: o.value });
            model.fill(o.value, o.start, o.start + o.len);
          } else {
            const pieces = piecesOf(segs, o.src, o.src + o.len);
            for (const p of pieces) p.ref?.retain();
            for (const p of pieces) place(segs, o.dst + (p.start - o.src), o.dst + (p.end - o.src), p);
            for (const p of pieces) p.ref?.release();
            model.splice(o.dst, o.len, ...model.slice(o.src, o.src + o.len));
          }
          expect(contents(segs)).toEqual(model);
          // segments tile [0, LEN) in order
          for (let i = 0; i < segs.length; i++) expect(segs[i].start).toBe(i === 0 ? 0 : segs[i - 1].end);
          expect(segs[segs.length - 1].end).toBe(LEN);
        }
        // every array still referenced is alive and counted once per segment; the rest were freed once
        const perRef = new Map<ValRef, number>();
        for (const s of segs) if (s.ref) perRef.set(s.ref, (perRef.get(s.ref) ?? 0) + 1);
        for (const r of made) {
          if (perRef.has(r)) {
            expect(r.alive).toBe(true);
            expect(r.count).toBe(perRef.get(r));
          } else {
            expect(freed.get(r)).toBe(1);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes a time step without touching the others (no copy of the whole sequence per step)', () => {
    const T = 50;
    const segs: Seg[] = [{ start: 0, end: T, ref: null, off: 0, value: 0 }];
    const refs: ValRef[] = [];
    for (let t = 0; t < T; t++) {
      const ref = new ValRef([t], 1, () => {});
      refs.push(ref);
      place(segs, t, t + 1, { ref, off: 0, value: 0 });
    }
    expect(segs).toHaveLength(T);
    expect(refs.every((r) => r.alive && r.count === 1)).toBe(true);
    expect(contents(segs.concat()).slice(0, T)).toEqual(Array.from({ length: T }, (_, t) => t));
  });
});
