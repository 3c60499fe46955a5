import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getBackend, InputError, readCheckpoint, SequenceModel, saveCheckpoint } from '../src/index.js';

/** Switches that make the file system fail at a chosen point of an atomic write. */
const fail = vi.hoisted(() => ({ midWrite: false, rename: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args);
      if (!fail.midWrite) return handle;
      // writes half of the data, then reports a full disk
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === 'writeFile') {
            return async (data: Uint8Array) => {
              await target.writeFile(data.subarray(0, data.length >> 1));
              throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
            };
          }
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
    rename: async (...args: Parameters<typeof fs.rename>) => {
      if (fail.rename) throw Object.assign(new Error('simulated crash before rename'), { code: 'EIO' });
      return fs.rename(...args);
    },
  };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bistable-atomic-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saveCheckpoint under simulated failures', () => {
  it('a write that fails half way or before the rename leaves the previous checkpoint intact and no temp file', async () => {
    const be = await getBackend('reference');
    const make = (seed: number) =>
      new SequenceModel(be, { cell: 'GRU', inputSize: 1, hiddenSize: 3, readout: 'last', loss: 'mse', seed });
    const path = join(dir, 'model.safetensors');
    await saveCheckpoint(path, make(1));
    const before = await readFile(path);

    for (const point of ['midWrite', 'rename'] as const) {
      fail[point] = true;
      try {
        const err = await saveCheckpoint(path, make(2)).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, point).toBeInstanceOf(InputError);
        expect((err as Error).message).toMatch(point === 'midWrite' ? /ENOSPC/ : /EIO/);
      } finally {
        fail[point] = false;
      }
      expect(await readdir(dir), point).toEqual(['model.safetensors']);
      expect((await readFile(path)).equals(before), point).toBe(true);
      // and it still loads
      await readCheckpoint(path);
    }

    await saveCheckpoint(path, make(2));
    expect((await readFile(path)).equals(before)).toBe(false);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });
});
