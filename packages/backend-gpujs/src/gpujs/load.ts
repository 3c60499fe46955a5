import type { GpuClass } from './types.js';

type Require = ((id: string) => unknown) & { resolve(id: string): string };

/**
 * Node's require, made on first use: `gl` and `webgpu` are Node addons, and loading Node's
 * builtins lazily keeps this package importable in a browser (where its GPU modes report
 * themselves unavailable instead of breaking the bundle).
 */
async function nodeRequire(from: string = import.meta.url): Promise<Require> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node) throw new Error('not running on Node');
  const { createRequire } = await import('node:module');
  return createRequire(from) as Require;
}

let cached: GpuClass | null = null;

/**
 * gpu.js itself, loaded on first use (a dynamic import, so bundlers still include it and merely
 * importing this package stays cheap); throws with the loader's message when it is broken.
 */
export async function loadGpujs(): Promise<GpuClass> {
  if (cached) return cached;
  const mod = (await import('gpu.js')) as unknown as { GPU?: GpuClass; default?: { GPU?: GpuClass } };
  const GPU = mod.GPU ?? mod.default?.GPU;
  if (typeof GPU !== 'function') throw new Error('gpu.js loaded but exports no GPU class');
  cached = GPU;
  return GPU;
}

/** The `gl` package as gpu.js resolves it (next to gpu.js), or the reason it cannot load. */
export async function loadGl(): Promise<
  { ok: true; create: (w: number, h: number) => unknown } | { ok: false; reason: string }
> {
  try {
    const require = await nodeRequire();
    let from = require;
    try {
      const gpujs = require.resolve('gpu.js');
      from = await nodeRequire(`${gpujs.slice(0, gpujs.lastIndexOf('/'))}/`);
    } catch {
      // bundled: gpu.js is inlined, and `gl` (a native addon) resolves from here if at all
    }
    return { ok: true, create: from('gl') as (w: number, h: number) => unknown };
  } catch (err) {
    return { ok: false, reason: firstLine(err) };
  }
}

/** Path and version of the optional `webgpu` package, resolved from this package. */
export async function resolveWebgpu(): Promise<
  { ok: true; path: string; version: string } | { ok: false; reason: string }
> {
  try {
    const require = await nodeRequire();
    const path = require.resolve('webgpu');
    const pkg = require('webgpu/package.json') as { version?: string };
    return { ok: true, path, version: pkg.version ?? '0.0.0' };
  } catch (err) {
    return { ok: false, reason: firstLine(err) };
  }
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}
