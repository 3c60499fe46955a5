import { InputError } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { BinaryAddition, batchesOf, CopyFirstInput, epochOrder } from '../src/index.js';

/** The number written LSB first in `bits` (independent of the generator's carry logic). */
function decode(bits: number[]): bigint {
  return bits.reduce((acc, b, i) => acc + (BigInt(b) << BigInt(i)), 0n);
}

describe('copy-first-input data', () => {
  it('targets the first step, and a sample does not depend on the batch it is drawn in', () => {
    const d = new CopyFirstInput(7, 6, 50);
    const a = d.batch([3, 10, 42]);
    const b = d.batch([42, 3]);
    expect(a.x.shape).toEqual([3, 6, 1]);
    expect(a.y.shape).toEqual([3, 1]);
    for (let i = 0; i < 3; i++) expect(a.y.data[i]).toBe(a.x.data[i * 6]);
    expect(Array.from(a.x.data.subarray(12, 18))).toEqual(Array.from(b.x.data.subarray(0, 6)));
    expect(Array.from(a.x.data.subarray(0, 6))).toEqual(Array.from(b.x.data.subarray(6, 12)));
  });

  it('the test split continues the same stream, and seeds give different data', () => {
    const all = new CopyFirstInput(7, 4, 100);
    const test = new CopyFirstInput(7, 4, 10, 90);
    expect(Array.from(test.batch([0, 9]).x.data)).toEqual(Array.from(all.batch([90, 99]).x.data));
    expect(Array.from(new CopyFirstInput(8, 4, 100).batch([0]).x.data)).not.toEqual(
      Array.from(all.batch([0]).x.data),
    );
  });

  it('draws standard normal values (mean 0, variance 1)', () => {
    const d = new CopyFirstInput(1, 10, 4000);
    const { x } = d.batch(Array.from({ length: 4000 }, (_, i) => i));
    const n = x.data.length;
    const m = x.data.reduce((s, v) => s + v, 0) / n;
    const v = x.data.reduce((s, w) => s + (w - m) * (w - m), 0) / n;
    // 40 000 draws: standard errors ≈ 0.005 (mean) and 0.007 (variance)
    expect(Math.abs(m)).toBeLessThan(0.025);
    expect(Math.abs(v - 1)).toBeLessThan(0.035);
  });

  it('rejects T < 2 and empty datasets', () => {
    expect(() => new CopyFirstInput(1, 1, 10)).toThrow(InputError);
    expect(() => new CopyFirstInput(1, 5, 0)).toThrow(/positive/);
  });
});

describe('binary addition data', () => {
  it.each([3, 7, 20, 60])(
    'L = %i: operands of l1 + l2 = L bits (top bit set), target their sum, LSB first',
    (L) => {
      const d = new BinaryAddition(11, L, 300);
      const S = L + 1;
      const { x, y } = d.batch(Array.from({ length: 300 }, (_, i) => i));
      expect(x.shape).toEqual([300, S, 2]);
      expect(y.shape).toEqual([300, S, 1]);
      const splits = new Set<number>();
      for (let b = 0; b < 300; b++) {
        const a1 = Array.from({ length: S }, (_, t) => x.data[(b * S + t) * 2]);
        const a2 = Array.from({ length: S }, (_, t) => x.data[(b * S + t) * 2 + 1]);
        const s = Array.from({ length: S }, (_, t) => y.data[b * S + t]);
        const n1 = decode(a1);
        const n2 = decode(a2);
        const l1 = n1.toString(2).length;
        const l2 = n2.toString(2).length;
        expect(l1 + l2).toBe(L);
        expect(l1).toBeGreaterThanOrEqual(1);
        expect(l2).toBeGreaterThanOrEqual(1);
        expect(decode(s)).toBe(n1 + n2);
        expect([a1[L], a2[L], s[L]]).toEqual([0, 0, 0]);
        splits.add(l1);
      }
      // l1 is uniform over 1..L−1: every split shows up in 300 samples for these L
      if (L <= 20) expect(splits.size).toBe(L - 1);
    },
  );

  it('rejects L < 3', () => {
    expect(() => new BinaryAddition(1, 2, 10)).toThrow(/L >= 3/);
  });
});

describe('epoch order', () => {
  it('is a permutation fixed by (seed, epoch), new every epoch', () => {
    const a = epochOrder(500, 3, 0);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(Array.from(epochOrder(500, 3, 0))).toEqual(Array.from(a));
    expect(Array.from(epochOrder(500, 3, 1))).not.toEqual(Array.from(a));
  });

  it('splits into batches with a smaller last one', () => {
    const sizes = [...batchesOf(epochOrder(250, 1, 0), 100)].map((b) => b.length);
    expect(sizes).toEqual([100, 100, 50]);
  });
});
