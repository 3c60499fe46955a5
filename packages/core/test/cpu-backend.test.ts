import { describe, expect, it } from 'vitest';
import {
  adamHost,
  type Backend,
  CELL_NAMES,
  type CellName,
  type CpuBackend,
  type DeviceBuffer,
  gemmHost,
  getBackend,
  MultiLayerRNN,
  Rng,
  registerCpuBackend,
  registeredBackends,
} from '../src/index.js';
import { expectAccurateGates } from './helpers.js';

// forced onto two threads with no size threshold: every GEMM and sequence kernel is split
registerCpuBackend({ name: 'cpu-test-mt', threads: 2, parallelThreshold: 0, tileRows: 4 });
registerCpuBackend({ name: 'cpu-test-1', threads: 1, tileRows: 4 });
// the 6×8 register tile, whichever height this engine would pick
registerCpuBackend({ name: 'cpu-test-mt6', threads: 2, parallelThreshold: 0, tileRows: 6 });
registerCpuBackend({ name: 'cpu-test-16', threads: 1, tileRows: 6 });

const randoms = (rng: Rng, n: number, scale = 1) =>
  Float64Array.from({ length: n }, () => rng.normal() * scale);

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    w = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(w, e);
  }
  return w;
}

describe('cpu backend registration', () => {
  it('ranks above reference and the tfjs CPU backends, and is what auto picks with core alone', async () => {
    const cpu = registeredBackends().find((r) => r.name === 'cpu');
    expect(cpu?.priority).toBeGreaterThan(30);
    const auto = await getBackend('auto');
    // other packages may register faster backends; with core alone, auto is cpu
    const top = registeredBackends()[0];
    if (top.name === 'cpu') expect(auto.name).toBe('cpu');
  });

  it('keeps float32 in WebAssembly memory and float64 on the host', async () => {
    const be = (await getBackend('cpu')) as CpuBackend;
    const f32 = be.alloc(5, 'float32');
    const f64 = be.alloc(5, 'float64');
    be.write(f32, [1, 2, 3, 4, 5]);
    be.write(f64, [1, 2, 3, 4, 5 + 1e-12]);
    expect(Array.from(await be.read(f32, 1, 3))).toEqual([2, 3, 4]);
    expect((await be.read(f64))[4]).toBe(5 + 1e-12);
    be.copy(f32, 0, f64, 1, 2);
    be.fill(f32, -1, 3);
    expect(Array.from(await be.read(f64))).toEqual([1, 1, 2, 4, 5 + 1e-12]);
    expect(Array.from(await be.read(f32))).toEqual([1, 2, 3, -1, -1]);
    expect(() => be.write(f32, [1, 2], 4)).toThrow(/overruns/);
    be.dispose(f32);
    expect(() => be.fill(f32, 0)).toThrow(/after dispose/);
    // a freed block comes back zeroed
    const again = be.alloc(5, 'float32');
    expect(Array.from(await be.read(again))).toEqual([0, 0, 0, 0, 0]);
  });
});

describe.each(['cpu-test-1', 'cpu-test-mt', 'cpu-test-16', 'cpu-test-mt6'])(
  'cpu gemm on %s against the float64 reference GEMM',
  (name) => {
    // shapes across tile (4×8 and 6×8), row-block (120), depth-block (512) and column-block (512)
    // edges, and the special paths (k = 1, m = 1, few transposed output columns)
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 2],
      [4, 8, 7],
      [5, 9, 1],
      [1, 37, 300],
      [13, 3, 20],
      [17, 29, 257],
      [7, 19, 1100],
      [9, 530, 11],
      [130, 12, 5],
      [11, 16, 9],
      [12, 8, 40],
      [10, 17, 6],
      [125, 9, 33],
    ];
    it.each(shapes)(
      'm=%i n=%i k=%i, every transpose, offsets, leading dims, alpha, beta and a bias row',
      async (m, n, k) => {
        const be = await getBackend(name);
        const rng = new Rng(m * 1000 + n * 10 + k);
        for (const transA of [false, false, true]) {
          for (const transB of [false, true]) {
            for (const [alpha, beta] of [
              [1, 0],
              [1, 1],
              [0.5, -2],
            ]) {
              const lda = (transA ? m : k) + 3;
              const ldb = (transB ? k : n) + 1;
              const ldc = n + 2;
              const aRows = transA ? k : m;
              const bRows = transB ? n : k;
              const a = randoms(rng, 2 + aRows * lda);
              const b = randoms(rng, 1 + bRows * ldb);
              const c = randoms(rng, 4 + m * ldc);
              // beta = 0 must ignore what C held, NaN included
              if (beta === 0) for (let i = 0; i < m; i++) c.fill(Number.NaN, 4 + i * ldc, 4 + i * ldc + n);
              const want = Float64Array.from(Float32Array.from(c));
              const a32 = Float64Array.from(Float32Array.from(a));
              const b32 = Float64Array.from(Float32Array.from(b));
              gemmHost({
                transA,
                transB,
                m,
                n,
                k,
                alpha,
                beta,
                a: a32,
                aOffset: 2,
                lda,
                b: b32,
                bOffset: 1,
                ldb,
                c: want,
                cOffset: 4,
                ldc,
              });
              // a bias row (the fused input-projection bias) on every combination but the first
              const withBias = beta !== 0;
              const bias = randoms(rng, 3 + n);
              if (withBias) {
                for (let i = 0; i < m; i++)
                  for (let j = 0; j < n; j++) want[4 + i * ldc + j] += Math.fround(bias[3 + j]);
              }
              const [A, Bb, C, Bias] = [a, b, c, bias].map((d) => {
                const buf = be.alloc(d.length, 'float32');
                be.write(buf, d);
                return buf;
              });
              be.gemm({
                transA,
                transB,
                m,
                n,
                k,
                alpha,
                beta,
                a: A,
                aOffset: 2,
                lda,
                b: Bb,
                bOffset: 1,
                ldb,
                c: C,
                cOffset: 4,
                ldc,
                ...(withBias ? { bias: Bias, biasOffset: 3 } : {}),
              });
              const got = await be.read(C);
              // float32 sums of k products of N(0,1) values: relative error ~ √k · 6e-8
              expect(worst(got, want)).toBeLessThan(2e-6 * Math.sqrt(k) * Math.max(1, Math.abs(beta)) + 1e-6);
              for (const buf of [A, Bb, C, Bias]) be.dispose(buf);
            }
          }
        }
      },
    );
  },
);

/** Forward and backward of a stack on `be` (float32) and on reference (float64), same parameters. */
async function compareRnn(
  be: Backend,
  cell: CellName,
  o: { I: number; H: number; B: number; T: number; L: number; bi: boolean },
) {
  const ref = await getBackend('reference');
  const rng = new Rng(7);
  const opts = { cell, inputSize: o.I, hiddenSize: o.H, numLayers: o.L, bidirectional: o.bi, seed: 3 };
  const want = new MultiLayerRNN(ref, { ...opts, dtype: 'float64' });
  const got = new MultiLayerRNN(be, { ...opts, dtype: 'float32' });
  try {
    got.setParameters(await want.getParameters());
    const nd = o.bi ? 2 : 1;
    const x = { shape: [o.B, o.T, o.I], data: randoms(rng, o.B * o.T * o.I) };
    const h0 = { shape: [o.L * nd, o.B, o.H], data: randoms(rng, o.L * nd * o.B * o.H, 0.5) };
    const c0 = cell === 'LSTM' ? { shape: h0.shape, data: randoms(rng, h0.data.length, 0.5) } : undefined;
    const g = { shape: [o.B, o.T, nd * o.H], data: randoms(rng, o.B * o.T * nd * o.H) };
    const ow = await want.forward(x, { h: h0, c: c0 });
    const og = await got.forward(x, { h: h0, c: c0 });
    // gradients on the outputs and on the final states (h, and c for LSTM) all reach the kernels
    const hN = { shape: h0.shape, data: randoms(rng, h0.data.length) };
    const cN = c0 ? { shape: c0.shape, data: randoms(rng, c0.data.length) } : undefined;
    const gw = await want.backward({ output: g, hN, cN });
    const gg = await got.backward({ output: g, hN, cN });
    const pw = await want.getGradients();
    const pg = await got.getGradients();
    let fwd = Math.max(worst(og.output.data, ow.output.data), worst(og.hN.data, ow.hN.data));
    if (ow.cN && og.cN) fwd = Math.max(fwd, worst(og.cN.data, ow.cN.data));
    let grad = Math.max(worst(gg.x!.data, gw.x!.data), worst(gg.h0.data, gw.h0.data));
    if (gw.c0 && gg.c0) grad = Math.max(grad, worst(gg.c0.data, gw.c0.data));
    for (const k of Object.keys(pw))
      grad = Math.max(grad, worst(pg[k].data, pw[k].data) / Math.max(1, maxAbs(pw[k].data) / 10));
    return { fwd, grad };
  } finally {
    want.dispose();
    got.dispose();
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe('cpu whole-sequence kernels against the float64 reference at odd sizes', () => {
  // H = 13 has a 4-lane body and a 1-unit remainder. B = 9 splits 6/3 rows over two threads (4
  // rows in a full tile plus two in the 2-row tile, and a 3-row tile; with 6-row tiles, one full
  // tile and a 3-row 4×8 tile); B = 5 splits 4/1, and is 4 + 1 on one thread; B = 11 on one
  // thread is 6 + 4 + 1 rows with 6-row tiles.
  it.each(
    CELL_NAMES.flatMap((c) => [
      [c, 'cpu-test-mt', 9],
      [c, 'cpu-test-1', 9],
      [c, 'cpu-test-mt', 5],
      [c, 'cpu-test-1', 5],
      [c, 'cpu-test-mt6', 9],
      [c, 'cpu-test-16', 11],
      [c, 'cpu-test-16', 5],
    ]),
  )('%s on %s: 2 bidirectional layers, I=3, H=13, B=%i, T=11', async (cell, name, B) => {
    const { fwd, grad } = await compareRnn(await getBackend(name as string), cell as CellName, {
      I: 3,
      H: 13,
      B: B as number,
      T: 11,
      L: 2,
      bi: true,
    });
    expect(fwd).toBeLessThan(2e-5);
    expect(grad).toBeLessThan(5e-5);
  });
});

describe('cpu gate functions', () => {
  // the kernels' sigmoid and tanh (exp from 2^n times a polynomial) against float64 Math
  it('match float64 sigmoid and tanh to 2e-7 over ±100, saturate without denormals and keep NaN', async () => {
    await expectAccurateGates((await getBackend('cpu-test-1')) as CpuBackend);
  });
});

describe('denormals', () => {
  it('are flushed from long sequences without changing results beyond float32 resolution', async () => {
    // zero input, zero recurrent weights and biases: z = σ(0) = ½ and n = 0, so h_t = h0 / 2^t and
    // the gradient reaching step t halves with every step it travels back. Both cross the float32
    // denormal range (2^-126 … 2^-149) on their way to zero.
    const be = await getBackend('cpu-test-mt');
    const ref = await getBackend('reference');
    const T = 300;
    const B = 6;
    const H = 8;
    const opts = { cell: 'GRU' as const, inputSize: 1, hiddenSize: H, seed: 5 };
    const want = new MultiLayerRNN(ref, { ...opts, dtype: 'float64' });
    const plain = new MultiLayerRNN(ref, { ...opts, dtype: 'float32' });
    const got = new MultiLayerRNN(be, { ...opts, dtype: 'float32' });
    const named: Record<string, { shape: number[]; data: Float64Array }> = {};
    for (const [k, v] of Object.entries(await want.getParameters())) {
      named[k] = {
        shape: v.shape,
        data: k.endsWith('weight_ih') ? Float64Array.from(v.data) : new Float64Array(v.data.length),
      };
    }
    for (const m of [want, plain, got]) m.setParameters(named);
    const x = { shape: [B, T, 1], data: new Float64Array(B * T) };
    const h0 = { shape: [1, B, H], data: Float64Array.from({ length: B * H }, (_, i) => 0.5 + (i % 5) / 10) };
    const g = new Float64Array(B * T * H);
    for (let b = 0; b < B; b++) g.fill(1, (b * T + T - 1) * H, (b * T + T) * H);
    const grad = { output: { shape: [B, T, H], data: g } };
    const denormals = (a: ArrayLike<number>) =>
      Array.prototype.filter.call(a, (v: number) => v !== 0 && Math.abs(v) < 1.1754943508222875e-38).length;
    const run = async (m: MultiLayerRNN) => ({
      out: (await m.forward(x, { h: h0 })).output.data,
      dx: (await m.backward(grad)).x!.data,
    });
    const [w, p, o] = [await run(want), await run(plain), await run(got)];
    // the scenario does produce denormals in plain float32 arithmetic …
    expect(denormals(p.out)).toBeGreaterThan(0);
    expect(denormals(p.dx)).toBeGreaterThan(0);
    // … and none on the cpu backend, whose results still match the float64 oracle
    expect(denormals(o.out)).toBe(0);
    expect(denormals(o.dx)).toBe(0);
    expect(worst(o.out, w.out)).toBeLessThan(1e-6);
    expect(worst(o.dx, w.dx)).toBeLessThan(1e-6);
    for (const m of [want, plain, got]) m.dispose();
  });
});

describe('cpu adam', () => {
  it('matches torch’s update computed in float64', async () => {
    const be = await getBackend('cpu');
    const rng = new Rng(11);
    const n = 37;
    const init = [randoms(rng, n), randoms(rng, n), randoms(rng, n, 0.1), randoms(rng, n, 0.1).map(Math.abs)];
    const host = init.map((a) => Float64Array.from(Float32Array.from(a)));
    const bufs = init.map((a) => {
      const b = be.alloc(n, 'float32');
      be.write(b, a);
      return b;
    }) as [DeviceBuffer, DeviceBuffer, DeviceBuffer, DeviceBuffer];
    const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    for (let step = 1; step <= 3; step++) {
      adamHost({ param: host[0], grad: host[1], m: host[2], v: host[3], ...hyper, step });
      be.adam!({ param: bufs[0], grad: bufs[1], m: bufs[2], v: bufs[3], ...hyper, step });
    }
    expect(worst(await be.read(bufs[0]), host[0])).toBeLessThan(1e-6);
    expect(worst(await be.read(bufs[3]), host[3])).toBeLessThan(1e-6);
  });
});
