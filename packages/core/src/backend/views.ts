import { InputError } from './errors.js';

/**
 * Checks a `Backend.view` request against its parent's length and the backend's alignment, with
 * an error that names what is wrong.
 */
export function checkViewRange(parentLength: number, offset: number, length: number, align = 1): void {
  if (!Number.isInteger(offset) || offset < 0)
    throw new InputError(`a view's offset must be a whole number >= 0, got ${offset}`);
  if (!Number.isInteger(length) || length <= 0)
    throw new InputError(`a view's length must be a whole number > 0, got ${length}`);
  if (offset % align !== 0)
    throw new InputError(
      `a view's offset must be a multiple of ${align} elements on this backend, got ${offset}`,
    );
  if (offset + length > parentLength)
    throw new RangeError(`a view of ${length} values at ${offset} overruns a buffer of ${parentLength}`);
}
