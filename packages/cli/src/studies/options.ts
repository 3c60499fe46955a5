import { type DType, InputError } from '@bistable/core';
import { dtypeName } from '@bistable/tasks';
import { CliError } from '../exit-codes.js';

/** `5,100,300` → [5, 100, 300]; every entry a positive integer. */
export function intList(name: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isInteger(values[i]) || values[i] <= 0);
  if (bad >= 0)
    throw new CliError(`${name} must be a comma-separated list of positive integers, got '${text}'`);
  return values;
}

export function stringList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function positiveInt(name: string, text: string | number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) throw new CliError(`${name} must be a positive integer, got '${text}'`);
  return v;
}

export function nonNegativeInt(name: string, text: string | number): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new CliError(`${name} must be a non-negative integer, got '${text}'`);
  return v;
}

export function positiveNumber(name: string, text: string | number): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new CliError(`${name} must be a positive number, got '${text}'`);
  return v;
}

/** A --dtype value: float32 or float64 (tasks' check, with the flag named). */
export function dtypeOption(name: string, text: string): DType {
  try {
    return dtypeName(text);
  } catch (err) {
    if (err instanceof InputError) throw new CliError(`${name}: ${err.message}`);
    throw err;
  }
}

/** Runs `fn`, turning the library's InputError into the CLI's usage error. */
export function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputError) throw new CliError(err.message);
    throw err;
  }
}
