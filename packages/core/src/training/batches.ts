import { InputError } from '../backend/errors.js';
import { Rng } from '../init/rng.js';
import { deriveSeed } from '../init/seeds.js';

/**
 * The order of one epoch: a permutation of 0..n−1 drawn from (seed, epoch) alone, as a DataLoader
 * with shuffle=True, so resuming at an epoch boundary needs nothing but the epoch's number.
 */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return new Rng(deriveSeed(seed, 'epoch', epoch)).shuffle(order);
}

/** 0..n−1 in order (evaluation: the mean does not depend on the order). */
export function sequentialOrder(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/** Consecutive batches of `size`; the last one is smaller when n is not a multiple (drop_last=False). */
export function* batchesOf(order: Uint32Array, size: number): Generator<Uint32Array> {
  if (!Number.isInteger(size) || size < 1)
    throw new InputError(`batch size must be a positive integer, got ${size}`);
  for (let i = 0; i < order.length; i += size) yield order.subarray(i, Math.min(i + size, order.length));
}

/** How many batches of `size` cover `n` samples (the last one may be smaller). */
export function batchCount(n: number, size: number): number {
  return Math.ceil(n / size);
}
