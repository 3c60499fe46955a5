import { type Backend, gemmHost, getBackend } from '@bistable/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SPAN } from '../src/ops/gemm.js';
import { CPU_RESIDENT } from './helpers.js';

const BACKENDS = ['gpujs-cpu', 'gpujs-webasm', CPU_RESIDENT.name];

const gemmCase = fc.record({
  transA: fc.boolean(),
  transB: fc.boolean(),
  m: fc.integer({ min: 1, max: 6 }),
  n: fc.integer({ min: 1, max: 6 }),
  k: fc.integer({ min: 0, max: 9 }),
  padA: fc.integer({ min: 0, max: 3 }),
  padB: fc.integer({ min: 0, max: 3 }),
  padC: fc.integer({ min: 0, max: 3 }),
  aOffset: fc.integer({ min: 0, max: 5 }),
  bOffset: fc.integer({ min: 0, max: 5 }),
  cOffset: fc.integer({ min: 0, max: 5 }),
  alpha: fc.constantFrom(1, -0.5, 2),
  beta: fc.constantFrom(0, 1, 0.25),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

function values(n: number, seed: number, nanEvery = 0): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, (_, i) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return nanEvery && i % nanEvery === 0 ? Number.NaN : (s / 2147483648) * 4 - 2;
  });
}

/** Equal as float32 results: NaN where NaN is expected (passed-through gaps), close elsewhere. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>) {
  expect(got.length).toBe(want.length);
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++) {
    const ok = Number.isNaN(want[i])
      ? Number.isNaN(got[i])
      : Math.abs(got[i] - want[i]) < 1e-5 * Math.max(1, Math.abs(want[i]));
    if (!ok) bad = i;
  }
  expect(bad, bad < 0 ? '' : `element ${bad}: ${got[bad]} vs ${want[bad]}`).toBe(-1);
}

type GemmCase = typeof gemmCase extends fc.Arbitrary<infer T> ? T : never;

async function runBoth(be: Backend, c: GemmCase) {
  const lda = (c.transA ? c.m : c.k) + c.padA;
  const ldb = (c.transB ? c.k : c.n) + c.padB;
  const ldc = c.n + c.padC;
  const aRows = c.transA ? c.k : c.m;
  const bRows = c.transB ? c.n : c.k;
  const aLen = c.aOffset + Math.max(1, aRows * lda);
  const bLen = c.bOffset + Math.max(1, bRows * ldb);
  const cLen = c.cOffset + c.m * ldc + 2;
  const a = values(aLen, c.seed);
  const b = values(bLen, c.seed + 1);
  // with beta = 0 the old C may hold NaN and must be ignored; columns between rows keep theirs
  const cv = values(cLen, c.seed + 2, c.beta === 0 ? 3 : 0);
  const want = Float64Array.from(Float32Array.from(cv));
  const args = { transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: c.alpha, beta: c.beta };
  const off = { aOffset: c.aOffset, lda, bOffset: c.bOffset, ldb, cOffset: c.cOffset, ldc };
  gemmHost({
    ...args,
    ...off,
    a: Float64Array.from(Float32Array.from(a)),
    b: Float64Array.from(Float32Array.from(b)),
    c: want,
  });
  const [ba, bb, bc] = [aLen, bLen, cLen].map((n) => be.alloc(n, 'float32'));
  be.write(ba, a);
  be.write(bb, b);
  be.write(bc, cv);
  be.gemm({ ...args, ...off, a: ba, b: bb, c: bc });
  const got = await be.read(bc);
  for (const x of [ba, bb, bc]) be.dispose(x);
  return { got, want };
}

describe.each(BACKENDS)('gemm on %s matches core gemmHost', (name) => {
  it('for random shapes, transposes, offsets, leading dimensions, alpha and beta', async () => {
    const be = await getBackend(name);
    await fc.assert(
      fc.asyncProperty(gemmCase, async (c) => {
        const { got, want } = await runBoth(be, c);
        expectClose(got, want);
      }),
      { numRuns: 60 },
    );
  });

  // webasm shares the host store's path with cpu; one host and one resident run suffice
  it.skipIf(name === 'gpujs-webasm')(
    'splits an output span longer than one launch may cover',
    async () => {
      const be = await getBackend(name);
      const n = 1024;
      const m = Math.ceil(MAX_SPAN / n) + 3;
      const { got, want } = await runBoth(be, {
        transA: false,
        transB: false,
        m,
        n,
        k: 1,
        padA: 0,
        padB: 0,
        padC: 1,
        aOffset: 1,
        bOffset: 0,
        cOffset: 2,
        alpha: 1,
        beta: 1,
        seed: 5,
      });
      expectClose(got, want);
    },
    60_000,
  );
});
