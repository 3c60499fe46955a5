import { InputError } from '../backend/errors.js';
import type { DType, HostArray } from '../backend/types.js';

/**
 * The dtype every model, RNN and cell takes when none is given: float32, as torch and tfjs do,
 * and the one dtype every backend supports. Pass 'float64' for the reference vectors' precision.
 */
export const DEFAULT_DTYPE: DType = 'float32';

/** Anything with a shape and flat data: what the checks accept. */
export interface TensorLike {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** Checks shape and contents; `want` entries of -1 match any size. Names the problem. */
export function checkTensor(name: string, t: TensorLike | undefined | null, want: readonly number[]): void {
  if (!t || !Array.isArray(t.shape) || t.data === undefined) {
    throw new InputError(`${name} must be a tensor {shape, data}`);
  }
  if (t.shape.length !== want.length || t.shape.some((d, i) => want[i] >= 0 && d !== want[i])) {
    const w = want.map((d) => (d < 0 ? '?' : String(d))).join(', ');
    throw new InputError(`${name} has shape [${t.shape.join(', ')}], expected [${w}]`);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) {
    throw new InputError(
      `${name} has ${t.data.length} values but its shape [${t.shape.join(', ')}] needs ${n}`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(t.data[i])) {
      throw new InputError(`${name} holds a non-finite value (${t.data[i]}) at flat index ${i}`);
    }
  }
}

/** `v` as a positive integer, or an InputError that names it. */
export function checkPositiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new InputError(`${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

export function toArray(data: ArrayLike<number>, dtype: 'float32' | 'float64'): HostArray {
  if (dtype === 'float64') return data instanceof Float64Array ? data : Float64Array.from(data);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
