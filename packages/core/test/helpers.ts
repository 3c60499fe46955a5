import { expect } from 'vitest';
import type { Backend, CpuBackend, HostArray, Rng } from '../src/index.js';
import { worstError } from '../src/testing/tolerance.js';

/** A seeded tensor with entries N(0,1)·scale. */
export function randn(rng: Rng, shape: number[], scale = 1): { shape: number[]; data: Float64Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * scale;
  return { shape, data };
}

/** Swaps the first two axes of a [A, B, F] tensor. */
export function swap01(t: { shape: readonly number[]; data: ArrayLike<number> }): {
  shape: number[];
  data: Float64Array;
} {
  const [A, B, F] = t.shape;
  const out = new Float64Array(A * B * F);
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) out[(b * A + a) * F + f] = t.data[(a * B + b) * F + f];
    }
  }
  return { shape: [B, A, F], data: out };
}

/** Worst |a − b| / max(1, |b|): the conformance kit's own metric. */
export const maxRelErr = worstError;

/** Bit-level equality of two float arrays of the same kind (NaN payloads and signed zeros included). */
export function sameBits(a: HostArray, b: HostArray): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.every((v, i) => v === y[i]);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * A backend that forwards the level-1 methods to `be` (under `be`'s name unless `overrides` sets
 * one, so its registered kernels still apply), with `overrides` replacing or adding members.
 * Tests use it to log calls, to withhold an optional method or to add one.
 */
export function forwarding<E extends object = object>(
  be: Backend,
  overrides: Partial<Backend> & E,
): Backend & E {
  const base: Backend = {
    name: be.name,
    dtypes: be.dtypes,
    alloc: (n, d) => be.alloc(n, d),
    write: (b, data, o) => be.write(b, data, o),
    read: (b, o, n, out) => be.read(b, o, n, out),
    fill: (b, v, o, n) => be.fill(b, v, o, n),
    copy: (s, so, d, dof, n) => be.copy(s, so, d, dof, n),
    dispose: (b) => be.dispose(b),
    gemm: (g) => be.gemm(g),
    // the wrapped instance's kernels run on its buffers, which are the wrapper's too
    cellKernels: be.cellKernels && ((c) => be.cellKernels!(c)),
  };
  return { ...base, ...overrides } as Backend & E;
}

/**
 * The cpu kernels' sigmoid and tanh (exp from 2^n times a polynomial, through the `activate`
 * export) against float64 Math over ±100: within 2e-7, saturated ends never denormal, NaN kept.
 */
export async function expectAccurateGates(be: CpuBackend): Promise<void> {
  const xs: number[] = [];
  for (let i = 0; i < 80000; i++) xs.push(-100 + i / 400);
  xs.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0);
  const x = be.alloc(xs.length, 'float32');
  const y = be.alloc(xs.length, 'float32');
  be.write(x, xs);
  const x32 = Float32Array.from(xs);
  const exact = [(v: number) => 1 / (1 + Math.exp(-v)), Math.tanh];
  const ptr = (b: unknown) => (b as { ptr: number }).ptr;
  for (const kind of [0, 1]) {
    be.wasm.activate(kind, ptr(x), ptr(y), xs.length);
    const got = await be.read(y);
    let err = 0;
    for (let i = 0; i < xs.length - 4; i++) err = Math.max(err, Math.abs(got[i] - exact[kind](x32[i])));
    expect(err).toBeLessThan(2e-7);
    const tail = Array.from(got.subarray(xs.length - 4));
    expect(Number.isNaN(tail[0])).toBe(true);
    expect(tail.slice(1)).toEqual(kind === 0 ? [1, expect.closeTo(0, 30), 0.5] : [1, -1, 0]);
    expect(Array.from(got).filter((v) => v !== 0 && Math.abs(v) < 1.1754943508222875e-38)).toEqual([]);
  }
  be.dispose(x);
  be.dispose(y);
}
