import { deriveSeed, InputError, Rng } from '@bistable/core';
import type { Batch, Dataset } from './types.js';

/**
 * brc_pytorch's BinaryAddition in 'single' mode. L is the total number of operand bits: l1 is
 * uniform in [1, L−1], l2 = L − l1, and each operand has exactly its number of bits (top bit 1).
 * Step t carries the 2^t bits (least significant first); there are L + 1 steps, the last always
 * 0. Inputs [L+1, 2] (the two operands), target [L+1, 1] (their sum).
 *
 * Operands are built bit by bit rather than as numbers: at L = 60 they exceed 2^53. A uniform
 * integer in [2^(l−1), 2^l) is exactly a 1 followed by l−1 uniform bits.
 */
export class BinaryAddition implements Dataset {
  readonly steps: number;

  constructor(
    readonly seed: number,
    readonly length: number,
    readonly size: number,
  ) {
    if (!Number.isInteger(length) || length < 3) {
      throw new InputError(`binary addition needs a length L >= 3 (total operand bits), got ${length}`);
    }
    if (!Number.isInteger(size) || size < 1)
      throw new InputError(`dataset size must be a positive integer, got ${size}`);
    this.steps = length + 1;
  }

  /** Writes sample `index` into x [(L+1)·2] and y [L+1] at the given offsets; returns [l1, l2]. */
  sampleInto(index: number, x: Float32Array, xOff: number, y: Float32Array, yOff: number): [number, number] {
    if (!(index >= 0 && index < this.size)) throw new RangeError(`sample ${index} outside [0, ${this.size})`);
    const L = this.length;
    const rng = new Rng(deriveSeed(this.seed, 'sample', index));
    const l1 = rng.int(1, L);
    const l2 = L - l1;
    const bit = () => (rng.nextU32() >>> 31) as 0 | 1;
    let carry = 0;
    for (let t = 0; t <= L; t++) {
      const a = t < l1 - 1 ? bit() : t === l1 - 1 ? 1 : 0;
      const b = t < l2 - 1 ? bit() : t === l2 - 1 ? 1 : 0;
      const s = a + b + carry;
      x[xOff + 2 * t] = a;
      x[xOff + 2 * t + 1] = b;
      y[yOff + t] = s & 1;
      carry = s >> 1;
    }
    return [l1, l2];
  }

  batch(indices: ArrayLike<number>): Batch {
    const B = indices.length;
    const S = this.steps;
    const x = new Float32Array(B * S * 2);
    const y = new Float32Array(B * S);
    for (let b = 0; b < B; b++) this.sampleInto(indices[b], x, b * S * 2, y, b * S);
    return { x: { shape: [B, S, 2], data: x }, y: { shape: [B, S, 1], data: y } };
  }
}
