import { CPU_PRIORITY, getBackend, probeBackend, registeredBackends } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { TFJS_BACKENDS } from '../src/index.js';

/**
 * `auto` follows measured speed (apps/docs/guide/choosing-backend.md): core's cpu backend trained
 * 3-4× faster than tfjs-wasm and 15-50× faster than tfjs-cpu and tfjs-webgl (SwiftShader), so only
 * tfjs-webgpu on a hardware GPU ranks above it. Before, tfjs-webgl (45), tfjs-node (40) and
 * tfjs-node-gpu (60) outranked cpu (33), and a browser without WebGPU trained on tfjs-webgl.
 */
describe('where the tfjs backends rank under auto', () => {
  const priority = (name: string) => TFJS_BACKENDS.find((b) => b.name === name)!.priority;
  const reference = () => registeredBackends().find((r) => r.name === 'reference')!.priority;

  it('tfjs-webgpu above core’s cpu backend, every other tfjs backend below it', () => {
    expect(priority('tfjs-webgpu')).toBeGreaterThan(CPU_PRIORITY);
    for (const b of TFJS_BACKENDS.filter((x) => x.name !== 'tfjs-webgpu'))
      expect(b.priority, b.name).toBeLessThan(CPU_PRIORITY);
    expect(priority('tfjs-wasm')).toBeGreaterThan(priority('tfjs-webgl'));
    // tfjs-cpu trained slower than core's plain-TypeScript reference, in Node and in Chromium
    expect(priority('tfjs-cpu')).toBeLessThan(reference());
    expect(priority('tfjs-webgl')).toBeGreaterThan(reference());
  });

  it('lists them in the order auto tries them', () => {
    const order = TFJS_BACKENDS.map((b) => b.priority);
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });

  it('takes cpu here unless tfjs-webgpu runs on a hardware GPU; lavapipe counts as emulated', async () => {
    const auto = await getBackend('auto');
    if (!(await probeBackend('tfjs-webgpu')).ok) {
      expect(auto.name).toBe('cpu');
      return;
    }
    const webgpu = await getBackend('tfjs-webgpu');
    if (/lvp|lavapipe/.test(process.env.VK_ICD_FILENAMES ?? '')) {
      expect(webgpu.softwareDevice).toMatch(/llvmpipe|lavapipe/);
    }
    expect(auto.name).toBe(webgpu.softwareDevice ? 'cpu' : 'tfjs-webgpu');
  });
});
