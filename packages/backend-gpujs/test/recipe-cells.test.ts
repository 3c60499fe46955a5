import {
  type Backend,
  type DType,
  getBackend,
  type HostTensor,
  KERNEL_LEVEL,
  type KernelLevel,
  kernelLevels,
  MultiLayerRNN,
  probeBackend,
  Rng,
} from '@bistable/core';
import { toleranceFor, worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { GPUJS_VARIANTS } from '../src/index.js';
import { CPU_RESIDENT } from './helpers.js';
import { PEEPHOLE } from './recipe-cell.js';

/**
 * A cell made with defineCell trains on every gpu.js variant that starts here, at every kernel
 * level it offers, with kernels rendered from the cell's recipe: a bidirectional two-layer
 * network's forward and backward (every output, state, input and parameter gradient) against
 * the reference backend in float64.
 */
const I = 3;
const H = 5;
const B = 3;
const T = 4;
const f32 = (a: ArrayLike<number>) => Float64Array.from(Float32Array.from(a));

const rng = new Rng(3);
const random = (shape: number[]): HostTensor => ({
  shape,
  data: f32(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniformIn(-1, 1))),
});
const L = 4; // layers × directions
const x = random([B, T, I]);
const state = { h: random([L, B, H]), c: random([L, B, H]) };
const grads = { output: random([B, T, 2 * H]), hN: random([L, B, H]), cN: random([L, B, H]) };

function network(be: Backend, dtype: DType, maxLevel: KernelLevel) {
  return new MultiLayerRNN(be, {
    cell: PEEPHOLE,
    inputSize: I,
    hiddenSize: H,
    numLayers: 2,
    bidirectional: true,
    dtype,
    seed: 5,
    maxLevel,
  });
}

/** Everything a forward and backward pass gives, by name. */
async function pass(rnn: MultiLayerRNN, params: Record<string, HostTensor>) {
  rnn.setParameters(params);
  const out = await rnn.forward(x, state);
  const back = await rnn.backward(grads);
  const got: Record<string, ArrayLike<number>> = {
    output: out.output.data,
    hN: out.hN.data,
    cN: out.cN!.data,
    'd input': back.x!.data,
    dh0: back.h0.data,
    dc0: back.c0!.data,
  };
  for (const [k, v] of Object.entries(await rnn.getGradients())) got[`d ${k}`] = v.data;
  return got;
}

const reference = await getBackend('reference');
const oracle = network(reference, 'float64', KERNEL_LEVEL.host);
// float32 values, so the only difference left is the backend's float32 arithmetic
const params = Object.fromEntries(
  Object.entries(await oracle.getParameters()).map(([k, v]) => [k, { shape: v.shape, data: f32(v.data) }]),
);
const want = await pass(oracle, params);

const names = [CPU_RESIDENT.name, ...GPUJS_VARIANTS.map((v) => v.name)];
for (const name of names) {
  const probe = await probeBackend(name);
  if (!probe.ok) console.warn(`skipping ${name}: ${probe.reason}`);
  const be = probe.ok ? await getBackend(name) : null;
  describe.skipIf(!be)(`a cell made with defineCell on ${name}`, () => {
    const levels = be ? kernelLevels(be, PEEPHOLE) : [];
    const sequence =
      GPUJS_VARIANTS.find((v) => v.name === name)?.sequenceKernels ?? CPU_RESIDENT.sequenceKernels;

    it('is offered at the same levels as the built-in cells', () => {
      const { host, step } = KERNEL_LEVEL;
      expect(levels).toEqual(sequence ? [host, step, KERNEL_LEVEL.sequence] : [host, step]);
      expect(kernelLevels(be!, 'LSTM')).toEqual(levels);
    });

    for (const level of levels) {
      it(`level ${level}: forward and backward match the reference backend`, async () => {
        const rnn = network(be!, 'float32', level);
        try {
          const got = await pass(rnn, params);
          const tol = toleranceFor('float32');
          expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
          for (const [k, v] of Object.entries(want)) {
            const bound = ['output', 'hN', 'cN'].includes(k) ? tol.forward : tol.gradient;
            expect(worstError(got[k], v), k).toBeLessThan(bound);
          }
        } finally {
          rnn.dispose();
        }
      });
    }
  });
}
