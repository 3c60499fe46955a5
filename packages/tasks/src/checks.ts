import { CELL_NAMES, type CellName, type DType, InputError } from '@bistable/core';

export function positiveNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InputError(`${name} must be a positive number, got ${String(v)}`);
  }
  return v;
}

/** A cell name, matched case-insensitively (nbrc → nBRC); anything else is an InputError listing the cells. */
export function cellName(v: unknown): CellName {
  const hit = CELL_NAMES.find((c) => c === v || c.toLowerCase() === String(v).toLowerCase());
  if (!hit) throw new InputError(`unknown cell '${String(v)}'; expected one of ${CELL_NAMES.join(', ')}`);
  return hit;
}

/** `v` as a DType ('float32' or 'float64'), or an InputError saying what was expected. */
export function dtypeName(v: unknown): DType {
  if (v !== 'float32' && v !== 'float64')
    throw new InputError(`unknown dtype '${String(v)}'; expected float32 or float64`);
  return v;
}

export function seedValue(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) {
    throw new InputError(`${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}
