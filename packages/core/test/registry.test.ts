import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, getBackend, registerBackend } from '../src/index.js';
import { forwarding } from './helpers.js';

const reference = await getBackend('reference');

// above every real backend: a float32-only one (as the GPU backends are) and one that cannot start
registerBackend({
  name: 'test-gpu-like',
  priority: 1000,
  init: () => forwarding(reference, { name: 'test-gpu-like', dtypes: ['float32'] }),
});
registerBackend({
  name: 'test-broken',
  priority: 2000,
  init: () => {
    throw new Error('no device here');
  },
});

// the highest of all, but its GPU is emulated on the CPU (lavapipe, SwiftShader): auto puts it last
registerBackend({
  name: 'test-emulated',
  priority: 3000,
  init: () =>
    forwarding(reference, {
      name: 'test-emulated',
      dtypes: ['float32', 'bfloat16' as 'float32'],
      softwareDevice: 'llvmpipe (LLVM 15.0.6, 256 bits)',
    }),
});

// only when named: auto must not pick it even where it is the only one that fits
registerBackend({
  name: 'test-explicit-only',
  priority: -1,
  init: () => forwarding(reference, { name: 'test-explicit-only', dtypes: ['int8' as 'float32'] }),
});

describe("getBackend('auto')", () => {
  it('takes the highest priority that initialises, skipping one whose init fails', async () => {
    expect((await getBackend('auto')).name).toBe('test-gpu-like');
    await expect(getBackend('test-broken')).rejects.toThrow(BackendUnavailableError);
    await expect(getBackend('test-broken')).rejects.toThrow(/no device here/);
  });

  it('ranks a backend on an emulated GPU after every native one, whatever its priority', async () => {
    expect((await getBackend('test-emulated')).softwareDevice).toMatch(/llvmpipe/);
    expect((await getBackend('auto')).name).toBe('test-gpu-like');
    expect((await getBackend('auto', { dtype: 'float32' })).name).toBe('test-gpu-like');
  });

  it('takes the emulated one where no native backend fits', async () => {
    expect((await getBackend('auto', { dtype: 'bfloat16' as 'float32' })).name).toBe('test-emulated');
  });

  it('with a dtype, skips backends that do not compute in it', async () => {
    expect((await getBackend('auto', { dtype: 'float32' })).name).toBe('test-gpu-like');
    const be = await getBackend('auto', { dtype: 'float64' });
    expect(be.name).not.toBe('test-gpu-like');
    expect(be.dtypes).toContain('float64');
  });

  it('never picks a backend registered with a negative priority; by name it still starts', async () => {
    const wanted = { dtype: 'int8' as 'float32' };
    await expect(getBackend('auto', wanted)).rejects.toThrow(BackendUnavailableError);
    expect((await getBackend('test-explicit-only')).name).toBe('test-explicit-only');
    await expect(getBackend('auto', wanted)).rejects.toThrow(BackendUnavailableError);
  });

  it('when no backend fits, names every candidate and why it was passed over', async () => {
    const err = await getBackend('auto', { dtype: 'int8' as 'float32' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/no registered backend that computes in int8 could be initialised/);
    expect(msg).toMatch(/test-broken: initialisation failed: no device here/);
    expect(msg).toContain('test-gpu-like: computes only in float32');
    expect(msg).toMatch(/reference: computes only in float64, float32/);
    expect(msg).not.toContain('test-explicit-only');
  });
});
