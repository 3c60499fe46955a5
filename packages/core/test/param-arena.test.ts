import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Backend,
  type CellName,
  CpuBackend,
  cellSpec,
  type DeviceBuffer,
  type DType,
  dataOf,
  type GemmArgs,
  getBackend,
  type LinearLossArgs,
  type LossKind,
  type Readout,
  Rng,
  SequenceModel,
} from '../src/index.js';
import { ParamArena } from '../src/params/arena.js';
import { forwarding, randn } from './helpers.js';

const reference = await getBackend('reference');
const cpu = await CpuBackend.create({ threads: 1 });

const [B, T, I, H, O] = [5, 6, 2, 4, 3];

function model(
  be: Backend,
  cell: CellName,
  readout: Readout,
  loss: LossKind,
  dtype: DType,
  bidirectional = false,
) {
  const m = new SequenceModel(be, {
    cell,
    inputSize: I,
    hiddenSize: H,
    numLayers: 2,
    bidirectional,
    outputSize: O,
    readout,
    loss,
    dtype,
    seed: 3,
  });
  return { model: m, adam: new Adam(be, [m], { lr: 0.05, weightDecay: 0.01 }) };
}

function batches(readout: Readout, loss: LossKind, steps: number) {
  const rng = new Rng(11);
  return Array.from({ length: steps }, () => {
    const x = randn(rng, [B, T, I]);
    const y = randn(rng, readout === 'last' ? [B, O] : [B, T, O]);
    if (loss === 'bce') for (let i = 0; i < y.data.length; i++) y.data[i] = y.data[i] > 0 ? 1 : 0;
    return { x, y };
  });
}

/** The same backend without views: every parameter in a buffer of its own, Adam once per buffer. */
function withoutViews(be: Backend): Backend {
  return forwarding(be, { adam: be.adam && ((a) => be.adam!(a)), gemmBias: be.gemmBias });
}

/** The backend with views, logging its optimizer passes and batched GEMMs. */
function logged(be: Backend, extra: Partial<Backend> = {}) {
  const log = {
    adam: 0,
    gemmMany: [] as number[],
    gemmOutputs: [] as DeviceBuffer[],
    manyOutputs: [] as DeviceBuffer[],
  };
  const wrapped = forwarding(be, {
    gemm: (g: GemmArgs) => {
      log.gemmOutputs.push(g.c);
      be.gemm(g);
    },
    view: (b, o, n) => be.view!(b, o, n),
    viewAlign: be.viewAlign,
    gemmBias: be.gemmBias,
    adam: (a) => {
      log.adam++;
      be.adam!(a);
    },
    gemmMany: (list: readonly GemmArgs[]) => {
      log.gemmMany.push(list.length);
      for (const g of list) {
        log.manyOutputs.push(g.c);
        be.gemm(g);
      }
    },
    ...extra,
  });
  return { be: wrapped, log };
}

async function trainBoth(
  a: Backend,
  b: Backend,
  cell: CellName,
  readout: Readout,
  loss: LossKind,
  dtype: DType,
  bidi = false,
  tol = 0,
) {
  const x = model(a, cell, readout, loss, dtype, bidi);
  const y = model(b, cell, readout, loss, dtype, bidi);
  for (const { x: xs, y: ys } of batches(readout, loss, 3)) {
    const ra = await x.model.trainStep(xs, ys, x.adam);
    const rb = await y.model.trainStep(xs, ys, y.adam);
    if (tol === 0) expect(rb.loss).toBe(ra.loss);
    else expect(Math.abs(rb.loss - ra.loss)).toBeLessThan(tol);
  }
  return { x, y };
}

async function expectSameParameters(a: SequenceModel, b: SequenceModel) {
  const pa = await a.getParameters();
  const pb = await b.getParameters();
  for (const k of Object.keys(pa)) expect(Array.from(pb[k].data), k).toEqual(Array.from(pa[k].data));
}

describe('parameters in one arena', () => {
  for (const cell of ['nBRC', 'BRC', 'GRU', 'LSTM'] as CellName[]) {
    for (const [readout, loss, bidi] of [
      ['last', 'mse', false],
      ['sequence', 'bce', true],
    ] as [Readout, LossKind, boolean][]) {
      it(`${cell} ${readout}/${loss}${bidi ? ' bidirectional' : ''}: trains bit for bit as separate buffers (reference, float64)`, async () => {
        const { be, log } = logged(reference);
        const { x, y } = await trainBoth(withoutViews(reference), be, cell, readout, loss, 'float64', bidi);
        await expectSameParameters(x.model, y.model);
        // one optimizer pass per step, and every weight gradient in one batch per step: the same
        // batch each step, every GEMM-made gradient in it, and no plain GEMM writing one
        expect(log.adam).toBe(3);
        expect(log.gemmMany).toEqual(Array(3).fill(log.gemmMany[0]));
        const grads = new Set(y.model.parameters().map((p) => p.grad));
        expect(log.gemmOutputs.filter((c) => grads.has(c))).toEqual([]);
        const batched = new Set(log.manyOutputs);
        const weights = y.model
          .parameters()
          .filter((p) => /\.(wx|wh|weight)$/.test(p.name) && p.grad.length > 0);
        // the input (and recurrent, but for BRC) weights of every layer and direction, the readout's
        expect(weights.length).toBe((bidi ? 2 : 1) * 2 * (cellSpec(cell).gr > 0 ? 2 : 1) + 1);
        for (const w of weights) expect(batched.has(w.grad), w.name).toBe(true);
      });
    }
  }

  it('cpu float32: the arena trains bit for bit as separate buffers, and its padding stays zero', async () => {
    const { x, y } = await trainBoth(withoutViews(cpu), cpu, 'GRU', 'last', 'mse', 'float32');
    await expectSameParameters(x.model, y.model);
    // every parameter is a view of one buffer, aligned to the backend's cache lines (16 floats)
    const params = y.model.parameters();
    const whole = params.reduce((n, p) => n + Math.ceil(p.value.length / 16) * 16, 0);
    const arena = (y.model as unknown as { ownArena: ParamArena }).ownArena;
    expect(arena.values!.length).toBe(whole);
    expect(arena.offsets.every((o) => o % 16 === 0)).toBe(true);
    const all = await cpu.read(arena.values!);
    const covered = new Uint8Array(all.length);
    for (const [i, o] of arena.offsets.entries()) covered.fill(1, o, o + arena.lengths[i]);
    for (let i = 0; i < all.length; i++) if (!covered[i]) expect(all[i]).toBe(0);
  });

  it('the optimizer state saves and loads per parameter, and training goes on identically', async () => {
    const a = model(reference, 'nBRC', 'last', 'mse', 'float64');
    const data = batches('last', 'mse', 4);
    for (const { x, y } of data.slice(0, 2)) await a.model.trainStep(x, y, a.adam);
    const b = model(reference, 'nBRC', 'last', 'mse', 'float64');
    b.model.setParameters(await a.model.getParameters());
    const state = await a.adam.state();
    expect(Object.keys(state.slots).length).toBe(2 * a.model.parameters().length);
    b.adam.loadState(state);
    for (const { x, y } of data.slice(2)) {
      const ra = await a.model.trainStep(x, y, a.adam);
      const rb = await b.model.trainStep(x, y, b.adam);
      expect(rb.loss).toBe(ra.loss);
    }
    await expectSameParameters(a.model, b.model);
  });

  it('an optimizer over part of the arena updates per parameter (the rest is not its to touch)', async () => {
    const { be, log } = logged(reference);
    const m = model(be, 'BRC', 'last', 'mse', 'float64').model;
    const only = new Adam(be, [{ parameters: () => m.parameters().slice(0, 2) }]);
    const before = await m.getParameters();
    const [{ x, y }] = batches('last', 'mse', 1);
    await m.lossAndGradients(x, y);
    await only.step();
    expect(log.adam).toBe(2);
    const after = await m.getParameters();
    expect(Array.from(after['fc.weight'].data)).toEqual(Array.from(before['fc.weight'].data));
  });

  it('refuses a request that differs from its plan', () => {
    const arena = new ParamArena(reference, 'float64', [4, 2]);
    arena.take(4);
    expect(() => arena.take(3)).toThrow('parameter 1 of the arena asked for 3 values, planned 2');
    expect(arena.complete).toBe(false);
  });
});

describe('Backend.view', () => {
  it('reference and cpu: a view is the parent’s memory, with clear errors', async () => {
    for (const be of [reference, cpu]) {
      const parent = be.alloc(40, 'float32');
      const v = be.view!(parent, 16, 4);
      be.write(v, [1, 2, 3, 4]);
      expect(Array.from(await be.read(parent, 14, 8))).toEqual([0, 0, 1, 2, 3, 4, 0, 0]);
      expect(() => be.view!(parent, 32, 16)).toThrow('a view of 16 values at 32 overruns a buffer of 40');
      expect(() => be.view!(parent, 0, 0)).toThrow("a view's length must be a whole number > 0, got 0");
      be.dispose(v);
      expect(Array.from(await be.read(parent, 16, 2))).toEqual([1, 2]);
    }
    expect(() => cpu.view(cpu.alloc(16, 'float32'), 2, 4)).toThrow(
      "a view's offset must be a multiple of 16 elements on this backend, got 2",
    );
    const p = cpu.alloc(32, 'float32');
    const v = cpu.view(p, 16, 4);
    cpu.dispose(p);
    await expect(cpu.read(v)).rejects.toThrow('cpu buffer used after dispose');
  });
});

describe('a fused readout and loss (Backend.linearLoss)', () => {
  /** Host linearLoss and lossGradient on reference buffers: the seam a GPU backend fills. */
  function fusedHost(be: Backend) {
    let fusedCalls = 0;
    const lossGradient = ({
      kind,
      pred,
      target,
      grad,
      n,
      count,
    }: Parameters<NonNullable<Backend['lossGradient']>>[0]) => {
      const [p, t, g] = [dataOf(pred), dataOf(target), dataOf(grad)];
      for (let i = 0; i < n; i++)
        g[i] = kind === 'mse' ? (2 * (p[i] - t[i])) / count : (1 / (1 + Math.exp(-p[i])) - t[i]) / count;
    };
    const linearLoss = (a: LinearLossArgs) => {
      fusedCalls++;
      const [x, w, b, t, y, dy, dx] = [a.x, a.w, a.b, a.target, a.y, a.dy, a.dx].map(dataOf);
      for (let n = 0; n < a.N; n++) {
        for (let o = 0; o < a.O; o++) {
          let s = b[o];
          for (let f = 0; f < a.F; f++) s += x[a.xOffset + n * a.F + f] * w[o * a.F + f];
          y[n * a.O + o] = s;
          const i = n * a.O + o;
          dy[i] = a.kind === 'mse' ? (2 * (s - t[i])) / a.count : (1 / (1 + Math.exp(-s)) - t[i]) / a.count;
        }
        for (let f = 0; f < a.F; f++) {
          let s = 0;
          for (let o = 0; o < a.O; o++) s += dy[n * a.O + o] * w[o * a.F + f];
          dx[n * a.F + f] = s;
        }
      }
    };
    const plain = logged(be, { lossGradient }).be;
    const fused = logged(be, { lossGradient, linearLoss }).be;
    return { plain, fused, calls: () => fusedCalls };
  }

  it('trains as the readout, loss gradient and readout backward apart, for mse and bce', async () => {
    for (const loss of ['mse', 'bce'] as LossKind[]) {
      const h = fusedHost(reference);
      const { x, y } = await trainBoth(h.plain, h.fused, 'LSTM', 'last', loss, 'float64', false, 1e-13);
      expect(h.calls()).toBe(3);
      const pa = await x.model.getParameters();
      const pb = await y.model.getParameters();
      for (const k of Object.keys(pa)) {
        const d = pa[k].data.map((v, i) => Math.abs(v - pb[k].data[i]));
        expect(Math.max(...d), k).toBeLessThan(1e-13);
      }
    }
  });

  it('is not used for a sequence readout or two input parts (bidirectional)', async () => {
    const h = fusedHost(reference);
    await trainBoth(h.plain, h.fused, 'nBRC', 'sequence', 'mse', 'float64');
    await trainBoth(h.plain, h.fused, 'nBRC', 'last', 'mse', 'float64', true);
    expect(h.calls()).toBe(0);
  });
});
