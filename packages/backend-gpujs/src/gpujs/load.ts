import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { GpuClass } from './types.js';

const require = createRequire(import.meta.url);

let cached: { GPU: GpuClass; dir: string } | null = null;

/** gpu.js itself (CommonJS); throws with the loader's message when it is missing or broken. */
export function loadGpujs(): { GPU: GpuClass; dir: string } {
  if (cached) return cached;
  const entry = require.resolve('gpu.js');
  const mod = require(entry) as { GPU?: GpuClass };
  if (typeof mod.GPU !== 'function') throw new Error('gpu.js loaded but exports no GPU class');
  cached = { GPU: mod.GPU, dir: dirname(entry) };
  return cached;
}

/** The `gl` package as gpu.js resolves it (next to gpu.js), or the reason it cannot load. */
export function loadGl(): { ok: true; create: (w: number, h: number) => unknown } | { ok: false; reason: string } {
  const from = createRequire(`${loadGpujs().dir}/`);
  try {
    const create = from('gl') as (w: number, h: number) => unknown;
    return { ok: true, create };
  } catch (err) {
    return { ok: false, reason: firstLine(err) };
  }
}

/** Path and version of the optional `webgpu` package, resolved from this package. */
export function resolveWebgpu(): { ok: true; path: string; version: string } | { ok: false; reason: string } {
  try {
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
