import {
  Adam,
  type Backend,
  benchTraining,
  type CellName,
  type DeviceCounters,
  getBackend,
  matmul,
  probeBackend,
  SequenceModel,
} from '@bistable/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpujsBackend, GPUJS_VARIANTS, type GpujsBackend } from '../src/index.js';
import { CPU_RESIDENT } from './helpers.js';

/**
 * Backend.counters on the GPU modes: each count checked against what Dawn itself was asked to do,
 * and the launches of a training step against what the backend runs per step. Needs WebGPU
 * (lavapipe: `eval "$(bash scripts/lavapipe.sh)"` from the repository root); skipped with the
 * reason otherwise.
 */
const WEBGPU = 'gpujs-webgpu';
const probe = await probeBackend(WEBGPU);
if (!probe.ok) console.log(`[${WEBGPU}] counter tests skipped: ${probe.reason}`);

const I = 2;
const B = 3;
const H = 4;
const L = 2;

/** A 2-layer model and one batch; `step` trains on it once and waits for the queue. */
function trainer(be: Backend, cell: CellName, T: number) {
  const model = new SequenceModel(be, {
    cell,
    inputSize: I,
    hiddenSize: H,
    numLayers: L,
    outputSize: I,
    readout: 'last',
    loss: 'mse',
    dtype: 'float32',
    seed: 3,
  });
  const opt = new Adam(be, [model]);
  const x = { shape: [B, T, I], data: Float32Array.from({ length: B * T * I }, (_, i) => Math.sin(i)) };
  const y = { shape: [B, I], data: Float32Array.from({ length: B * I }, (_, i) => Math.cos(i)) };
  return {
    model,
    x,
    async step(): Promise<void> {
      await model.trainStep(x, y, opt);
      await be.sync?.();
    },
    dispose(): void {
      model.dispose();
    },
  };
}

type Counts = Required<DeviceCounters>;

function delta(a: DeviceCounters, b: DeviceCounters): Counts {
  return {
    dispatches: b.dispatches - a.dispatches,
    fusedDispatches: (b.fusedDispatches ?? 0) - (a.fusedDispatches ?? 0),
    submits: b.submits - a.submits,
    readbacks: b.readbacks - a.readbacks,
    waitMs: b.waitMs - a.waitMs,
  };
}

/** counters() around `work`. */
async function around(be: GpujsBackend, work: () => Promise<unknown>): Promise<Counts> {
  const before = be.counters!();
  await work();
  return delta(before, be.counters!());
}

type Proto = Record<string, (...args: unknown[]) => unknown>;

/**
 * What Dawn is asked to do, counted on its classes' prototypes (shared by every device, gpu.js's
 * included): compute dispatches, queue submits and buffer maps.
 */
class DawnTally {
  dispatches = 0;
  submits = 0;
  maps = 0;
  private readonly undo: (() => void)[] = [];

  async install(): Promise<void> {
    type Device = {
      queue: object;
      createCommandEncoder(): { beginComputePass(): { end(): void } };
      createBuffer(d: { size: number; usage: number }): { destroy(): void };
      destroy(): void;
    };
    type Gpu = { requestAdapter(): Promise<{ requestDevice(): Promise<Device> } | null> };
    const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
    const adapter = await gpu?.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter for the test to inspect');
    const device = await adapter.requestDevice();
    const pass = device.createCommandEncoder().beginComputePass();
    const buffer = device.createBuffer({ size: 16, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
    this.wrap(Object.getPrototypeOf(pass), 'dispatchWorkgroups', () => this.dispatches++);
    this.wrap(Object.getPrototypeOf(device.queue), 'submit', () => this.submits++);
    this.wrap(Object.getPrototypeOf(buffer), 'mapAsync', () => this.maps++);
    pass.end();
    buffer.destroy();
    device.destroy();
  }

  private wrap(proto: Proto, method: string, count: () => void): void {
    const original = proto[method];
    if (typeof original !== 'function') throw new Error(`Dawn has no ${method} to count`);
    proto[method] = function (this: unknown, ...args: unknown[]) {
      count();
      return original.apply(this, args);
    };
    this.undo.push(() => {
      proto[method] = original;
    });
  }

  snapshot() {
    return { dispatches: this.dispatches, submits: this.submits, maps: this.maps };
  }

  restore(): void {
    for (const u of this.undo.splice(0).reverse()) u();
  }
}

describe.skipIf(!probe.ok)(`${WEBGPU}: device counters`, () => {
  const variant = GPUJS_VARIANTS.find((v) => v.name === WEBGPU)!;
  let be: GpujsBackend;
  beforeAll(async () => {
    be = await createGpujsBackend(variant);
  });
  afterAll(() => be?.destroy());

  it('starts at zero on the first call, whatever ran before, and only grows', async () => {
    const fresh = await createGpujsBackend(variant); // its self-test has launched kernels already
    try {
      expect(fresh.kernelLaunches).toBeGreaterThan(0);
      const snaps: DeviceCounters[] = [fresh.counters!()];
      expect(snaps[0]).toEqual({ dispatches: 0, fusedDispatches: 0, submits: 0, readbacks: 0, waitMs: 0 });
      const t = trainer(fresh, 'GRU', 3);
      for (let i = 0; i < 3; i++) {
        await t.step();
        snaps.push(fresh.counters!());
        await t.model.predict(t.x);
        snaps.push(fresh.counters!());
      }
      t.dispose();
      for (let i = 1; i < snaps.length; i++) {
        for (const k of ['dispatches', 'fusedDispatches', 'submits', 'readbacks', 'waitMs'] as const)
          expect(snaps[i][k], `${k} after snapshot ${i - 1}`).toBeGreaterThanOrEqual(snaps[i - 1][k]!);
        expect(snaps[i].dispatches).toBeGreaterThan(snaps[i - 1].dispatches);
      }
    } finally {
      fresh.destroy();
    }
  });

  it('counts exactly the dispatches, submits and maps Dawn sees in a training step', async () => {
    const dawn = new DawnTally();
    await dawn.install();
    try {
      for (const cell of ['nBRC', 'LSTM'] as const) {
        const T = 3;
        const t = trainer(be, cell, T);
        await t.step(); // compiles kernels and creates gpu.js's staging buffers
        for (let i = 0; i < 2; i++) {
          const d0 = dawn.snapshot();
          const c = await around(be, () => t.step());
          const d1 = dawn.snapshot();
          expect(c.dispatches, `${cell} dispatches`).toBe(d1.dispatches - d0.dispatches);
          expect(c.submits, `${cell} submits`).toBe(d1.submits - d0.submits);
          expect(c.readbacks, `${cell} readbacks`).toBe(d1.maps - d0.maps);
          // one forward and one backward step kernel per time step and layer (level 3)
          expect(c.fusedDispatches, `${cell} step kernels`).toBe(2 * T * L);
          // the predictions, and nothing else, come back to the host
          expect(c.readbacks).toBe(1);
          expect(c.submits).toBe(c.dispatches + c.readbacks);
          expect(c.waitMs).toBeGreaterThan(0);
        }
        t.dispose();
      }
    } finally {
      dawn.restore();
    }
  });

  it('launches per step: the step kernels, one per GEMM, Adam update and upload', async () => {
    // counts core's calls into the backend; each is one launch at these sizes
    const calls = { gemm: 0, adam: 0, write: 0 };
    type Method = (...a: unknown[]) => void;
    const spy = be as unknown as Record<keyof typeof calls, Method>;
    const originals = { gemm: spy.gemm, adam: spy.adam, write: spy.write };
    for (const k of Object.keys(calls) as (keyof typeof calls)[]) {
      spy[k] = (...a: unknown[]) => {
        calls[k]++;
        originals[k].apply(be, a);
      };
    }
    try {
      // LSTM at T = 1: no range a kernel reads is made of several pieces, so the store gathers nothing
      const T = 1;
      const t = trainer(be, 'LSTM', T);
      await t.step();
      for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
      const c = await around(be, () => t.step());
      t.dispose();
      expect(calls.adam).toBe(t.model.parameters().length);
      expect(calls.write).toBe(2); // the inputs, and the loss gradient from the host
      expect(c.fusedDispatches).toBe(2 * T * L);
      expect(c.dispatches).toBe(2 * T * L + calls.gemm + calls.adam + calls.write);
    } finally {
      for (const k of Object.keys(originals) as (keyof typeof originals)[]) delete spy[k];
    }
    expect(spy.gemm).toBe(originals.gemm);
  });

  it.each(['nBRC', 'BRC', 'GRU', 'LSTM'] as const)(
    '%s: two more time steps add two forward and two backward launches per layer, nothing else',
    async (cell) => {
      const perStep = async (T: number) => {
        const t = trainer(be, cell, T);
        await t.step();
        const c = await around(be, () => t.step());
        t.dispose();
        return c;
      };
      // GEMMs run over the whole sequence at level 3, and up to 7 time steps (the gather width)
      // a range written step by step is joined in one launch, so only the step kernels scale with T
      const [a, b] = [await perStep(3), await perStep(5)];
      expect(b.fusedDispatches - a.fusedDispatches).toBe(2 * 2 * L);
      expect(b.dispatches - a.dispatches).toBe(2 * 2 * L);
      expect(b.submits - a.submits).toBe(2 * 2 * L);
      expect(b.readbacks).toBe(a.readbacks);
    },
  );

  it('counts readbacks only where data comes back', async () => {
    const x = be.alloc(8, 'float32');
    const y = be.alloc(8, 'float32');
    try {
      const quiet = await around(be, async () => {
        be.write(x, [1, 2, 3, 4, 5, 6, 7, 8]);
        matmul(be, { m: 1, n: 8, k: 1, a: x, b: x, c: y });
        await be.sync();
      });
      expect(quiet).toMatchObject({ dispatches: 2, fusedDispatches: 0, submits: 2, readbacks: 0, waitMs: 0 });
      const read = await around(be, () => be.read(y, 0, 8));
      expect(read).toMatchObject({ dispatches: 0, submits: 1, readbacks: 1 });
      expect(read.waitMs).toBeGreaterThan(0);
      const t = trainer(be, 'nBRC', 2);
      await t.step();
      const predict = await around(be, () => t.model.predict(t.x));
      t.dispose();
      expect(predict.readbacks).toBe(1);
      expect(predict.fusedDispatches).toBe(2 * L); // forward only
    } finally {
      be.dispose(x);
      be.dispose(y);
    }
  });

  it("reports them in the bench result's JSON", async () => {
    const T = 3;
    const r = await benchTraining(be, {
      cell: 'nBRC',
      seqLen: T,
      batch: B,
      hidden: H,
      layers: L,
      steps: 2,
      warmup: 1,
      inferenceSteps: 0,
    });
    const d = JSON.parse(JSON.stringify(r)).device;
    expect(d.steady).toBe(true);
    expect(d.fusedDispatches).toBe(2 * T * L);
    expect(d.fusedDispatches + d.libraryDispatches).toBe(d.dispatches);
    expect(d.readbacks).toBe(1);
    expect(d.submits).toBe(d.dispatches + 1);
    expect(d.hostMs.samples).toHaveLength(2);
    for (const ms of d.hostMs.samples) expect(ms).toBeLessThanOrEqual(Math.max(...r.train.samples) + 1e-9);
  });
});

describe('device counters on the CPU modes', () => {
  it.each(['gpujs-cpu', 'gpujs-webasm', CPU_RESIDENT.name])('are absent on %s', async (name) => {
    const p = await probeBackend(name);
    if (!p.ok) return;
    const be = await getBackend(name);
    expect(be.counters).toBeUndefined();
  });

  it('leave the bench result without a device field', async () => {
    const be = await getBackend('gpujs-cpu');
    const r = await benchTraining(be, {
      cell: 'nBRC',
      seqLen: 3,
      batch: B,
      hidden: H,
      layers: L,
      steps: 1,
      warmup: 0,
      inferenceSteps: 0,
    });
    expect(r.device).toBeUndefined();
    expect('device' in JSON.parse(JSON.stringify(r))).toBe(false);
  });
});
