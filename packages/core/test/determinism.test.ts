import { describe, expect, it } from 'vitest';
import {
  Adam,
  CELL_NAMES,
  type CellName,
  getBackend,
  MultiLayerRNN,
  orthogonal,
  Rng,
  SequenceModel,
  xavierUniform,
} from '../src/index.js';
import { randn, sameBits } from './helpers.js';

const be = await getBackend('reference');
const N = 100_000;

describe('Rng', () => {
  it('a seed names a stream: same seed same numbers, other seeds (also above 2^32) other numbers', () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(5)).not.toEqual(draw(5 + 2 ** 32));
    const parent = new Rng(1);
    const child = parent.fork();
    expect(child.nextU32()).not.toBe(parent.nextU32());
    expect(() => new Rng(Number.NaN)).toThrow(RangeError);
  });

  it('uniform() lies in [0, 1) with mean 1/2 and variance 1/12', () => {
    const r = new Rng(7);
    let s = 0;
    let s2 = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < N; i++) {
      const u = r.uniform();
      s += u;
      s2 += u * u;
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
    }
    const mean = s / N;
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / N - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it('normal() has mean 0 and variance 1', () => {
    const r = new Rng(8);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    const mean = s / N;
    // five standard errors: 5/√N for the mean, 5·√(2/N) for the variance
    expect(Math.abs(mean)).toBeLessThan(0.016);
    expect(Math.abs(s2 / N - mean * mean - 1)).toBeLessThan(0.023);
  });

  it('int(lo, hi) stays in [lo, hi) and reaches both ends', () => {
    const r = new Rng(9);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const k = r.int(-3, 4);
      expect(Number.isInteger(k)).toBe(true);
      seen.add(k);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(() => r.int(2, 2)).toThrow(/empty integer range/);
  });

  it('shuffle is a permutation, and not the identity', () => {
    const r = new Rng(10);
    const a = Array.from({ length: 100 }, (_, i) => i);
    const b = r.shuffle(a.slice());
    expect(b).not.toEqual(a);
    expect(b.slice().sort((x, y) => x - y)).toEqual(a);
    const f = r.shuffle(Float64Array.from(a));
    expect(Array.from(f).sort((x, y) => x - y)).toEqual(a);
  });
});

/** ‖AᵀA − I‖∞ for a row-major [rows, cols] matrix (columns orthonormal). */
function gramError(m: ArrayLike<number>, rows: number, cols: number): number {
  let worst = 0;
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) {
      let d = 0;
      for (let k = 0; k < rows; k++) d += m[k * cols + i] * m[k * cols + j];
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

const transpose = (m: ArrayLike<number>, rows: number, cols: number) =>
  Float64Array.from({ length: rows * cols }, (_, i) => m[(i % rows) * cols + Math.floor(i / rows)]);

describe('initialisation', () => {
  it('orthogonal gives QᵀQ = I (columns, or rows when wide) to 1e-12', () => {
    const r = new Rng(11);
    for (const [rows, cols] of [
      [7, 7],
      [9, 4],
      [3, 8],
    ]) {
      const q = orthogonal([rows, cols], r);
      if (rows >= cols) expect(gramError(q, rows, cols), `${rows}×${cols}`).toBeLessThan(1e-12);
      else expect(gramError(transpose(q, rows, cols), cols, rows), `${rows}×${cols}`).toBeLessThan(1e-12);
    }
  });

  it('xavierUniform respects its bound √(6/(fan_in + fan_out)) and nearly fills it', () => {
    const w = xavierUniform([20, 30], new Rng(12));
    const bound = Math.sqrt(6 / 50);
    const worst = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(worst).toBeLessThanOrEqual(bound);
    expect(worst).toBeGreaterThan(0.98 * bound);
  });

  it('cells start as the reference package does', async () => {
    const I = 5;
    const H = 6;
    const get = async (cell: CellName) =>
      new MultiLayerRNN(be, { cell, inputSize: I, hiddenSize: H, seed: 3, dtype: 'float64' }).getParameters();
    const brc = await get('BRC');
    for (const k of ['memoryz', 'memoryr'])
      expect(
        Array.from(brc[`cells.0.${k}`].data).every((v) => v === 1),
        k,
      ).toBe(true);
    for (const k of ['bz', 'br'])
      expect(
        Array.from(brc[`cells.0.${k}`].data).every((v) => v === 0),
        k,
      ).toBe(true);
    const xb = Math.sqrt(6 / (I + H));
    for (const k of ['kernelz', 'kernelr', 'kernelh']) {
      expect(
        Array.from(brc[`cells.0.${k}`].data).every((v) => Math.abs(v) <= xb),
        k,
      ).toBe(true);
    }
    const nbrc = await get('nBRC');
    for (const k of ['memoryz', 'memoryr'])
      expect(gramError(nbrc[`cells.0.${k}`].data, H, H), k).toBeLessThan(1e-12);
    for (const cell of ['GRU', 'LSTM'] as const) {
      const p = await get(cell);
      for (const [k, t] of Object.entries(p)) {
        expect(
          Array.from(t.data).every((v) => Math.abs(v) <= 1 / Math.sqrt(H)),
          `${cell} ${k}`,
        ).toBe(true);
      }
    }
  });

  it('bidirectional backward cells start as copies of the forward ones', async () => {
    const p = await new MultiLayerRNN(be, {
      cell: 'nBRC',
      inputSize: 2,
      hiddenSize: 3,
      numLayers: 2,
      bidirectional: true,
      seed: 4,
    }).getParameters();
    for (const [k, t] of Object.entries(p)) {
      const m = /^cells\.(\d+)\.(.+)$/.exec(k)!;
      const idx = Number(m[1]);
      if (idx % 2 === 1) expect(sameBits(t.data, p[`cells.${idx - 1}.${m[2]}`].data), k).toBe(true);
    }
    // while the layers differ from each other
    expect(sameBits(p['cells.0.memoryz'].data, p['cells.2.memoryz'].data)).toBe(false);
  });
});

describe('seeded models and training', () => {
  const train = async (cell: CellName, seed: number) => {
    const model = new SequenceModel(be, {
      cell,
      inputSize: 2,
      hiddenSize: 3,
      numLayers: 2,
      readout: 'last',
      loss: 'mse',
      dtype: 'float32',
      seed,
    });
    const init = await model.getParameters();
    const opt = new Adam(be, [model], { lr: 0.02 });
    const rng = new Rng(100);
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const x = randn(rng, [4, 5, 2]);
      losses.push((await model.lossAndGradients(x, randn(rng, [4, 1]))).loss);
      await opt.step();
    }
    return { init, losses, final: await model.getParameters() };
  };

  it.each(CELL_NAMES.map((c) => [c]))(
    '%s: the same seed gives identical parameters and losses; another seed does not',
    async (cell) => {
      const a = await train(cell, 1);
      const b = await train(cell, 1);
      const c = await train(cell, 2);
      expect(b.losses).toEqual(a.losses);
      for (const k of Object.keys(a.init)) {
        expect(sameBits(b.init[k].data, a.init[k].data), k).toBe(true);
        expect(sameBits(b.final[k].data, a.final[k].data), k).toBe(true);
      }
      expect(c.losses).not.toEqual(a.losses);
      const w = cell === 'GRU' || cell === 'LSTM' ? 'rnn.cells.0.weight_ih' : 'rnn.cells.0.kernelz';
      expect(sameBits(c.init[w].data, a.init[w].data)).toBe(false);
      expect(sameBits(c.init['fc.weight'].data, a.init['fc.weight'].data)).toBe(false);
    },
  );
});
