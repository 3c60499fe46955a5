import { BackendUnavailableError } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { initWebgpu } from '../src/webgpu/index.js';

/**
 * initWebgpu's failure messages, without touching a GPU: the importer stands in for a missing
 * `webgpu` package or for one whose Dawn finds no adapter. Each test runs before anything put a
 * navigator.gpu in this process (test files run in separate workers).
 */
const g = globalThis as { navigator?: { gpu?: unknown } };
const hadNavigator = 'navigator' in globalThis;

afterEach(() => {
  if (!hadNavigator) Reflect.deleteProperty(globalThis, 'navigator');
  else if (g.navigator) Reflect.deleteProperty(g.navigator, 'gpu');
});

it('names a missing webgpu package and how to install it', async () => {
  expect(g.navigator?.gpu).toBeUndefined();
  const importer = async (spec: string) => {
    const err = Object.assign(new Error(`Cannot find package '${spec}' imported from here`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    throw err;
  };
  const err = await initWebgpu(tf, importer).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackendUnavailableError);
  expect((err as Error).message).toMatch(/backend 'tfjs-webgpu' is not available: webgpu is not installed/);
  expect((err as Error).message).toMatch(/pnpm add webgpu@0\.6\.2/);
});

it('says when a webgpu package that loads finds no adapter, and points at lavapipe', async () => {
  const fakeGpu = { requestAdapter: async () => null };
  const importer = async (spec: string) => {
    if (spec === 'webgpu') return { create: () => fakeGpu, globals: {} };
    throw new Error(`unexpected import of ${spec}`);
  };
  const err = await initWebgpu(tf, importer).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackendUnavailableError);
  expect((err as Error).message).toMatch(/no WebGPU adapter was found/);
  expect((err as Error).message).toMatch(/lavapipe/);
  // navigator.gpu stays installed: a later call need not load the package again
  expect(g.navigator?.gpu).toBe(fakeGpu);
});

it('reports a webgpu package whose native part fails to load', async () => {
  const importer = async () => {
    throw new Error(
      "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by dawn.node)",
    );
  };
  const err = await initWebgpu(tf, importer).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackendUnavailableError);
  expect((err as Error).message).toMatch(/webgpu is installed but failed to load: .*GLIBC_2\.38/);
});
