import { BackendUnavailableError, getBackend, probeBackend, registeredBackends } from '@bistable/core';
import { describe, expect, it, vi } from 'vitest';
import {
  createGpujsBackend,
  GPUJS_VARIANTS,
  registerGpujsBackend,
  registerGpujsBackends,
} from '../src/index.js';

const variant = (name: string) => GPUJS_VARIANTS.find((v) => v.name === name)!;

describe('registration', () => {
  // the priorities follow measured speed (guide/choosing-backend): every gpu.js mode trained slower
  // than core's cpu backend (40), the CPU modes no faster than core's reference (12); the GPU
  // modes were 45 and 35, above cpu, when only lavapipe and Xvfb had measured them (4-50× slower)
  it('importing the package registers the four gpu.js backends once, with their priorities', () => {
    registerGpujsBackends();
    registerGpujsBackends();
    const regs = registeredBackends().filter(
      (r) => r.name.startsWith('gpujs-') && r.name !== 'gpujs-cpu-resident',
    );
    expect(regs.map((r) => [r.name, r.priority])).toEqual([
      ['gpujs-webgpu', 22],
      ['gpujs-headlessgl', 20],
      ['gpujs-webasm', 10],
      ['gpujs-cpu', 8],
    ]);
  });

  it("'auto' picks the highest-priority backend that initialises, never one that cannot", async () => {
    const be = await getBackend('auto');
    const chosen = registeredBackends().find((r) => r.name === be.name)!;
    for (const r of registeredBackends().filter((x) => x.priority > chosen.priority)) {
      const probe = await probeBackend(r.name);
      // one that starts may outrank it only on an emulated GPU (lavapipe), which auto puts last
      if (probe.ok)
        expect((await getBackend(r.name)).softwareDevice, `${r.name} outranks ${be.name}`).toBeTruthy();
    }
    expect((await probeBackend(be.name)).ok).toBe(true);
  });

  it("with core loaded, auto takes core's cpu backend over every gpu.js mode", async () => {
    expect((await getBackend('auto')).name).toBe('cpu');
  });

  it('gpujs-webgpu on lavapipe says its GPU is emulated, so auto ranks it after native backends', async () => {
    const probe = await probeBackend('gpujs-webgpu');
    if (!probe.ok) return; // no WebGPU adapter here: nothing to check
    const be = await getBackend('gpujs-webgpu');
    const adapter = process.env.VK_ICD_FILENAMES ?? '';
    if (/lvp|lavapipe/.test(adapter)) expect(be.softwareDevice).toMatch(/llvmpipe|lavapipe/);
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

  it('every unavailable gpu.js backend gives a one-line reason that names it', async () => {
    // every mode that gets as far as compiling a kernel now fails its self-test with a multi-line error
    const { GPU } = (await import('gpu.js')) as unknown as {
      GPU: { prototype: { createKernel(): unknown } };
    };
    const compile = vi.spyOn(GPU.prototype, 'createKernel').mockImplementation(() => {
      throw new Error('injected compile failure\n    at compileKernel (kernel.js:1:1)');
    });
    const selfTested: string[] = [];
    try {
      for (const v of GPUJS_VARIANTS) {
        registerGpujsBackend(v); // forgets the instance an earlier test made
        const probe = await probeBackend(v.name);
        expect(probe.ok, `${v.name} initialised with kernels that cannot compile`).toBe(false);
        const reason = probe.ok ? '' : probe.reason;
        expect(reason).toMatch(new RegExp(`^backend '${v.name}' is not available: .+`));
        expect(reason).not.toMatch(/\n|\bat .*:\d+:\d+/);
        // a mode that loads here fails on the injected error: its first line, and the mode's name
        if (reason.includes('self-test')) {
          expect(reason).toMatch(
            new RegExp(`gpu\\.js mode '${v.mode}' failed its self-test: .*injected compile failure$`),
          );
          selfTested.push(v.name);
        }
      }
    } finally {
      compile.mockRestore();
      for (const v of GPUJS_VARIANTS) registerGpujsBackend(v); // forgets the injected failures
    }
    // cpu and webasm load wherever gpu.js does, so at least they reached the injected failure
    expect(selfTested).toEqual(expect.arrayContaining(['gpujs-webasm', 'gpujs-cpu']));
  });

  it('the cpu and webasm modes are available wherever gpu.js loads', async () => {
    expect(await probeBackend('gpujs-cpu')).toEqual({ ok: true });
    expect(await probeBackend('gpujs-webasm')).toEqual({ ok: true });
  });
});
