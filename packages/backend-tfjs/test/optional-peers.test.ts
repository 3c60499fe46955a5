import { createRequire } from 'node:module';
import { BackendUnavailableError, getBackend, probeBackend } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import type { TfjsBackend } from '../src/index.js';
import { initTfjsNode } from '../src/init/tfjs-node.js';
import '../src/index.js';

const installed = (pkg: string) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('tfjs-node and tfjs-node-gpu are optional peers', () => {
  it.skipIf(installed('@tensorflow/tfjs-node'))('a missing tfjs-node says what to install', async () => {
    const err = await rejection(getBackend('tfjs-node'));
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toContain('@tensorflow/tfjs-node is not installed');
    expect(err.message).toContain('pnpm add @tensorflow/tfjs-node');
  });

  it.skipIf(installed('@tensorflow/tfjs-node-gpu'))(
    'a missing tfjs-node-gpu names CUDA and cuDNN',
    async () => {
      const err = await rejection(getBackend('tfjs-node-gpu'));
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.message).toContain('pnpm add @tensorflow/tfjs-node-gpu');
      expect(err.message).toMatch(/CUDA 11\.2.*cuDNN 8\.1/);
      const probe = await probeBackend('tfjs-node-gpu');
      expect(probe.ok).toBe(false);
    },
  );

  it('an installed package whose native addon fails to load is reported as such', async () => {
    const dlopen = Object.assign(
      new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'),
      {
        code: 'ERR_DLOPEN_FAILED',
      },
    );
    const err = await rejection(
      initTfjsNode('tfjs-node', async () => {
        throw dlopen;
      }),
    );
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toContain('@tensorflow/tfjs-node is installed but failed to load');
    expect(err.message).toContain('libtensorflow.so.2');
    expect(err.message).not.toContain('is not installed');
  });

  it("a missing dependency of the package is not mistaken for the package's absence", async () => {
    const dep = Object.assign(
      new Error(
        "Cannot find package '@tensorflow/tfjs' imported from /x/node_modules/@tensorflow/tfjs-node/dist/index.js",
      ),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    const err = await rejection(
      initTfjsNode('tfjs-node-gpu', async () => {
        throw dep;
      }),
    );
    expect(err.message).toContain('@tensorflow/tfjs-node-gpu is installed but failed to load');
    expect(err.message).toContain("Cannot find package '@tensorflow/tfjs'");
  });

  it('nothing else breaks: auto skips the failed backends and the others compute', async () => {
    await probeBackend('tfjs-node');
    await probeBackend('tfjs-node-gpu');
    const auto = await getBackend('auto');
    expect(auto.name).not.toMatch(/^tfjs-node/);
    const cpu = (await getBackend('tfjs-cpu')) as TfjsBackend;
    const a = cpu.alloc(4, 'float32');
    const c = cpu.alloc(4, 'float32');
    cpu.write(a, [1, 2, 3, 4]);
    cpu.gemm({
      transA: false,
      transB: false,
      m: 2,
      n: 2,
      k: 2,
      alpha: 1,
      beta: 0,
      a,
      aOffset: 0,
      lda: 2,
      b: a,
      bOffset: 0,
      ldb: 2,
      c,
      cOffset: 0,
      ldc: 2,
    });
    expect(Array.from(await cpu.read(c))).toEqual([7, 10, 15, 22]);
    cpu.dispose(a);
    cpu.dispose(c);
  });
});
