import { type DeviceBuffer, type GemmArgs, Rng } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { webgpuGemmMany } from '../src/webgpu/gemm-many-kernel.js';
import { type WebgpuTfjsBackend, wgslRunner } from '../src/webgpu/index.js';
import { gemmBiasHost, gemmShape } from './host-gemm.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * Grouped GEMMs (webgpuGemmMany, core's Backend.gemmMany) against float64 host GEMMs run one by
 * one, and the dispatches they take. Skipped without a WebGPU adapter
 * (eval "$(bash scripts/lavapipe.sh)").
 */
logSkip('WebGPU gemmMany tests');

/** A GEMM over named host buffers (each buffer a name; views name their parent and offset). */
interface Spec {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  a: string;
  aOffset?: number;
  lda?: number;
  b: string;
  bOffset?: number;
  ldb?: number;
  c: string;
  cOffset?: number;
  ldc?: number;
  bias?: string;
  biasOffset?: number;
  biasLength?: number;
}

/** Host buffers of random values, their device copies, and host GEMMs in float64 to compare with. */
class Harness {
  readonly host = new Map<string, Float32Array>();
  readonly dev = new Map<string, DeviceBuffer>();
  private readonly owned: DeviceBuffer[] = [];
  private readonly rng: Rng;

  constructor(
    readonly be: WebgpuTfjsBackend,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  buffer(name: string, length: number, nanAt: number[] = []): void {
    const x = Float32Array.from({ length }, () => this.rng.normal());
    for (const i of nanAt) x[i] = Number.NaN;
    this.host.set(name, x);
    const d = this.be.alloc(length, 'float32');
    this.be.write(d, x);
    this.dev.set(name, d);
    this.owned.push(d);
  }

  /** The device buffer of `name`, or, as `parent@offset+length`, a view of one (Backend.view). */
  private device(name: string): DeviceBuffer {
    const at = /^(\w+)@(\d+)\+(\d+)$/.exec(name);
    if (!at) return this.dev.get(name)!;
    return this.be.view(this.dev.get(at[1])!, Number(at[2]), Number(at[3]));
  }

  /** The host buffer and the element offset of `name` in it. */
  private hostOf(name: string): [Float32Array, number] {
    const at = /^(\w+)@(\d+)\+(\d+)$/.exec(name);
    return at ? [this.host.get(at[1])!, Number(at[2])] : [this.host.get(name)!, 0];
  }

  args(specs: readonly Spec[]): GemmArgs[] {
    return specs.map((s) => {
      const f = gemmShape(s);
      return {
        ...f,
        a: this.device(s.a),
        b: this.device(s.b),
        c: this.device(s.c),
        bias: s.bias ? this.device(s.bias) : null,
      };
    });
  }

  /** Runs the GEMMs one by one on float64 copies of the host buffers (which become the truth). */
  hostRun(specs: readonly Spec[]): void {
    const wide = new Map([...this.host].map(([k, v]) => [k, Float64Array.from(v)]));
    for (const s of specs) {
      const f = gemmShape(s);
      const [a, ao] = this.hostOf(s.a);
      const [b, bo] = this.hostOf(s.b);
      const [cHost, co] = this.hostOf(s.c);
      const cName = [...this.host].find(([, v]) => v === cHost)![0];
      const [bias, biasAt] = s.bias ? this.hostOf(s.bias) : [null, 0];
      const g = {
        ...f,
        aOffset: f.aOffset + ao,
        bOffset: f.bOffset + bo,
        cOffset: f.cOffset + co,
        biasOffset: biasAt + (f.biasOffset ?? 0),
      };
      gemmBiasHost(g, a, b, wide.get(cName)!, bias);
    }
    for (const [k, v] of wide) this.host.set(k, Float32Array.from(v));
    this.truth = wide;
  }

  truth = new Map<string, Float64Array>();

  /** The worst error over every buffer against the host's truth. */
  async worst(): Promise<[string, number]> {
    let worst: [string, number] = ['', 0];
    for (const [name, d] of this.dev) {
      const e = worstError(await this.be.read(d), this.truth.get(name)!);
      if (e > worst[1] || Number.isNaN(e)) worst = [name, e];
    }
    return worst;
  }

  dispose(): void {
    for (const d of this.owned) this.be.dispose(d);
  }
}

/** Dispatches of the WGSL runner during `f` (its work recorded, then waited for). */
async function dispatchesOf(be: WebgpuTfjsBackend, f: () => void): Promise<number> {
  const stats = wgslRunner().stats;
  await be.sync();
  const before = stats.dispatches;
  f();
  await be.sync();
  return stats.dispatches - before;
}

/**
 * The deferred weight gradients of a 2-layer nBRC model with a linear readout on the last step
 * (I inputs, T steps, B batch, H units, one output), all written into one gradient buffer `g`
 * at consecutive places; biases and the readout accumulate (beta 1), as core's do.
 */
function nbrcGradients(
  I: number,
  T: number,
  B: number,
  H: number,
  grads = (o: number, l: number) => `g@${o}+${l}`,
  align = 1,
) {
  const TB = T * B;
  const buffers: [string, number][] = [
    ['x', TB * I],
    ['dP1', TB * 3 * H],
    ['h1', (T + 1) * B * H],
    ['dR1', TB * 2 * H],
    ['ones', TB],
    ['dP2', TB * 3 * H],
    ['h2', (T + 1) * B * H],
    ['dR2', TB * 2 * H],
    ['dy', B],
  ];
  let at = 0;
  const place = (len: number) => {
    const here = at;
    at += Math.ceil(len / align) * align;
    return grads(here, len);
  };
  const specs: Spec[] = [];
  for (const [l, x, xOff, fan] of [
    [1, 'x', 0, I],
    [2, 'h1', B * H, H],
  ] as const) {
    const dP = `dP${l}`;
    const h = `h${l}`;
    // dWx = Xᵀ·dP, dWh = Hprevᵀ·dR, dbx = onesᵀ·dP[:, :2H]
    specs.push({ m: fan, n: 3 * H, k: TB, transA: true, a: x, aOffset: xOff, b: dP, c: place(fan * 3 * H) });
    specs.push({ m: H, n: 2 * H, k: TB, transA: true, a: h, b: `dR${l}`, c: place(2 * H * H) });
    specs.push({ m: 1, n: 2 * H, k: TB, a: 'ones', b: dP, ldb: 3 * H, c: place(2 * H), beta: 1 });
  }
  // readout: dW = dyᵀ·hN, db = onesᵀ·dy
  specs.push({ m: 1, n: H, k: B, transA: true, a: 'dy', b: 'h2', bOffset: T * B * H, c: place(H), beta: 1 });
  specs.push({ m: 1, n: 1, k: B, a: 'ones', b: 'dy', c: place(1), beta: 1 });
  return { buffers, specs, gradLength: at };
}

describe.skipIf(!probe.ok)('tfjs-webgpu: grouped GEMMs (gemmMany)', () => {
  it('mixed GEMMs (transposes, offsets, leading dimensions, alpha/beta, biases, split and unsplit K) match host GEMMs', async () => {
    const be = await webgpuBackend();
    const h = new Harness(be, 21);
    for (const [name, len] of [
      ['a0', 200],
      ['b0', 200],
      ['a1', 33 * 75],
      ['b1', 33 * 131],
      ['ab2', 65 * 20 + 3 * 17 + 8],
      ['a3', 700 * 10],
      ['b3', 12 * 701],
      ['ab4', 3 * 1200 + 1200 * 150],
      ['bias', 200],
    ] as const)
      h.buffer(name, len);
    // every C is a range of one buffer; beta = 0 must not read the NaN there
    h.buffer('c', 20000, [0, 10000]);
    const specs: Spec[] = [
      {
        m: 5,
        n: 7,
        k: 9,
        a: 'a0',
        aOffset: 3,
        lda: 11,
        b: 'b0',
        bOffset: 1,
        ldb: 8,
        c: 'c',
        ldc: 9,
        bias: 'bias',
      },
      {
        m: 70,
        n: 130,
        k: 33,
        transA: true,
        a: 'a1',
        lda: 75,
        b: 'b1',
        ldb: 131,
        c: 'c',
        cOffset: 100,
        ldc: 131,
        beta: 1,
      },
      {
        m: 65,
        n: 3,
        k: 17,
        transB: true,
        alpha: 2,
        beta: -0.5,
        a: 'ab2',
        lda: 20,
        b: 'ab2',
        bOffset: 65 * 20,
        c: 'c',
        cOffset: 9300,
        bias: 'bias',
        biasOffset: 10,
        biasLength: 2,
      },
      {
        m: 9,
        n: 12,
        k: 700,
        transA: true,
        transB: true,
        a: 'a3',
        lda: 10,
        b: 'b3',
        ldb: 701,
        c: 'c',
        cOffset: 9600,
        ldc: 13,
        beta: 1,
        bias: 'bias',
        biasOffset: 50,
        biasLength: 5,
      },
      { m: 3, n: 150, k: 1200, alpha: 0.5, a: 'ab4', b: 'ab4', bOffset: 3600, c: 'c', cOffset: 10000 },
      { m: 0, n: 4, k: 3, a: 'a0', b: 'b0', c: 'c', cOffset: 19000 },
      { m: 4, n: 6, k: 0, beta: 0.5, a: 'a0', b: 'b0', c: 'c', cOffset: 19900, bias: 'bias' },
    ];
    webgpuGemmMany(h.args(specs));
    h.hostRun(specs);
    const [name, err] = await h.worst();
    expect(err, name).toBeLessThan(1e-5 * Math.sqrt(1201));
    h.dispose();
  });

  it("a 2-layer model's weight gradients: 2 grouped dispatches and 1 reduce, the same pipelines every step", async () => {
    const be = await webgpuBackend();
    const h = new Harness(be, 4);
    const { buffers, specs, gradLength } = nbrcGradients(1, 80, 8, 8, (o) => `g:${o}`);
    for (const [name, len] of buffers) h.buffer(name, len);
    h.buffer('g', gradLength);
    // plain buffers here: each gradient is its own place in g (cOffset), not a view
    const plain = specs.map((s) => {
      const [c, o] = s.c.split(':');
      return { ...s, c, cOffset: Number(o) };
    });
    const runner = wgslRunner();
    const n = await dispatchesOf(be, () => webgpuGemmMany(h.args(plain)));
    h.hostRun(plain);
    const [first, firstErr] = await h.worst();
    expect(firstErr, first).toBeLessThan(1e-4);
    // k = T·B = 640 splits the long GEMMs: 2 grouped dispatches (10 buffers and the scratch do
    // not fit 8 bindings) and 1 reduce
    expect(n).toBe(3);
    const pipelines = runner.stats.pipelines;
    // a second step accumulates into the same buffers without compiling anything
    expect(await dispatchesOf(be, () => webgpuGemmMany(h.args(plain)))).toBe(n);
    expect(runner.stats.pipelines).toBe(pipelines);
    h.hostRun(plain);
    const [name, err] = await h.worst();
    expect(err, name).toBeLessThan(1e-4);
    h.dispose();
  });

  it('a list of one costs what webgpuGemm costs; an empty list or one of empty GEMMs costs nothing', async () => {
    const be = await webgpuBackend();
    for (const k of [30, 1500]) {
      const h = new Harness(be, k);
      h.buffer('a', 9 * k);
      h.buffer('b', k * 11);
      h.buffer('c', 99);
      h.buffer('bias', 11);
      const spec: Spec = { m: 9, n: 11, k, a: 'a', b: 'b', c: 'c', beta: 1, bias: 'bias', biasLength: 7 };
      const [g] = h.args([spec]);
      const single = await dispatchesOf(be, () => be.gemm(g));
      h.hostRun([spec]);
      const many = await dispatchesOf(be, () => webgpuGemmMany([g]));
      h.hostRun([spec]);
      expect(many, `k ${k}`).toBe(single);
      expect(many, `k ${k}`).toBe(k > 1000 ? 2 : 1);
      const [name, err] = await h.worst();
      expect(err, `${name}, k ${k}`).toBeLessThan(1e-5 * Math.sqrt(k + 1));
      expect(await dispatchesOf(be, () => webgpuGemmMany([]))).toBe(0);
      expect(
        await dispatchesOf(be, () =>
          webgpuGemmMany([
            { ...g, m: 0 },
            { ...g, n: 0 },
          ]),
        ),
      ).toBe(0);
      h.dispose();
    }
  });

  it("packs GEMMs whose buffers exceed the device's bindings into several dispatches", async () => {
    const be = await webgpuBackend();
    const h = new Harness(be, 8);
    const specs: Spec[] = [];
    for (let i = 0; i < 10; i++) {
      h.buffer(`a${i}`, 6 * 5);
      h.buffer(`b${i}`, 5 * 7);
      h.buffer(`c${i}`, 6 * 7);
      specs.push({ m: 6, n: 7, k: 5, a: `a${i}`, b: `b${i}`, c: `c${i}`, beta: i % 2, alpha: i + 1 });
    }
    const limit = wgslRunner().device.limits.maxStorageBuffersPerShaderStage;
    const n = await dispatchesOf(be, () => webgpuGemmMany(h.args(specs)));
    h.hostRun(specs);
    // three buffers of their own each: floor(limit / 3) GEMMs per dispatch
    expect(n).toBe(Math.ceil(10 / Math.floor(limit / 3)));
    const [name, err] = await h.worst();
    expect(err, name).toBeLessThan(1e-5 * Math.sqrt(6));
    h.dispose();
  });

  it('refuses a GEMM whose block overruns its buffer, naming its place in the list', async () => {
    const be = await webgpuBackend();
    const h = new Harness(be, 2);
    h.buffer('a', 12);
    h.buffer('c', 12);
    const ok: Spec = { m: 3, n: 3, k: 3, a: 'a', b: 'a', c: 'c' };
    expect(() => webgpuGemmMany(h.args([ok, ok, { ...ok, cOffset: 4 }]))).toThrow(
      /gemmMany\[2\]: a 3×3 block of C \(ld 3\) at 4 overruns a buffer of 12/,
    );
    expect(() => webgpuGemmMany(h.args([{ ...ok, bias: 'a', biasOffset: 10 }]))).toThrow(
      /gemmMany\[0\]: a bias row of 3 values at 10 overruns/,
    );
    h.dispose();
  });

  it('views of one buffer (gradients as views) share one binding', async () => {
    const be = await webgpuBackend();
    const h = new Harness(be, 6);
    const align = be.viewAlign;
    const { buffers, specs, gradLength } = nbrcGradients(2, 60, 9, 8, undefined, align);
    for (const [name, len] of buffers) h.buffer(name, len);
    h.buffer('g', gradLength + 9 * 20 * align);
    const n = await dispatchesOf(be, () => webgpuGemmMany(h.args(specs)));
    h.hostRun(specs);
    // 2 grouped dispatches and 1 reduce, as with plain buffers (the views share g's binding)
    expect(n).toBe(3);
    const [name, err] = await h.worst();
    expect(err, name).toBeLessThan(1e-4);
    // nine outputs as views of one buffer, all from one A and one B: one dispatch
    const nine: Spec[] = Array.from({ length: 9 }, (_, i) => ({
      m: 4,
      n: 5,
      k: 6,
      a: 'x',
      aOffset: i,
      b: 'dP1',
      bOffset: 2 * i,
      c: `g@${gradLength + i * 20 * align}+20`,
      beta: i % 2,
    }));
    expect(await dispatchesOf(be, () => webgpuGemmMany(h.args(nine)))).toBe(1);
    h.hostRun(nine);
    const [name2, err2] = await h.worst();
    expect(err2, name2).toBeLessThan(1e-5 * Math.sqrt(7));
    h.dispose();
  });
});
