import { deriveSeed, InputError, Rng } from '@bistable/core';
import type { Batch, Dataset } from './types.js';

/**
 * Copy-first-input (Vecoven et al., benchmark 1): a sequence of T draws from N(0, 1); the target
 * is the first one, the other T−1 are distractors. Sample i is drawn from its own stream, so any
 * subset can be generated in any order with the same values (float32, as brc_pytorch casts them).
 *
 * @example
 * ```ts
 * import { CopyFirstInput } from '@bistable/tasks';
 *
 * const train = new CopyFirstInput(2021, 5, 1024); // seed, sequence length T, samples
 * const test = new CopyFirstInput(2021, 5, 256, 1024); // the same stream after the training samples
 * const { x, y } = train.batch([0, 1, 2, 3]); // x: [4, 5, 1], y: [4, 1], the first step of each
 * console.log(x.shape, y.shape, test.size);
 * ```
 */
export class CopyFirstInput implements Dataset {
  constructor(
    readonly seed: number,
    readonly steps: number,
    readonly size: number,
    /** Index of the first sample: a test split is the same stream further on. */
    readonly offset = 0,
  ) {
    if (!Number.isInteger(steps) || steps < 2) {
      throw new InputError(`copy-first-input needs a sequence length T >= 2, got ${steps}`);
    }
    if (!Number.isInteger(size) || size < 1)
      throw new InputError(`dataset size must be a positive integer, got ${size}`);
  }

  /** Writes sample `index` (0-based within this dataset) into x[T] and returns its target. */
  sampleInto(index: number, x: Float32Array, xOff = 0): number {
    if (!(index >= 0 && index < this.size)) throw new RangeError(`sample ${index} outside [0, ${this.size})`);
    const rng = new Rng(deriveSeed(this.seed, 'sample', this.offset + index));
    for (let t = 0; t < this.steps; t++) x[xOff + t] = rng.normal();
    return x[xOff];
  }

  batch(indices: ArrayLike<number>): Batch {
    const B = indices.length;
    const T = this.steps;
    const x = new Float32Array(B * T);
    const y = new Float32Array(B);
    for (let b = 0; b < B; b++) y[b] = this.sampleInto(indices[b], x, b * T);
    return { x: { shape: [B, T, 1], data: x }, y: { shape: [B, 1], data: y } };
  }
}
