import { benchTraining, getBackend } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { logSkip, probe, steadyStepCounts, webgpuBackend } from './webgpu-setup.js';

/**
 * Backend.counters on tfjs-webgpu: the dispatches, submits and readbacks of a training step, and
 * the host's recording time, as the bench reports them. Needs a WebGPU adapter (lavapipe in CI);
 * skipped with the reason otherwise.
 */
logSkip('counter tests');

const size = { cell: 'nBRC' as const, seqLen: 5, batch: 3, hidden: 6, layers: 2 };

describe.skipIf(!probe.ok)('tfjs-webgpu: device counters per training step', () => {
  it('counts the same positive number of dispatches on two consecutive steps', async () => {
    const counts = await steadyStepCounts(size);
    const [a, b] = counts;
    expect(counts).toHaveLength(2);
    expect(Number.isInteger(a.dispatches)).toBe(true);
    expect(a.dispatches).toBeGreaterThan(0);
    expect(b.dispatches).toBe(a.dispatches);
    expect(a.fusedDispatches).toBeGreaterThan(0);
    expect(a.fusedDispatches).toBeLessThanOrEqual(a.dispatches);
    expect(b.fusedDispatches).toBe(a.fusedDispatches);
    expect(a.submits).toBeGreaterThan(0);
    expect(b.submits).toBe(a.submits);
    // the predictions come back once per step
    expect(a.readbacks).toBe(1);
    expect(b.readbacks).toBe(1);
    expect(a.hostMs).toBeGreaterThan(0);
  });

  it("counts tfjs's own programs apart from the fused kernels", async () => {
    const be = await webgpuBackend();
    const buf = be.alloc(64, 'float32');
    const before = be.counters();
    // the generic write: tfjs ops (slice, concat) that rebuild the buffer's tensor
    be.writeInPlace = false;
    try {
      be.write(buf, [1, 2, 3], 5);
    } finally {
      be.writeInPlace = true;
    }
    expect(Array.from(await be.read(buf, 4, 5))).toEqual([0, 1, 2, 3, 0]);
    const after = be.counters();
    be.dispose(buf);
    expect(after.dispatches - before.dispatches).toBeGreaterThanOrEqual(2);
    expect(after.fusedDispatches).toBe(before.fusedDispatches);
    expect(after.readbacks - before.readbacks).toBe(1);
    expect(after.submits).toBeGreaterThan(before.submits);
  });

  it("reports them in the bench result's JSON", async () => {
    const r = await benchTraining(await webgpuBackend(), { ...size, steps: 2, warmup: 1, inferenceSteps: 0 });
    const d = JSON.parse(JSON.stringify(r)).device;
    expect(d.steady).toBe(true);
    expect(d.dispatches).toBeGreaterThan(0);
    expect(d.fusedDispatches + d.libraryDispatches).toBe(d.dispatches);
    expect(d.readbacks).toBe(1);
    expect(d.hostMs.samples).toHaveLength(2);
    for (const ms of d.hostMs.samples) expect(ms).toBeLessThanOrEqual(Math.max(...r.train.samples) + 1e-9);
  });
});

describe('device counters on a CPU backend', () => {
  it('are absent from the bench result', async () => {
    const be = await getBackend('reference');
    expect(be.counters).toBeUndefined();
    const r = await benchTraining(be, { ...size, steps: 1, warmup: 0, inferenceSteps: 0 });
    expect(r.device).toBeUndefined();
    expect('device' in JSON.parse(JSON.stringify(r))).toBe(false);
  });
});
