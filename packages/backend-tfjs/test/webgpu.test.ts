import {
  Adam,
  adamHost,
  CELL_NAMES,
  type CellName,
  gemmHost,
  getBackend,
  type KernelLevel,
  kernelLevels,
  MultiLayerRNN,
  Rng,
  SequenceModel,
} from '@bistable/core';
import {
  bundledGoldenPath,
  conformanceCases,
  loadGolden,
  worstError as maxRelErr,
} from '@bistable/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { tfjsBuffer } from '../src/buffer.js';
import { wgslRunner } from '../src/webgpu/index.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * The WGSL kernels on a real WebGPU adapter. Without one (CI without lavapipe) every test here is
 * skipped with the reason printed; with VK_ICD_FILENAMES pointing at lavapipe
 * (eval "$(bash scripts/lavapipe.sh)") they run on the CPU.
 */
logSkip('WebGPU tests');
const golden = await loadGolden(bundledGoldenPath());

const randn = (rng: Rng, n: number, scale = 1) =>
  Float64Array.from({ length: n }, () => rng.normal() * scale);

// the cases are the levels this backend instance offers for each cell
const offering = probe.ok ? await webgpuBackend() : null;

describe.skipIf(!probe.ok)('tfjs-webgpu: oracle conformance through WGSL (float32)', () => {
  it('offers the step and sequence levels for every built-in cell', () => {
    for (const cell of CELL_NAMES) expect(kernelLevels(offering!, cell)).toEqual([1, 2, 3]);
  });
  for (const c of offering ? conformanceCases(golden, offering) : []) {
    it(`${c.id} at level ${c.level}`, async () => {
      const r = await c.run(await webgpuBackend(), 'float32');
      expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
    });
  }
});

describe.skipIf(!probe.ok)('tfjs-webgpu: fused kernels against the float64 reference backend', () => {
  // H = 300 gives each thread two units (workgroups of 256); H = 37 leaves remainders everywhere
  const cases: [CellName, number, KernelLevel][] = [
    ['nBRC', 300, 3],
    ['GRU', 37, 3],
    ['LSTM', 37, 3],
    ['BRC', 37, 3],
    ['LSTM', 37, 2],
    ['BRC', 37, 2],
  ];
  for (const [cell, H, level] of cases) {
    it(`${cell}, H=${H}, 2 bidirectional layers, level ${level}`, async () => {
      const be = await webgpuBackend();
      const ref = await getBackend('reference');
      const [B, T, I] = [3, 5, 2];
      const L = 4;
      const make = (b: typeof ref, dtype: 'float32' | 'float64') =>
        new MultiLayerRNN(b, {
          cell,
          inputSize: I,
          hiddenSize: H,
          numLayers: 2,
          bidirectional: true,
          dtype,
          seed: 5,
          maxLevel: level,
        });
      const rng = new Rng(11);
      const x = { shape: [B, T, I], data: randn(rng, B * T * I) };
      const state = {
        h: { shape: [L, B, H], data: randn(rng, L * B * H, 0.5) },
        c: cell === 'LSTM' ? { shape: [L, B, H], data: randn(rng, L * B * H, 0.5) } : undefined,
      };
      const coef = { shape: [B, T, 2 * H], data: randn(rng, B * T * 2 * H) };
      const run = async (rnn: MultiLayerRNN) => {
        try {
          const out = await rnn.forward(x, state);
          const grads = await rnn.backward({
            output: coef,
            hN: { shape: [L, B, H], data: coef.data.slice(0, L * B * H) },
          });
          return { out, grads, params: await rnn.getGradients() };
        } finally {
          rnn.dispose();
        }
      };
      const want = await run(make(ref, 'float64'));
      const got = await run(make(be, 'float32'));
      const errs: Record<string, number> = {
        output: maxRelErr(got.out.output.data, want.out.output.data),
        hN: maxRelErr(got.out.hN.data, want.out.hN.data),
        'grad x': maxRelErr(got.grads.x!.data, want.grads.x!.data),
        'grad h0': maxRelErr(got.grads.h0.data, want.grads.h0.data),
      };
      if (cell === 'LSTM') {
        errs.cN = maxRelErr(got.out.cN!.data, want.out.cN!.data);
        errs['grad c0'] = maxRelErr(got.grads.c0!.data, want.grads.c0!.data);
      }
      for (const [k, v] of Object.entries(want.params))
        errs[`grad ${k}`] = maxRelErr(got.params[k].data, v.data);
      const worst = Object.entries(errs).sort((a, b) => b[1] - a[1])[0];
      expect(worst[1], `${worst[0]}`).toBeLessThan(1e-4);
    });
  }
});

describe.skipIf(!probe.ok)('tfjs-webgpu: WGSL GEMM, copy, fill and Adam', () => {
  it('GEMM matches core gemmHost over transposes, offsets, leading dimensions, alpha/beta and split-K', async () => {
    const be = await webgpuBackend();
    const rng = new Rng(3);
    // [m, n, k, transA, transB, alpha, beta]
    const shapes: [number, number, number, boolean, boolean, number, number][] = [
      [3, 4, 5, false, false, 1, 0],
      [70, 130, 33, true, false, 1, 1],
      [65, 3, 17, false, true, 2, -0.5],
      [40, 66, 20, true, true, 1, 0],
      [5, 7, 1500, true, false, 1, 0],
      [1, 300, 2000, false, false, 1, 1],
      [4, 6, 0, false, false, 1, 0.5],
    ];
    for (const [m, n, k, transA, transB, alpha, beta] of shapes) {
      const [ar, ac] = transA ? [k, m] : [m, k];
      const [br, bc] = transB ? [n, k] : [k, n];
      const lda = ac + 3;
      const ldb = bc + 1;
      const ldc = n + 2;
      const aOffset = 5;
      const bOffset = 2;
      const cOffset = 7;
      const aLen = aOffset + Math.max(0, ar - 1) * lda + ac + 4;
      const bLen = bOffset + Math.max(0, br - 1) * ldb + bc + 4;
      const cLen = cOffset + (m - 1) * ldc + n + 4;
      const a = Float32Array.from(randn(rng, aLen));
      const b = Float32Array.from(randn(rng, bLen));
      const c = Float32Array.from(randn(rng, cLen));
      // beta = 0 must ignore what C held, NaN included
      if (beta === 0) c[cOffset] = Number.NaN;
      const [ga, gb, gc] = [be.alloc(aLen, 'float32'), be.alloc(bLen, 'float32'), be.alloc(cLen, 'float32')];
      be.write(ga, a);
      be.write(gb, b);
      be.write(gc, c);
      const args = { transA, transB, m, n, k, alpha, beta, aOffset, lda, bOffset, ldb, cOffset, ldc };
      be.gemm({ ...args, a: ga, b: gb, c: gc });
      const want = Float64Array.from(c);
      gemmHost({ ...args, a: Float64Array.from(a), b: Float64Array.from(b), c: want });
      const got = await be.read(gc);
      expect(maxRelErr(got, want), `${m}×${n}×${k} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`).toBeLessThan(
        1e-5 * Math.sqrt(k + 1),
      );
      for (const buf of [ga, gb, gc]) be.dispose(buf);
    }
  });

  it('copy and fill write in place; reads after them see the new values; shared tensors are copied on write', async () => {
    const be = await webgpuBackend();
    const a = be.alloc(10, 'float32');
    be.write(a, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(await be.read(a))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    be.fill(a, 7, 2, 3);
    expect(Array.from(await be.read(a))).toEqual([0, 1, 7, 7, 7, 5, 6, 7, 8, 9]);
    // b shares a's tensor storage (what tf.clone does): writing b must leave a alone
    const b = be.alloc(10, 'float32');
    be.activate();
    tfjsBuffer(b).replace(tf.clone(tfjsBuffer(a).tensor));
    be.fill(b, -1, 0, 10);
    be.copy(a, 0, b, 5, 5);
    expect(Array.from(await be.read(a))).toEqual([0, 1, 7, 7, 7, 5, 6, 7, 8, 9]);
    expect(Array.from(await be.read(b))).toEqual([-1, -1, -1, -1, -1, 0, 1, 7, 7, 7]);
    expect(() => be.fill(a, 0, 8, 5)).toThrow(RangeError);
    be.dispose(a);
    be.dispose(b);
  });

  it('Adam matches core adamHost over several steps, with weight decay', async () => {
    const be = await webgpuBackend();
    const rng = new Rng(9);
    const n = 1000;
    const host = {
      param: Float32Array.from(randn(rng, n)),
      grad: Float32Array.from(randn(rng, n)),
      m: new Float32Array(n),
      v: new Float32Array(n),
    };
    const dev = {
      param: be.alloc(n, 'float32'),
      grad: be.alloc(n, 'float32'),
      m: be.alloc(n, 'float32'),
      v: be.alloc(n, 'float32'),
    };
    be.write(dev.param, host.param);
    be.write(dev.grad, host.grad);
    const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    for (let step = 1; step <= 3; step++) {
      adamHost({ ...host, ...hyper, step });
      be.adam({ ...dev, ...hyper, step });
    }
    expect(maxRelErr(await be.read(dev.param), host.param)).toBeLessThan(1e-6);
    expect(maxRelErr(await be.read(dev.m), host.m)).toBeLessThan(1e-6);
    expect(maxRelErr(await be.read(dev.v), host.v)).toBeLessThan(1e-6);
    for (const b of Object.values(dev)) be.dispose(b);
  });
});

interface Counts {
  dispatches: number;
  passes: number;
  submits: number;
  copies: number;
  readbacks: number;
}

/** Counts what a call records on the device, by wrapping the WebGPU prototypes for its duration. */
async function counted(f: () => Promise<void>): Promise<Counts> {
  const c: Counts = { dispatches: 0, passes: 0, submits: 0, copies: 0, readbacks: 0 };
  const g = globalThis as unknown as Record<
    string,
    { prototype: Record<string, (...a: unknown[]) => unknown> }
  >;
  const wraps: [string, string, keyof Counts][] = [
    ['GPUComputePassEncoder', 'dispatchWorkgroups', 'dispatches'],
    ['GPUCommandEncoder', 'beginComputePass', 'passes'],
    ['GPUCommandEncoder', 'copyBufferToBuffer', 'copies'],
    ['GPUQueue', 'submit', 'submits'],
    ['GPUBuffer', 'mapAsync', 'readbacks'],
  ];
  const saved = wraps.map(([cls, fn, key]) => {
    const proto = g[cls].prototype;
    const orig = proto[fn];
    proto[fn] = function (this: unknown, ...args: unknown[]) {
      c[key]++;
      return orig.apply(this, args);
    };
    return () => {
      proto[fn] = orig;
    };
  });
  try {
    await f();
  } finally {
    for (const restore of saved) restore();
  }
  return c;
}

describe.skipIf(!probe.ok)('tfjs-webgpu: a training step at level 3 records no per-step work', () => {
  for (const cell of CELL_NAMES) {
    it(`${cell}: same device work for T=5 and T=20, one readback (the predictions)`, async () => {
      const be = await webgpuBackend();
      const B = 4;
      const H = 16;
      const perT: Record<number, { counts: Counts; ms: number }> = {};
      for (const T of [5, 20]) {
        const rng = new Rng(1);
        const x = Float32Array.from({ length: B * T }, () => rng.uniform() * 2 - 1);
        const y = Float32Array.from({ length: B }, (_, b) => x[b * T]);
        const model = new SequenceModel(be, {
          cell,
          inputSize: 1,
          hiddenSize: H,
          numLayers: 2,
          readout: 'last',
          loss: 'mse',
          seed: 1,
        });
        const opt = new Adam(be, [model]);
        const step = async () => {
          await model.lossAndGradients({ shape: [B, T, 1], data: x }, { shape: [B, 1], data: y });
          await opt.step();
        };
        await step(); // compiles the shaders
        await be.sync();
        const counts = await counted(step);
        await be.sync();
        const t0 = performance.now();
        await step();
        await be.sync();
        perT[T] = { counts, ms: performance.now() - t0 };
        model.dispose();
      }
      console.log(
        `[tfjs-webgpu] ${cell} training step (B=${B}, H=${H}, 2 layers): ${JSON.stringify(perT[5].counts)}; ` +
          `${perT[5].ms.toFixed(1)} ms at T=5, ${perT[20].ms.toFixed(1)} ms at T=20; WGSL pipelines so far ${wgslRunner().stats.pipelines}`,
      );
      expect(perT[20].counts).toEqual(perT[5].counts);
      expect(perT[5].counts.readbacks).toBe(1);
    });
  }
});
