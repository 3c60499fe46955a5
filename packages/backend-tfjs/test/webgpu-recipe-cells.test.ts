import {
  CELL_NAMES,
  type CellSpec,
  cellSpec,
  defineCell,
  getBackend,
  KERNEL_LEVEL,
  type KernelLevel,
  kernelLevels,
  MultiLayerRNN,
  cellParams as p,
  Rng,
} from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { cellWgsl, wgslLiteral } from '../src/webgpu/cell-wgsl.js';
import { wgslRunner } from '../src/webgpu/index.js';
import { pointwiseCell, pointwiseParams, pointwiseStep } from './pointwise-cell.js';
import { randn } from './sequence-case.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * Cells no WGSL was written for, defined with defineCell as a user would: the WebGPU backend
 * renders their kernels from the recipe, at every level, and must match the float64 reference
 * backend (core's host functions of the same recipe). Needs a WebGPU adapter (lavapipe in CI).
 */
logSkip('recipe-cell tests');

/**
 * nBRC with a cell state, whose modulation gate also reads c through a per-unit gain:
 *   z = σ(x@kz + h@mz − 1/4),  a = tanh(x@kr + h@mr + gain ⊙ c) + 1,  n = tanh(x@kh + a ⊙ h)
 *   c' = z ⊙ c + (1 − z) ⊙ n,  h' = tanh(c') · (−1/2) + n
 * Its step backward reads seven inputs and writes five outputs, over WebGPU's 8 bindings: the
 * kernels split it; its sequence backward stages the gain and its gradient shares.
 */
const modulated = defineCell({
  name: 'ModulatedBRC',
  cellState: true,
  params: [
    p.input('kz', 0),
    p.input('kr', 1),
    p.input('kh', 2),
    p.recurrent('mz', 0),
    p.recurrent('mr', 1),
    p.inputBias('bz', 0),
    p.inputBias('br', 1),
    p.pointwise('gain', 0),
  ],
  step: ({ P, R, M, h, c, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(R[0]).sub(0.25));
    const a = tanh(P[1].add(R[1]).add(M[0].mul(c))).add(1);
    const n = tanh(P[2].add(a.mul(h)));
    const cn = z.mul(c).add(z.neg().add(1).mul(n));
    const t = tanh(cn);
    return { h: t.mul(-0.5).add(n), c: cn, cache: [z, a, n, t] };
  },
});

/** BRC's per-unit memories with a cell state (pointwise-cell.ts). */
const pointwise = pointwiseCell('PointwiseBRC');

/** Worst relative error of every output and gradient of a 2-layer bidirectional RNN against reference. */
async function worstAgainstReference(
  cell: CellSpec,
  H: number,
  level: KernelLevel,
): Promise<[string, number]> {
  const be = await webgpuBackend();
  const ref = await getBackend('reference');
  const [B, T, I, L] = [3, 5, 2, 4];
  const make = (b: typeof ref, dtype: 'float32' | 'float64') =>
    new MultiLayerRNN(b, {
      cell,
      inputSize: I,
      hiddenSize: H,
      numLayers: 2,
      bidirectional: true,
      dtype,
      seed: 7,
      maxLevel: level,
    });
  const rng = new Rng(13);
  const x = { shape: [B, T, I], data: randn(rng, B * T * I) };
  const state = {
    h: { shape: [L, B, H], data: randn(rng, L * B * H, 0.5) },
    c: cell.hasCellState ? { shape: [L, B, H], data: randn(rng, L * B * H, 0.5) } : undefined,
  };
  const coef = { shape: [B, T, 2 * H], data: randn(rng, B * T * 2 * H) };
  const run = async (rnn: MultiLayerRNN) => {
    try {
      const out = await rnn.forward(x, state);
      const grads = await rnn.backward({
        output: coef,
        hN: { shape: [L, B, H], data: coef.data.slice(0, L * B * H) },
        cN: cell.hasCellState
          ? { shape: [L, B, H], data: coef.data.slice(L * B * H, 2 * L * B * H) }
          : undefined,
      });
      return { out, grads, params: await rnn.getGradients() };
    } finally {
      rnn.dispose();
    }
  };
  const want = await run(make(ref, 'float64'));
  const got = await run(make(be, 'float32'));
  const errs: Record<string, number> = {
    output: worstError(got.out.output.data, want.out.output.data),
    hN: worstError(got.out.hN.data, want.out.hN.data),
    'grad x': worstError(got.grads.x!.data, want.grads.x!.data),
    'grad h0': worstError(got.grads.h0.data, want.grads.h0.data),
  };
  if (cell.hasCellState) {
    errs.cN = worstError(got.out.cN!.data, want.out.cN!.data);
    errs['grad c0'] = worstError(got.grads.c0!.data, want.grads.c0!.data);
  }
  for (const [k, v] of Object.entries(want.params))
    errs[`grad ${k}`] = worstError(got.params[k].data, v.data);
  // a gradient that is zero everywhere would pass any relative check: these cells use every parameter
  for (const [k, v] of Object.entries(got.params))
    expect(
      v.data.some((d) => d !== 0),
      `grad ${k}`,
    ).toBe(true);
  return Object.entries(errs).sort((a, b) => b[1] - a[1])[0];
}

describe('WGSL rendering of a recipe', () => {
  it('writes every literal as an f32 WGSL reads, negative ones parenthesised', () => {
    expect(wgslLiteral(1)).toBe('1.0');
    expect(wgslLiteral(0)).toBe('0.0');
    expect(wgslLiteral(-0)).toBe('0.0');
    expect(wgslLiteral(0.25)).toBe('0.25');
    expect(wgslLiteral(-0.5)).toBe('(-0.5)');
    expect(wgslLiteral(1e-7)).toBe('1e-7');
    expect(wgslLiteral(-3)).toBe('(-3.0)');
  });

  it('renders the activations as the kernels’ helpers and keys caches by the CellSpec object', () => {
    const cw = cellWgsl(modulated);
    expect(cw.forward).toContain('sigm(');
    expect(cw.forward).toContain('tanhx(');
    expect(cw.forward).toContain('- 0.25');
    expect(cw.forward).toContain('* (-0.5)');
    expect(cw.forward).not.toMatch(/\bt\d+\b/);
    expect(cellWgsl(modulated)).toBe(cw);
    // same name, other math: a cache keyed by name would hand it the wrong kernels
    const twin = defineCell({
      name: 'ModulatedBRC',
      cellState: true,
      params: pointwiseParams,
      step: pointwiseStep,
    });
    expect(cellWgsl(twin).key).not.toBe(cw.key);
    // LSTM's dR is its dP (the step kernel copies it to stay within 8 bindings); nBRC's is not
    expect(cellSpec('LSTM').dREqualsDP).toBe(true);
    expect(cellSpec('nBRC').dREqualsDP).toBe(false);
    expect(modulated.dREqualsDP).toBe(false);
  });
});

describe.skipIf(!probe.ok)('tfjs-webgpu: the rendered kernels compile', () => {
  // first in this file, so that every pipeline it needs is created inside the error scope
  it('for the four built-in cells and the recipe cells, at the step and sequence levels', async () => {
    const be = await webgpuBackend();
    const device = wgslRunner().device;
    const created: GPUShaderModule[] = [];
    const make = device.createShaderModule.bind(device);
    device.createShaderModule = (d: GPUShaderModuleDescriptor) => {
      const m = make(d);
      created.push(m);
      return m;
    };
    device.pushErrorScope('validation');
    try {
      for (const cell of [...CELL_NAMES.map((n) => cellSpec(n)), modulated, pointwise]) {
        for (const level of [KERNEL_LEVEL.step, KERNEL_LEVEL.sequence] as KernelLevel[]) {
          const rnn = new MultiLayerRNN(be, {
            cell,
            inputSize: 1,
            hiddenSize: 5,
            numLayers: 1,
            seed: 1,
            maxLevel: level,
          });
          try {
            const x = { shape: [2, 3, 1], data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6] };
            await rnn.forward(x);
            await rnn.backward({ output: { shape: [2, 3, 5], data: new Array(30).fill(0.1) } });
          } finally {
            rnn.dispose();
          }
        }
      }
      await be.sync();
    } finally {
      device.createShaderModule = make;
    }
    expect(await device.popErrorScope()).toBeNull();
    expect(created.length).toBeGreaterThan(0);
    for (const m of created) {
      const info = await m.getCompilationInfo();
      const errors = info.messages.filter((msg) => msg.type === 'error').map((msg) => msg.message);
      expect(errors, m.label).toEqual([]);
    }
  });
});

describe.skipIf(!probe.ok)('tfjs-webgpu: cells defined with defineCell', () => {
  it('are offered at every level', async () => {
    const be = await webgpuBackend();
    for (const cell of [modulated, pointwise]) expect(kernelLevels(be, cell)).toEqual([1, 2, 3]);
  });

  const cases: [CellSpec, number][] = [
    [modulated, 37],
    [pointwise, 37],
  ];
  for (const [cell, H] of cases) {
    for (const level of [KERNEL_LEVEL.host, KERNEL_LEVEL.step, KERNEL_LEVEL.sequence] as KernelLevel[]) {
      it(`${cell.name}, H=${H}, 2 bidirectional layers, level ${level}, matches the reference backend`, async () => {
        const [what, err] = await worstAgainstReference(cell, H, level);
        expect(err, what).toBeLessThan(1e-4);
      });
    }
  }

  it('ModulatedBRC with two units per thread (H=300) at the sequence level', async () => {
    const [what, err] = await worstAgainstReference(modulated, 300, KERNEL_LEVEL.sequence);
    expect(err, what).toBeLessThan(1e-4);
  });
});
