import { type DeviceBuffer, getBackend } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { tfjsBuffer } from '../src/buffer.js';
import { type WebgpuTfjsBackend, wgslRunner } from '../src/webgpu/index.js';
import { probe, webgpuBackend } from './webgpu-setup.js';

/**
 * `write` on tfjs-webgpu copies host values into the buffer's existing GPU buffer (runner.ts,
 * WgslRunner.write) instead of replacing its tensor. It must keep the GPU buffer, touch only its
 * range, and land in order with work that is recorded but not yet submitted: a kernel recorded
 * before the write reads the old values, one recorded after reads the new. Needs a WebGPU adapter
 * (lavapipe in CI); skipped with the reason otherwise.
 */

/** The GPU buffer behind a bistable buffer right now. */
function gpuBufferOf(buf: DeviceBuffer): GPUBuffer {
  return wgslRunner().be.tensorMap.get(tfjsBuffer(buf).tensor.dataId)!.resource as GPUBuffer;
}

const read = async (be: WebgpuTfjsBackend, buf: DeviceBuffer) => Array.from(await be.read(buf));

/** grad = pred − target, one dispatch (mse with count = 2, so the scale is 1) that reads target. */
function diff(be: WebgpuTfjsBackend, pred: DeviceBuffer, target: DeviceBuffer, grad: DeviceBuffer): void {
  be.lossGradient({ kind: 'mse', pred, target, grad, n: pred.length, count: 2 });
}

const pending = () => wgslRunner().be.commandEncoder !== null;
const writes = () => {
  const s = wgslRunner().stats;
  return { direct: s.writesDirect, staged: s.writesStaged, flushed: s.writesFlushed };
};

const defaultLimit = 16 << 20;
afterEach(() => {
  if (probe.ok) wgslRunner().stagingLimitBytes = defaultLimit;
});

describe.skipIf(!probe.ok)('tfjs-webgpu: write in place', () => {
  it('keeps the GPU buffer, and a partial write changes only its range (direct and staged)', async () => {
    const be = await webgpuBackend();
    const a = be.alloc(8, 'float32');
    be.write(a, [0, 1, 2, 3, 4, 5, 6, 7]);
    const gpu = gpuBufferOf(a);
    // a read caches the values on the host: the writes below must not leave them stale
    expect(await read(be, a)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await be.sync();
    expect(pending()).toBe(false);
    const w0 = writes();
    be.write(a, [-3, -4], 3);
    expect(writes().direct).toBe(w0.direct + 1);
    expect(gpuBufferOf(a)).toBe(gpu);
    expect(await read(be, a)).toEqual([0, 1, 2, -3, -4, 5, 6, 7]);

    // the same with work recorded and not yet submitted: the staged path
    const other = be.alloc(8, 'float32');
    be.fill(other, 1);
    expect(pending()).toBe(true);
    be.write(a, [9], 7);
    be.write(a, [8, 8], 0);
    expect(writes().staged).toBe(w0.staged + 2);
    expect(gpuBufferOf(a)).toBe(gpu);
    expect(await read(be, a)).toEqual([8, 8, 2, -3, -4, 5, 6, 9]);
    be.dispose(a);
    be.dispose(other);
  });

  it('a kernel recorded before a write reads the old values; one recorded after reads the new', async () => {
    const be = await webgpuBackend();
    const [pred, target] = [be.alloc(4, 'float32'), be.alloc(4, 'float32')];
    const g = Array.from({ length: 5 }, () => be.alloc(4, 'float32'));
    be.write(pred, [1, 2, 3, 4]);
    be.write(target, [0, 0, 0, 0]);
    await be.sync();
    const w0 = writes();
    diff(be, pred, target, g[0]);
    expect(pending()).toBe(true);
    be.write(target, [1, 1, 1, 1]);
    diff(be, pred, target, g[1]);
    // a second write in the same command encoder needs its own staging range
    be.write(target, [2, 2, 2, 2]);
    diff(be, pred, target, g[2]);
    be.write(target, [-1], 2);
    diff(be, pred, target, g[3]);
    expect(pending()).toBe(true);
    expect(writes().staged).toBe(w0.staged + 3);
    expect(await read(be, g[0])).toEqual([1, 2, 3, 4]);
    expect(await read(be, g[1])).toEqual([0, 1, 2, 3]);
    expect(await read(be, g[2])).toEqual([-1, 0, 1, 2]);
    expect(await read(be, g[3])).toEqual([-1, 0, 4, 2]);

    // a write that would stage more than the limit submits the recorded work first, then writes
    // directly; the limit counts every write staged in one command encoder
    wgslRunner().stagingLimitBytes = 24;
    diff(be, pred, target, g[0]);
    be.write(target, [2, 2, -1, 2]); // 16 bytes: staged
    expect(writes().flushed).toBe(w0.flushed);
    expect(pending()).toBe(true);
    be.write(target, [4, 3, 2, 1]);
    expect(writes().flushed).toBe(w0.flushed + 1);
    diff(be, pred, target, g[4]);
    expect(await read(be, g[0])).toEqual([-1, 0, 4, 2]);
    expect(await read(be, g[4])).toEqual([-3, -1, 1, 3]);
    for (const b of [pred, target, ...g]) be.dispose(b);
  });

  it('staging ranges are reused across submits and survive growing past the first buffer', async () => {
    const be = await webgpuBackend();
    const n = 40_000; // 160 KB: more than the first staging buffer (64 KiB) holds
    const [pred, target] = [be.alloc(n, 'float32'), be.alloc(n, 'float32')];
    const g = [be.alloc(n, 'float32'), be.alloc(n, 'float32'), be.alloc(n, 'float32')];
    const p = Float32Array.from({ length: n }, (_, i) => i % 7);
    be.write(pred, p);
    for (let round = 0; round < 2; round++) {
      be.fill(target, 0);
      be.write(target, [5, 5, 5], 0);
      diff(be, pred, target, g[0]);
      be.write(target, new Float32Array(n).fill(1));
      diff(be, pred, target, g[1]);
      be.write(target, [3], n - 1);
      diff(be, pred, target, g[2]);
      const [a, b, c] = [await be.read(g[0]), await be.read(g[1]), await be.read(g[2])];
      expect([a[0], a[3], a[n - 1]], `round ${round}`).toEqual([p[0] - 5, p[3], p[n - 1]]);
      expect([b[0], b[3], b[n - 1]], `round ${round}`).toEqual([p[0] - 1, p[3] - 1, p[n - 1] - 1]);
      expect([c[0], c[n - 2], c[n - 1]], `round ${round}`).toEqual([p[0] - 1, p[n - 2] - 1, p[n - 1] - 3]);
    }
    for (const buf of [pred, target, ...g]) be.dispose(buf);
  });

  it('converts to float32 and copies at once, as the generic write did', async () => {
    const be = await webgpuBackend();
    const a = be.alloc(6, 'float32');
    const src = [0.1, 1e40, -1e-50, Number.NaN, 1 / 3, -2.5];
    be.write(a, Float64Array.from(src));
    expect(await read(be, a)).toEqual(Array.from(Float32Array.from(src)));
    be.write(a, { length: 2, 0: 7, 1: 8 } as ArrayLike<number>, 4);
    expect((await read(be, a)).slice(4)).toEqual([7, 8]);
    // a view into a larger array writes the view's values only
    be.write(a, Float32Array.from([10, 11, 12, 13, 14]).subarray(2, 4), 1);
    expect((await read(be, a)).slice(0, 4)).toEqual([Math.fround(0.1), 12, 13, Number.NaN]);
    // the caller may reuse its array as soon as write returns, on both paths
    for (const stage of [false, true]) {
      await be.sync();
      if (stage) be.fill(a, 0, 0, 1);
      const mine = Float32Array.from([1, 2, 3, 4, 5, 6]);
      be.write(a, mine);
      mine.fill(-1);
      expect(await read(be, a), stage ? 'staged' : 'direct').toEqual([1, 2, 3, 4, 5, 6]);
    }
    be.dispose(a);
  });

  it('reports bad input as the generic write did and leaves the buffer alone', async () => {
    const be = await webgpuBackend();
    const a = be.alloc(4, 'float32');
    be.write(a, [1, 2, 3, 4]);
    expect(() => be.write(a, [1, 2], 3)).toThrow(/write of 2 values at 3 overruns a buffer of 4/);
    expect(() => be.write(a, [1], -1)).toThrow(RangeError);
    expect(() => be.write(a, [], 5)).toThrow(RangeError);
    expect(() => be.write(a, [1], 1.5)).toThrow(RangeError);
    expect(() => be.write(a, null as unknown as number[])).toThrow(TypeError);
    const cpu = await getBackend('tfjs-cpu');
    const foreign = cpu.alloc(4, 'float32');
    expect(() => be.write(foreign, [1])).toThrow(/belongs to backend 'tfjs-cpu'/);
    cpu.dispose(foreign);
    be.write(a, [], 4); // empty: nothing to do
    expect(await read(be, a)).toEqual([1, 2, 3, 4]);
    be.dispose(a);
    expect(() => be.write(a, [1])).toThrow(/used after dispose/);
  });

  it('a write to a buffer whose tensor is shared copies it first and leaves the other alone', async () => {
    const be = await webgpuBackend();
    const a = be.alloc(4, 'float32');
    be.write(a, [1, 2, 3, 4]);
    const b = be.alloc(4, 'float32');
    be.activate();
    tfjsBuffer(b).replace(tf.clone(tfjsBuffer(a).tensor));
    const copies = wgslRunner().stats.copiesOnWrite;
    be.write(b, [9], 1);
    expect(wgslRunner().stats.copiesOnWrite).toBe(copies + 1);
    expect(await read(be, a)).toEqual([1, 2, 3, 4]);
    expect(await read(be, b)).toEqual([1, 9, 3, 4]);
    be.dispose(a);
    be.dispose(b);
  });
});
