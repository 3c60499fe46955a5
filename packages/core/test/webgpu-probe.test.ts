import { describe, expect, it } from 'vitest';
import { dawnReason, probeWebgpuQuietly } from '../src/index.js';

describe("Dawn's stderr, as a backend's reason", () => {
  it('keeps the first line that says something, without source locations or the XDG complaint', () => {
    const stderr = [
      'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
      '    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)',
      '',
    ].join('\n');
    expect(dawnReason(stderr)).toBe(
      "Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
    );
    expect(dawnReason('error: XDG_RUNTIME_DIR is invalid or not set in the environment.\n')).toBeNull();
    expect(dawnReason('')).toBeNull();
  });

  it('reports a module that is not Dawn as a failed probe, with the child’s own error', async () => {
    const r = await probeWebgpuQuietly('/nonexistent/webgpu/index.js', 20_000);
    expect(r.adapter).toBe(false);
    expect(r.reason).toMatch(/^the WebGPU probe failed: .*(Cannot find|ERR_MODULE_NOT_FOUND)/);
  });
});
