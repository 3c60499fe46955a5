import { InputError } from '../backend/errors.js';

/**
 * A learning rate set after construction (a schedule's). Zero is allowed, unlike in the
 * constructors: a cosine schedule ends at its minimum, torch's default of 0, and torch accepts it.
 */
export function checkLearningRate(who: string, lr: unknown): number {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new InputError(`${who} learning rate must be a finite number >= 0, got ${String(lr)}`);
  }
  return lr;
}
