import { InputError } from '../backend/errors.js';
import type { DType, HostArray } from '../backend/types.js';
import type { TensorLike } from '../params/validate.js';

/**
 * How a batch of B rows is split into passes. Passes are equal (`rows` each) so that every pass
 * reuses the same device buffers; the last one is padded with zero rows whose loss gradient is
 * zero, so they add exact zeros to every weight gradient. Balancing keeps the padding below
 * `passes` rows.
 */
export interface MicroBatchPlan {
  B: number;
  rows: number;
  passes: number;
}

/** Passes of at most `maxRows` rows each. */
export function planMicroBatches(B: number, maxRows: number): MicroBatchPlan {
  const passes = Math.ceil(B / Math.max(1, Math.min(B, maxRows)));
  return { B, rows: Math.ceil(B / passes), passes };
}

export const bytesPerElement = (dtype: DType): number => (dtype === 'float64' ? 8 : 4);

/** The longest of named buffer lengths. */
export function largest(lengths: Record<string, number>): { name: string; length: number } {
  let best = { name: '', length: 0 };
  for (const [name, length] of Object.entries(lengths)) if (length > best.length) best = { name, length };
  return best;
}

const fmtBytes = (b: number): string =>
  b >= 2 ** 30
    ? `${b} bytes (${(b / 2 ** 30).toFixed(2)} GiB)`
    : b >= 2 ** 20
      ? `${b} bytes (${(b / 2 ** 20).toFixed(2)} MiB)`
      : `${b} bytes`;

/**
 * The most rows per pass whose largest buffer stays within `maxBytes`, given that buffer's length
 * for one row (every sequence buffer grows linearly with the rows). Throws when one row is too many.
 */
export function rowsWithin(
  perRow: { name: string; length: number },
  dtype: DType,
  maxBytes: number,
  what: { backend: string; T: number },
): number {
  const rowBytes = perRow.length * bytesPerElement(dtype);
  const rows = Math.floor(maxBytes / rowBytes);
  if (rows < 1) {
    throw new InputError(
      `a single batch row of ${what.T} steps needs a buffer of ${fmtBytes(rowBytes)} (${perRow.name}, ` +
        `${perRow.length} ${dtype} values), more than backend '${what.backend}' can hold in one buffer ` +
        `(maxBufferBytes: ${fmtBytes(maxBytes)}); use shorter sequences or fewer hidden units`,
    );
  }
  return rows;
}

/**
 * Rows [r0, r1) of a batch-first tensor ([B, …], rows contiguous) as a tensor of `rows` rows: a
 * view when no padding is needed and the data is a typed array, else a copy into `pad` (zeros after
 * the real rows).
 */
export function sliceRows(
  t: TensorLike,
  r0: number,
  r1: number,
  rows: number,
  pad: () => HostArray,
): TensorLike {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const shape = [rows, ...t.shape.slice(1)];
  const real = elements(t.data, r0 * per, r1 * per);
  if (r1 - r0 === rows) return { shape, data: real };
  const out = pad();
  for (let i = 0; i < real.length; i++) out[i] = real[i];
  out.fill(0, real.length);
  return { shape, data: out };
}

/** Elements [start, end) of host data: a view where the data is a typed array, else a copy. */
export function elements(data: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  const d = data as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  return typeof d.subarray === 'function'
    ? d.subarray(start, end)
    : Array.prototype.slice.call(data, start, end);
}

/**
 * [n0, n1, inner] data with its two leading axes swapped, [n1, n0, inner], written into `out`:
 * batch-first ↔ time-major for the readout's predictions, targets and their gradients.
 */
export function swapLeadingAxes(
  src: ArrayLike<number>,
  out: HostArray,
  n0: number,
  n1: number,
  inner: number,
): HostArray {
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      for (let k = 0; k < inner; k++) out[(j * n0 + i) * inner + k] = src[(i * n1 + j) * inner + k];
    }
  }
  return out;
}
