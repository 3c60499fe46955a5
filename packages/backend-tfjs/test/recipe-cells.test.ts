import {
  Adam,
  type Backend,
  BRC,
  type CellSpec,
  defineCell,
  GRU,
  getBackend,
  type HostTensor,
  kernelLevels,
  LSTM,
  MultiLayerRNN,
  nBRC,
  cellParams as p,
  Rng,
  registerBackend,
  SequenceModel,
} from '@bistable/core';
import { toleranceFor, worstError } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; the autodiff check below needs them
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TfjsBackend } from '../src/backend.js';
import '../src/index.js';
import { programMath, tfjsOpKernels } from '../src/kernels/index.js';
import { recipeForward } from '../src/layers/recipe-step.js';

/**
 * A fifth cell, defined here as a user would: none of the four built-in cells has both pointwise
 * parameters (pw, read as M) and a cell state, and this one reads M against h and against c.
 *   z  = σ(x@kz + h@mz + bz + bh + dz ⊙ h)
 *   i  = σ(x@ki),  n = tanh(x@kn + leak ⊙ c)
 *   c' = z ⊙ c + i ⊙ n,  h' = (1 − z) ⊙ tanh(c') + z ⊙ h
 */
const LEAKY: CellSpec = defineCell({
  name: 'LeakyMemory',
  params: [
    p.input('kz', 0),
    p.input('ki', 1),
    p.input('kn', 2),
    p.recurrent('mz', 0),
    p.pointwise('dz', 0),
    p.pointwise('leak', 1),
    p.inputBias('bz', 0),
    p.recurrentBias('bh', 0),
  ],
  cellState: true,
  step: ({ P, R, M, h, c, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(R[0]).add(M[0].mul(h)));
    const i = sigmoid(P[1]);
    const n = tanh(P[2].add(M[1].mul(c)));
    const cn = z.mul(c).add(i.mul(n));
    const tc = tanh(cn);
    return { h: z.neg().add(1).mul(tc).add(z.mul(h)), c: cn, cache: [z, i, n, tc] };
  },
});

// the tfjs-op kernels (tfjs-node, WebGPU without WGSL) on tfjs-cpu, under a test-only name
const GENERIC = 'tfjs-cpu-recipe-ops';
registerBackend({
  name: GENERIC,
  priority: -1,
  init: async () => {
    await tf.setBackend('cpu');
    const be = new TfjsBackend(GENERIC, 'cpu');
    be.kernelSource = tfjsOpKernels;
    return be;
  },
});

const random = (shape: number[], rng: Rng) => ({
  shape,
  data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform() * 2 - 1),
});

const tol = toleranceFor('float32');
const reference = await getBackend('reference');

/** Forward and backward of a bidirectional two-layer RNN with initial states and every gradient given. */
async function pass(be: Backend, maxLevel: 1 | 2 | 3, dtype: 'float32' | 'float64') {
  const [B, T, I, H] = [3, 6, 2, 5];
  const rnn = new MultiLayerRNN(be, {
    cell: LEAKY,
    inputSize: I,
    hiddenSize: H,
    numLayers: 2,
    bidirectional: true,
    dtype,
    seed: 9,
    maxLevel,
  });
  const rng = new Rng(4);
  // pointwise parameters away from their initial ones, so that dz and leak matter
  const params = await rnn.getParameters();
  for (const [name, p] of Object.entries(params)) {
    if (/\.(dz|leak|bz|bh)$/.test(name)) params[name] = random([...p.shape], rng);
  }
  rnn.setParameters(params);
  const L = 4;
  const out = await rnn.forward(random([B, T, I], rng), {
    h: random([L, B, H], rng),
    c: random([L, B, H], rng),
  });
  const grads = await rnn.backward(
    { output: random([B, T, 2 * H], rng), hN: random([L, B, H], rng), cN: random([L, B, H], rng) },
    { inputGrad: true },
  );
  const levels = rnn.units.map((u) => u.level());
  const named = await rnn.getGradients();
  rnn.dispose();
  return { out, grads, named, levels };
}

function expectClose(actual: HostTensor | null, expected: HostTensor | null, bound: number, what: string) {
  expect(actual?.shape, what).toEqual(expected?.shape);
  expect(worstError(actual!.data, expected!.data), what).toBeLessThan(bound);
}

describe('a user-defined cell (pointwise parameters and a cell state) trains on tfjs at every level', () => {
  const want = pass(reference, 1, 'float64');

  for (const name of ['tfjs-cpu', 'tfjs-wasm', GENERIC]) {
    it(`${name}: offers every level for it`, async () => {
      expect(kernelLevels(await getBackend(name), LEAKY)).toEqual([1, 2, 3]);
    });

    for (const level of [1, 2, 3] as const) {
      it(`${name} at level ${level}: forward and backward match the reference backend`, async () => {
        const got = await pass(await getBackend(name), level, 'float32');
        const ref = await want;
        expect(got.levels).toEqual([level, level, level, level]);
        expectClose(got.out.output, ref.out.output, tol.forward, 'output');
        expectClose(got.out.hN, ref.out.hN, tol.forward, 'hN');
        expectClose(got.out.cN, ref.out.cN, tol.forward, 'cN');
        expectClose(got.grads.x, ref.grads.x, tol.gradient, 'dx');
        expectClose(got.grads.h0, ref.grads.h0, tol.gradient, 'dh0');
        expectClose(got.grads.c0, ref.grads.c0, tol.gradient, 'dc0');
        expect(Object.keys(got.named).sort()).toEqual(Object.keys(ref.named).sort());
        for (const [param, g] of Object.entries(ref.named))
          expectClose(got.named[param], g, tol.gradient, param);
      });

      it(`${name} at level ${level}: Adam steps of a SequenceModel follow the reference backend's`, async () => {
        const rng = new Rng(21);
        const [B, T] = [8, 5];
        const x = random([B, T, 1], rng);
        const y = { shape: [B, 1], data: Array.from({ length: B }, (_, b) => x.data[b * T]) };
        const losses = async (be: Backend, dtype: 'float32' | 'float64') => {
          const model = new SequenceModel(be, {
            cell: LEAKY,
            inputSize: 1,
            hiddenSize: 6,
            numLayers: 2,
            readout: 'last',
            loss: 'mse',
            dtype,
            seed: 2,
            maxLevel: level,
          });
          const opt = new Adam(be, [model], { lr: 2e-2 });
          const seen: number[] = [];
          for (let s = 0; s < 8; s++) {
            seen.push((await model.lossAndGradients(x, y)).loss);
            await opt.step();
          }
          model.dispose();
          return seen;
        };
        const got = await losses(await getBackend(name), 'float32');
        const ref = await losses(reference, 'float64');
        expect(worstError(got, ref)).toBeLessThan(tol.forward);
        // it learns: the loss on this batch goes down
        expect(got[7]).toBeLessThan(got[0]);
      });
    }
  }
});

/**
 * The derived backward program, run as tfjs ops, against tfjs's own autodiff of the forward
 * program: a check of the recipes' derivatives (core's derive) that shares nothing with core's
 * host functions, and of the interpreter's blocks, broadcasts and row sums.
 */
describe('the tfjs-op backward equals tfjs autodiff of the tfjs-op forward', () => {
  for (const spec of [LEAKY, BRC, nBRC, GRU, LSTM]) {
    it(`${spec.name}: dP, dR, dPw, dh and dc`, async () => {
      await tf.setBackend('cpu');
      const [B, H] = [4, 3];
      const rng = new Rng(13);
      const t = (shape: number[]) => tf.tensor(Float32Array.from(random(shape, rng).data), shape);
      const [p, r, h, c, gh, gc] = [spec.gx, spec.gr, 1, 1, 1, 1].map((w) => t([B, w * H]) as tf.Tensor2D);
      const pw = t([spec.npw * H]) as tf.Tensor1D;
      const math = programMath(spec);
      const given = {
        r: spec.gr > 0 ? r : null,
        pw: spec.npw > 0 ? pw : null,
        c: spec.hasCellState ? c : null,
      };
      // the gradients autodiff gives for the inputs this cell has, in this order
      const wrt = [p, h, given.r, given.pw, given.c].filter((x): x is tf.Tensor2D => x !== null);
      const loss = (...xs: tf.Tensor[]) => {
        const at = (x: tf.Tensor | null) => (x === null ? null : xs[wrt.indexOf(x as tf.Tensor2D)]);
        const o = math.forward({
          p: xs[0] as tf.Tensor2D,
          h: xs[1] as tf.Tensor2D,
          r: at(given.r) as tf.Tensor2D | null,
          pw: at(given.pw) as tf.Tensor1D | null,
          c: at(given.c) as tf.Tensor2D | null,
        });
        // h · 0 keeps h on the tape for a cell that never reads it (LSTM), whose dh is then zero
        const lh = tf.add(tf.sum(tf.mul(o.h, gh)), tf.sum(tf.mul(xs[1], 0)));
        return (o.c ? tf.add(lh, tf.sum(tf.mul(o.c, gc))) : lh) as tf.Scalar;
      };
      const auto = tf.grads(loss)(wrt);
      const want = (x: tf.Tensor | null) => (x === null ? null : auto[wrt.indexOf(x as tf.Tensor2D)]);
      const fwd = math.forward({ p, h, ...given });
      const bwd = math.backward({ g: gh, dc: given.c && gc, cache: fwd.cache, h, c: given.c, pw: given.pw });
      const close = (a: tf.Tensor | null, b: tf.Tensor | null, what: string) => {
        if (b === null) return expect(a, what).toBeNull();
        // a null dh is the cell's way of saying zero (LSTM's h enters only through R)
        const got = a ?? tf.zerosLike(b);
        expect(worstError(got.dataSync(), b.dataSync()), what).toBeLessThan(1e-5);
      };
      close(bwd.dP, auto[0], 'dP');
      close(bwd.dh, auto[1], 'dh');
      close(bwd.dR, want(given.r), 'dR');
      close(bwd.dPw, want(given.pw), 'dPw');
      close(bwd.dc, want(given.c), 'dc');
    });
  }
});

/**
 * The tfjs-layers cells' step (recipeForward) forms P and R from each named weight; GRU's torch
 * weights are transposed and stack three gates, which BRC and nBRC's never do.
 */
it("the layers' recipe step from torch-shaped weights equals the reference backend (GRU)", async () => {
  await tf.setBackend('cpu');
  const [B, I, H] = [3, 2, 4];
  const rnn = new MultiLayerRNN(reference, {
    cell: GRU,
    inputSize: I,
    hiddenSize: H,
    dtype: 'float64',
    seed: 6,
  });
  const rng = new Rng(8);
  const named = await rnn.getParameters();
  for (const [name, p] of Object.entries(named)) named[name] = random([...p.shape], rng);
  rnn.setParameters(named);
  const x = random([B, 1, I], rng);
  const h0 = random([1, B, H], rng);
  const want = (await rnn.forward(x, { h: h0 })).output;
  rnn.dispose();
  const f32 = (t: { shape: readonly number[]; data: ArrayLike<number> }, shape = [...t.shape]) =>
    tf.tensor(Float32Array.from(t.data), shape);
  const weights = GRU.params.map((p) => f32(named[`cells.0.${p.name}`]));
  const h = f32(h0, [B, H]) as tf.Tensor2D;
  const got = recipeForward(GRU, weights, f32(x, [B, I]) as tf.Tensor2D, h, h);
  expect(worstError(got.dataSync(), want.data)).toBeLessThan(1e-5);
});
