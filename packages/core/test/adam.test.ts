import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Backend,
  type DType,
  getBackend,
  InputError,
  type ParameterSource,
  Rng,
  SequenceModel,
  SGD,
} from '../src/index.js';
import { forwarding, maxRelErr } from './helpers.js';

const reference = await getBackend('reference');

/** The same backend without its fused `adam`, so Adam takes its host path. */
function withoutFusedAdam(be: Backend): Backend {
  return forwarding(be, { name: `${be.name}-no-fused-adam` });
}

/** One parameter vector whose gradient the test sets by hand before each step. */
function handParameter(be: Backend, init: number[], dtype: DType) {
  const value = be.alloc(init.length, dtype);
  const grad = be.alloc(init.length, dtype);
  be.write(value, init);
  const source: ParameterSource = { parameters: () => [{ name: 'w', value, grad }] };
  return { source, value, setGrad: (g: number[]) => be.write(grad, g) };
}

/** torch 1.13's Adam, written out from its documentation, in float64. */
function torchAdam(
  p0: number[],
  grads: number[][],
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  wd: number,
) {
  const p = p0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const trace: number[][] = [];
  grads.forEach((gs, idx) => {
    const t = idx + 1;
    for (let i = 0; i < p.length; i++) {
      const g = gs[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= (lr / (1 - b1 ** t)) * (m[i] / denom);
    }
    trace.push(p.slice());
  });
  return trace;
}

const P0 = [0.5, -1.25, 2, 0, 3e-3];
const GRADS = [
  [0.1, -2, 0.003, 1e-9, -0.5],
  [-0.3, -1, 0.004, 0, 0.25],
  [0.2, 0.5, -0.01, -1e-9, 0.125],
  [1.5, 0, 0.002, 2, -4],
];

describe('Adam', () => {
  const paths: [string, Backend][] = [
    ['fused (reference.adam)', reference],
    ['host', withoutFusedAdam(reference)],
  ];
  for (const [label, be] of paths) {
    for (const wd of [0, 0.1]) {
      it(`${label}, weight decay ${wd}: follows torch's formula step by step (float64)`, async () => {
        const hp = { lr: 0.01, b1: 0.8, b2: 0.95, eps: 1e-6 };
        const w = handParameter(be, P0, 'float64');
        const opt = new Adam(be, [w.source], {
          lr: hp.lr,
          betas: [hp.b1, hp.b2],
          eps: hp.eps,
          weightDecay: wd,
        });
        const want = torchAdam(P0, GRADS, hp.lr, hp.b1, hp.b2, hp.eps, wd);
        for (let s = 0; s < GRADS.length; s++) {
          w.setGrad(GRADS[s]);
          await opt.step();
          expect(maxRelErr(await be.read(w.value), want[s]), `step ${s + 1}`).toBeLessThan(1e-15);
        }
        expect(opt.stepCount).toBe(GRADS.length);
      });
    }

    it(`${label}: float32 agrees with the float64 formula to single precision`, async () => {
      const w = handParameter(be, P0, 'float32');
      const opt = new Adam(be, [w.source], { lr: 0.05 });
      const want = torchAdam(P0, GRADS, 0.05, 0.9, 0.999, 1e-8, 0);
      for (let s = 0; s < GRADS.length; s++) {
        w.setGrad(GRADS[s]);
        await opt.step();
        expect(maxRelErr(await be.read(w.value), want[s])).toBeLessThan(1e-6);
      }
    });
  }

  it("the first step moves each weight by lr·g/(|g| + eps), Adam's known first step", async () => {
    const w = handParameter(reference, P0, 'float64');
    const opt = new Adam(reference, [w.source], { lr: 0.1, eps: 1e-8 });
    w.setGrad(GRADS[0]);
    await opt.step();
    const got = await reference.read(w.value);
    GRADS[0].forEach((g, i) => {
      expect(got[i]).toBeCloseTo(P0[i] - (0.1 * g) / (Math.abs(g) + 1e-8), 14);
    });
  });

  it('fused and host paths give the same model after training steps', async () => {
    const run = async (be: Backend) => {
      const model = new SequenceModel(be, {
        cell: 'nBRC',
        inputSize: 1,
        hiddenSize: 3,
        readout: 'last',
        loss: 'mse',
        dtype: 'float64',
        seed: 2,
      });
      const opt = new Adam(be, [model], { lr: 0.05 });
      const rng = new Rng(9);
      const x = { shape: [2, 4, 1], data: Array.from({ length: 8 }, () => rng.normal()) };
      const y = { shape: [2, 1], data: [x.data[0], x.data[4]] };
      for (let s = 0; s < 3; s++) {
        await model.lossAndGradients(x, y);
        await opt.step();
      }
      return model.getParameters();
    };
    const a = await run(reference);
    const b = await run(withoutFusedAdam(reference));
    for (const k of Object.keys(a)) expect(maxRelErr(b[k].data, a[k].data), k).toBeLessThan(1e-15);
  });

  it('rejects bad hyperparameters and foreign state', async () => {
    const w = handParameter(reference, [1], 'float64');
    expect(() => new Adam(reference, [w.source], { lr: 0 })).toThrow(InputError);
    expect(() => new Adam(reference, [w.source], { betas: [1, 0.9] })).toThrow(/betas must be in \[0, 1\)/);
    const opt = new Adam(reference, [w.source]);
    const sgd = new SGD(reference, [w.source], { lr: 1 });
    expect(() => opt.loadState({ kind: 'sgd', step: 1, hyper: {}, slots: {} })).toThrow(/expected 'adam'/);
    await expect(sgd.state()).resolves.toMatchObject({ kind: 'sgd' });
    expect(() => opt.loadState({ kind: 'adam', step: 1, hyper: {}, slots: {} })).toThrow(/lacks 'w.m'/);
  });
});

describe('SGD', () => {
  it('without momentum: p ← p − lr·g', async () => {
    const w = handParameter(reference, P0, 'float64');
    const opt = new SGD(reference, [w.source], { lr: 0.5 });
    const p = P0.slice();
    for (const g of GRADS) {
      w.setGrad(g);
      await opt.step();
      g.forEach((gi, i) => {
        p[i] -= 0.5 * gi;
      });
      expect(Array.from(await reference.read(w.value))).toEqual(p);
    }
  });

  it("with momentum: torch's buf ← μ·buf + g (buf = g at the first step), p ← p − lr·buf", async () => {
    const w = handParameter(reference, P0, 'float64');
    const opt = new SGD(reference, [w.source], { lr: 0.5, momentum: 0.9 });
    const p = P0.slice();
    let buf: number[] | null = null;
    for (const g of GRADS) {
      w.setGrad(g);
      await opt.step();
      buf = buf ? buf.map((b, i) => 0.9 * b + g[i]) : g.slice();
      buf.forEach((b, i) => {
        p[i] -= 0.5 * b;
      });
      expect(maxRelErr(await reference.read(w.value), p)).toBeLessThan(1e-15);
    }
    // the buffer is the optimiser's state
    const state = await opt.state();
    expect(maxRelErr(state.slots['w.momentum'], buf!)).toBeLessThan(1e-15);
    expect(() => new SGD(reference, [w.source], { lr: -1 })).toThrow(/learning rate must be positive/);
  });
});
