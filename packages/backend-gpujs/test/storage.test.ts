import { type Backend, BackendUnavailableError, getBackend, InputError } from '@bistable/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GpujsBackend } from '../src/index.js';
import { CPU_RESIDENT } from './helpers.js';

const LEN = 30;
const NBUF = 3;

type Op =
  | { kind: 'write'; b: number; start: number; data: number[] }
  | { kind: 'fill'; b: number; start: number; len: number; value: number }
  | { kind: 'copy'; from: number; to: number; src: number; dst: number; len: number }
  | { kind: 'gemmCopy'; from: number; to: number; src: number; dst: number; len: number };

const at = fc.integer({ min: 0, max: LEN - 1 });
const buf = fc.integer({ min: 0, max: NBUF - 1 });
const small = fc.integer({ min: -50, max: 50 }).map((v) => v / 4);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(buf, at, fc.array(small, { minLength: 1, maxLength: LEN })).map(([b, start, d]) => ({
    kind: 'write' as const,
    b,
    start,
    data: d.slice(0, LEN - start),
  })),
  fc.tuple(buf, at, fc.integer({ min: 1, max: LEN }), small).map(([b, start, l, value]) => ({
    kind: 'fill' as const,
    b,
    start,
    len: Math.min(l, LEN - start),
    value,
  })),
  ...(['copy', 'gemmCopy'] as const).map((kind) =>
    fc.tuple(buf, buf, at, at, fc.integer({ min: 1, max: LEN })).map(([from, to, src, dst, l]) => ({
      kind,
      from,
      to,
      src,
      dst,
      len: Math.min(l, LEN - src, LEN - dst),
    })),
  ),
);

describe.each(['gpujs-cpu', CPU_RESIDENT.name])('storage on %s', (name) => {
  it('behaves like plain arrays under writes, fills, copies and kernel reads, and frees what it allocated', async () => {
    const be = (await getBackend(name)) as GpujsBackend;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        await be.sync();
        const baseline = be.store.liveArrays();
        const bufs = Array.from({ length: NBUF }, () => be.alloc(LEN, 'float32'));
        const one = be.alloc(1, 'float32');
        be.fill(one, 1);
        const model = Array.from({ length: NBUF }, () => new Float32Array(LEN));
        for (const o of ops) {
          if (o.kind === 'write') {
            be.write(bufs[o.b], o.data, o.start);
            model[o.b].set(o.data, o.start);
          } else if (o.kind === 'fill') {
            be.fill(bufs[o.b], o.value, o.start, o.len);
            model[o.b].fill(o.value, o.start, o.start + o.len);
          } else if (o.kind === 'copy') {
            be.copy(bufs[o.from], o.src, bufs[o.to], o.dst, o.len);
            model[o.to].set(model[o.from].slice(o.src, o.src + o.len), o.dst);
          } else {
            // a kernel that needs the range contiguous: to[dst..] = from[src..] · 1
            be.gemm({
              transA: false,
              transB: false,
              m: o.len,
              n: 1,
              k: 1,
              alpha: 1,
              beta: 0,
              a: bufs[o.from],
              aOffset: o.src,
              lda: 1,
              b: one,
              bOffset: 0,
              ldb: 1,
              c: bufs[o.to],
              cOffset: o.dst,
              ldc: 1,
            });
            model[o.to].set(model[o.from].slice(o.src, o.src + o.len), o.dst);
          }
        }
        for (let i = 0; i < NBUF; i++) {
          expect(Array.from(await be.read(bufs[i]))).toEqual(Array.from(model[i]));
          const part = await be.read(bufs[i], 7, 11, new Float32Array(11));
          expect(Array.from(part)).toEqual(Array.from(model[i].subarray(7, 18)));
        }
        for (const b of [...bufs, one]) be.dispose(b);
        await be.sync();
        expect(be.store.liveArrays()).toBe(baseline);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects bad buffers and ranges with clear errors', async () => {
    const be = await getBackend(name);
    const other: Backend = await getBackend('reference');
    expect(() => be.alloc(4, 'float64')).toThrow(InputError);
    expect(() => be.alloc(4, 'float64')).toThrow(/float32/);
    const b = be.alloc(4, 'float32');
    expect(() => be.write(b, [1, 2, 3], 2)).toThrow(RangeError);
    await expect(be.read(b, 3, 2)).rejects.toThrow(RangeError);
    expect(() => be.fill(other.alloc(4, 'float32'), 0)).toThrow(/not allocated by it/);
    expect(() =>
      be.gemm({
        transA: false,
        transB: false,
        m: 1,
        n: 3,
        k: 1,
        alpha: 1,
        beta: 0,
        a: b,
        aOffset: 0,
        lda: 1,
        b,
        bOffset: 0,
        ldb: 3,
        c: b,
        cOffset: 0,
        ldc: 2,
      }),
    ).toThrow(/ldc/);
    be.dispose(b);
    expect(() => be.write(b, [1])).toThrow(/disposed/);
  });
});

it('gathers a range made of many segments (several launches, several levels) into one array', async () => {
  const be = (await getBackend(CPU_RESIDENT.name)) as GpujsBackend;
  const n = 60;
  const src = be.alloc(n, 'float32');
  const dst = be.alloc(n, 'float32');
  const one = be.alloc(1, 'float32');
  be.fill(one, 1);
  for (let i = 0; i < n; i++) be.write(src, [i * 0.5], i); // one segment per element
  be.gemm({
    transA: false,
    transB: false,
    m: n - 3,
    n: 1,
    k: 1,
    alpha: 1,
    beta: 0,
    a: src,
    aOffset: 2,
    lda: 1,
    b: one,
    bOffset: 0,
    ldb: 1,
    c: dst,
    cOffset: 1,
    ldc: 1,
  });
  const want = new Float32Array(n);
  for (let i = 0; i < n - 3; i++) want[1 + i] = (i + 2) * 0.5;
  expect(Array.from(await be.read(dst))).toEqual(Array.from(want));
  for (const b of [src, dst, one]) be.dispose(b);
});

it('a destroyed backend says so', async () => {
  const { createGpujsBackend, GPUJS_VARIANTS } = await import('../src/index.js');
  const be = await createGpujsBackend(GPUJS_VARIANTS.find((v) => v.name === 'gpujs-cpu')!);
  be.destroy();
  expect(() => be.alloc(1, 'float32')).toThrow(BackendUnavailableError);
});
