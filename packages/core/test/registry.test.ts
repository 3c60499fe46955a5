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

describe("getBackend('auto')", () => {
  it('takes the highest priority that initialises, skipping one whose init fails', async () => {
    expect((await getBackend('auto')).name).toBe('test-gpu-like');
    await expect(getBackend('test-broken')).rejects.toThrow(BackendUnavailableError);
    await expect(getBackend('test-broken')).rejects.toThrow(/no device here/);
  });

  it('with a dtype, skips backends that do not compute in it', async () => {
    expect((await getBackend('auto', { dtype: 'float32' })).name).toBe('test-gpu-like');
    const be = await getBackend('auto', { dtype: 'float64' });
    expect(be.name).not.toBe('test-gpu-like');
    expect(be.dtypes).toContain('float64');
  });
});
