import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { GpuClass } from './types.js';

const require = createRequire(import.meta.url);

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
export function loadGl():
  | { ok: true; create: (w: number, h: number) => unknown }
  | { ok: false; reason: string } {
  let from = require;
  try {
    from = createRequire(`${dirname(require.resolve('gpu.js'))}/`);
  } catch {
    // bundled: gpu.js is inlined, and `gl` (a native addon) resolves from here if at all
  }
  try {
    return { ok: true, create: from('gl') as (w: number, h: number) => unknown };
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
