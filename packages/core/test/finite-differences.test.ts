import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bceLoss,
  bceWithLogitsLoss,
  CELL_NAMES,
  type CellName,
  getBackend,
  MultiLayerRNN,
  mseLoss,
  Rng,
  SequenceModel,
  sigmoid,
} from '../src/index.js';
import { dot, randn } from './helpers.js';

const be = await getBackend('reference');
const EPS = 1e-6;
const TOL = 1e-6;

type T = { shape: number[]; data: Float64Array };
const shifted = (t: T, v: T, s: number): T => ({
  shape: t.shape,
  data: t.data.map((x, i) => x + s * v.data[i]),
});

/** Central difference of f along v, against the analytic directional derivative ⟨g, v⟩. */
async function checkDirection(what: string, f: (s: number) => Promise<number>, g: ArrayLike<number>, v: T) {
  const fd = ((await f(EPS)) - (await f(-EPS))) / (2 * EPS);
  const an = dot(g, v.data);
  expect(Math.abs(fd - an), `${what}: finite difference ${fd}, analytic ${an}`).toBeLessThanOrEqual(
    TOL * Math.max(1, Math.abs(an)),
  );
}

const rnnCase = fc.record({
  cell: fc.constantFrom(...CELL_NAMES),
  I: fc.integer({ min: 1, max: 4 }),
  H: fc.integer({ min: 1, max: 4 }),
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 5 }),
  layers: fc.integer({ min: 1, max: 2 }),
  bidirectional: fc.boolean(),
  batchFirst: fc.boolean(),
  returnSequences: fc.boolean(),
  withState: fc.boolean(),
  withFinalGrad: fc.boolean(),
  seed: fc.nat(1_000_000),
});

describe('MultiLayerRNN gradients against central finite differences (float64)', () => {
  it('holds for random cells, sizes, directions and layouts', async () => {
    await fc.assert(
      fc.asyncProperty(rnnCase, async (k) => {
        const rng = new Rng(k.seed);
        const rnn = new MultiLayerRNN(be, {
          cell: k.cell,
          inputSize: k.I,
          hiddenSize: k.H,
          numLayers: k.layers,
          bidirectional: k.bidirectional,
          batchFirst: k.batchFirst,
          returnSequences: k.returnSequences,
          dtype: 'float64',
          seed: k.seed,
        });
        const nd = k.bidirectional ? 2 : 1;
        const L = k.layers * nd;
        const lstm = k.cell === 'LSTM';
        // random values everywhere, so that no gate sits at a special point (BRC memories are 1 at init)
        const params: Record<string, T> = {};
        for (const [name, t] of Object.entries(await rnn.getParameters()))
          params[name] = randn(rng, t.shape, 0.5);
        rnn.setParameters(params);
        const x = randn(rng, k.batchFirst ? [k.B, k.T, k.I] : [k.T, k.B, k.I]);
        const h0 = randn(rng, [L, k.B, k.H], k.withState ? 0.5 : 0);
        const c0 = randn(rng, [L, k.B, k.H], k.withState && lstm ? 0.5 : 0);
        const outShape = k.returnSequences
          ? k.batchFirst
            ? [k.B, k.T, nd * k.H]
            : [k.T, k.B, nd * k.H]
          : [nd, k.B, k.H];
        const coef = randn(rng, outShape);
        const coefH = randn(rng, [L, k.B, k.H], k.withFinalGrad ? 1 : 0);
        const coefC = randn(rng, [L, k.B, k.H], k.withFinalGrad && lstm ? 1 : 0);

        const loss = async (p: Record<string, T>, xx: T, hh: T, cc: T) => {
          rnn.setParameters(p);
          const out = await rnn.forward(xx, { h: hh, c: lstm ? cc : undefined });
          let s = dot(out.output.data, coef.data) + dot(out.hN.data, coefH.data);
          if (out.cN) s += dot(out.cN.data, coefC.data);
          return s;
        };

        // analytic: without an explicit state when there is none, so the zero-state path is checked too
        await rnn.forward(x, k.withState ? { h: h0, c: lstm ? c0 : undefined } : undefined);
        const g = await rnn.backward({
          output: coef,
          hN: k.withFinalGrad ? coefH : undefined,
          cN: k.withFinalGrad && lstm ? coefC : undefined,
        });
        const grads = await rnn.getGradients();

        for (const name of Object.keys(params)) {
          const v = randn(rng, params[name].shape);
          await checkDirection(
            name,
            (s) => loss({ ...params, [name]: shifted(params[name], v, s) }, x, h0, c0),
            grads[name].data,
            v,
          );
        }
        const vx = randn(rng, x.shape);
        await checkDirection('input', (s) => loss(params, shifted(x, vx, s), h0, c0), g.x!.data, vx);
        const vh = randn(rng, h0.shape);
        await checkDirection('h0', (s) => loss(params, x, shifted(h0, vh, s), c0), g.h0.data, vh);
        if (lstm) {
          const vc = randn(rng, c0.shape);
          await checkDirection('c0', (s) => loss(params, x, h0, shifted(c0, vc, s)), g.c0!.data, vc);
        } else {
          expect(g.c0).toBeNull();
        }
        rnn.dispose();
      }),
      { numRuns: 18, seed: 20240607 },
    );
  });
});

describe('SequenceModel gradients against central finite differences (float64)', () => {
  const modelCase = fc.record({
    cell: fc.constantFrom<CellName>(...CELL_NAMES),
    readout: fc.constantFrom('sequence' as const, 'last' as const),
    bidirectional: fc.boolean(),
    layers: fc.integer({ min: 1, max: 2 }),
    outputSize: fc.integer({ min: 1, max: 2 }),
    seed: fc.nat(1_000_000),
  });

  it('holds for BCE on logits with the sequence readout and MSE with the last readout', async () => {
    await fc.assert(
      fc.asyncProperty(modelCase, async (k) => {
        const rng = new Rng(k.seed);
        const [B, Tn, I, H] = [2, 4, 2, 3];
        // the two models of brc_pytorch's studies: binary addition (BCE per step), copy-first-input (MSE at the end)
        const loss = k.readout === 'sequence' ? 'bce' : 'mse';
        const model = new SequenceModel(be, {
          cell: k.cell,
          inputSize: I,
          hiddenSize: H,
          numLayers: k.layers,
          bidirectional: k.bidirectional,
          outputSize: k.outputSize,
          readout: k.readout,
          loss,
          dtype: 'float64',
          seed: k.seed,
        });
        const params: Record<string, T> = {};
        for (const [name, t] of Object.entries(await model.getParameters()))
          params[name] = randn(rng, t.shape, 0.5);
        model.setParameters(params);
        const x = randn(rng, [B, Tn, I]);
        const yShape = k.readout === 'sequence' ? [B, Tn, k.outputSize] : [B, k.outputSize];
        const y =
          loss === 'bce'
            ? {
                shape: yShape,
                data: Float64Array.from({ length: yShape.reduce((a, b) => a * b) }, () => rng.int(0, 2)),
              }
            : randn(rng, yShape);
        const { loss: l0 } = await model.lossAndGradients(x, y);
        const grads = await model.getGradients();
        expect((await model.evaluate(x, y)).loss).toBe(l0);
        for (const name of Object.keys(params)) {
          const v = randn(rng, params[name].shape);
          await checkDirection(
            `${k.readout}/${loss} ${name}`,
            async (s) => {
              model.setParameters({ ...params, [name]: shifted(params[name], v, s) });
              return (await model.evaluate(x, y)).loss;
            },
            grads[name].data,
            v,
          );
        }
        model.dispose();
      }),
      { numRuns: 6, seed: 7 },
    );
  });
});

describe('losses', () => {
  const vec = (n: number, lo: number, hi: number) =>
    fc.array(fc.double({ min: lo, max: hi, noNaN: true }), { minLength: n, maxLength: n });
  const pairs = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(vec(n, -8, 8), vec(n, 0, 1)));

  const elementwiseFD = (f: (p: number[], g?: Float64Array) => number, p: number[]) => {
    const g = new Float64Array(p.length);
    f(p, g);
    p.forEach((_, i) => {
      const up = p.slice();
      const dn = p.slice();
      up[i] += EPS;
      dn[i] -= EPS;
      const fd = (f(up) - f(dn)) / (2 * EPS);
      expect(Math.abs(fd - g[i]), `element ${i}`).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(g[i])));
    });
  };

  it('mseLoss and bceWithLogitsLoss gradients match finite differences', () => {
    fc.assert(
      fc.property(pairs, ([x, y]) => {
        elementwiseFD((p, g) => mseLoss(p, y, g), x);
        elementwiseFD((p, g) => bceWithLogitsLoss(p, y, g), x);
      }),
      { numRuns: 30, seed: 3 },
    );
  });

  it('bceWithLogitsLoss equals bceLoss(sigmoid) on moderate logits', () => {
    fc.assert(
      fc.property(pairs, ([x, y]) => {
        const a = bceWithLogitsLoss(x, y);
        const b = bceLoss(x.map(sigmoid), y);
        expect(Math.abs(a - b)).toBeLessThan(1e-9 * Math.max(1, b));
      }),
      { numRuns: 50, seed: 4 },
    );
  });

  it('bceWithLogitsLoss stays exact and finite for logits of ±1000', () => {
    const g = new Float64Array(4);
    const loss = bceWithLogitsLoss([1000, -1000, 1000, -1000], [0, 1, 1, 0], g);
    // per element: 1000, 1000, log1p(e^-1000) = 0, 0
    expect(loss).toBe(500);
    expect(Array.from(g)).toEqual([0.25, -0.25, 0, 0]);
    // the probability form saturates at torch's clamp of 100
    expect(bceLoss([sigmoid(1000), sigmoid(-1000)], [0, 1])).toBe(100);
  });

  it('mseLoss is the mean of squared differences', () => {
    expect(mseLoss([1, 2, 3], [1, 0, 0])).toBeCloseTo(13 / 3, 15);
  });
});
