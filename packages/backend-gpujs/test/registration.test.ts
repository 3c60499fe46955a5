import { BackendUnavailableError, getBackend, probeBackend, registeredBackends } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { createGpujsBackend, GPUJS_VARIANTS, registerGpujsBackends } from '../src/index.js';

const variant = (name: string) => GPUJS_VARIANTS.find((v) => v.name === name)!;

describe('registration', () => {
  it('importing the package registers the four gpu.js backends once, with their priorities', () => {
    registerGpujsBackends();
    registerGpujsBackends();
    const regs = registeredBackends().filter(
      (r) => r.name.startsWith('gpujs-') && r.name !== 'gpujs-cpu-resident',
    );
    expect(regs.map((r) => [r.name, r.priority])).toEqual([
      ['gpujs-webgpu', 45],
      ['gpujs-headlessgl', 35],
      ['gpujs-webasm', 8],
      ['gpujs-cpu', 5],
    ]);
  });

  it("'auto' picks the highest-priority backend that initialises, never one that cannot", async () => {
    const be = await getBackend('auto');
    const chosen = registeredBackends().find((r) => r.name === be.name)!;
    for (const r of registeredBackends().filter((x) => x.priority > chosen.priority)) {
      const probe = await probeBackend(r.name);
      expect(probe.ok, `${r.name} outranks ${be.name} and initialises`).toBe(false);
    }
    expect((await probeBackend(be.name)).ok).toBe(true);
  });
});

describe('mode detection says what is missing', () => {
  it('gpujs-headlessgl without an X server names DISPLAY', async () => {
    const saved = process.env.DISPLAY;
    delete process.env.DISPLAY;
    try {
      const err = await createGpujsBackend(variant('gpujs-headlessgl')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      // without a built gl package the first complaint is the package itself
      expect((err as Error).message).toMatch(/DISPLAY is not set|'gl' package could not be loaded/);
      expect((err as Error).message).toMatch(/^backend 'gpujs-headlessgl' is not available: /);
    } finally {
      if (saved !== undefined) process.env.DISPLAY = saved;
    }
  });

  it('every unavailable gpu.js backend gives a one-line reason', async () => {
    for (const v of GPUJS_VARIANTS) {
      const probe = await probeBackend(v.name);
      if (probe.ok) continue;
      expect(probe.reason).toMatch(new RegExp(`^backend '${v.name}' is not available: .+`));
      expect(probe.reason).not.toMatch(/\n|\bat .*:\d+:\d+/);
    }
  });

  it('the cpu and webasm modes are available wherever gpu.js loads', async () => {
    expect(await probeBackend('gpujs-cpu')).toEqual({ ok: true });
    expect(await probeBackend('gpujs-webasm')).toEqual({ ok: true });
  });
});
