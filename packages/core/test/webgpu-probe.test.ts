import { describe, expect, it } from 'vitest';
import { dawnReason, probeWebgpuQuietly, softwareAdapterName } from '../src/index.js';

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

describe('softwareAdapterName: a GPU emulated on the CPU, by what the adapter says', () => {
  it('names lavapipe, SwiftShader and fallback adapters', () => {
    // what Dawn says of Mesa's lavapipe, and Chromium's WebGL renderer string on SwiftShader
    expect(
      softwareAdapterName({
        vendor: 'mesa',
        description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      }),
    ).toBe('llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1');
    expect(
      softwareAdapterName({
        description:
          'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
      }),
    ).toMatch(/SwiftShader/);
    expect(softwareAdapterName({ vendor: 'google', architecture: 'swiftshader' })).toBe('swiftshader');
    expect(softwareAdapterName({ vendor: 'x', isFallbackAdapter: true })).toBe('x');
  });

  it('leaves hardware adapters alone', () => {
    expect(
      softwareAdapterName({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }),
    ).toBeNull();
    expect(
      softwareAdapterName({ vendor: 'mesa', description: 'AMD Radeon RX 7900 (radeonsi, navi31)' }),
    ).toBeNull();
    expect(softwareAdapterName({})).toBeNull();
    expect(softwareAdapterName(null)).toBeNull();
  });
});
