import {
  type AdapterDescription,
  BackendUnavailableError,
  probeWebgpuQuietly,
  quietDawnEnvironment,
  softwareAdapterName,
} from '@bistable/core';
import { firstLine, loadGl, loadGpujs, resolveWebgpu } from './gpujs/load.js';
import type { GpuClass, GpuInstance, GpujsMode } from './gpujs/types.js';

const MIN_WEBGPU = [0, 3, 10];

const GL_HINT =
  "build it with python3, make, g++ and Debian's libxi-dev libglew-dev libgl1-mesa-dev pkg-config, then `pnpm rebuild gl`";

/**
 * Opens a gpu.js instance in `mode`, or throws BackendUnavailableError saying what is missing.
 * Checks run cheapest first, so the message names the first thing to fix.
 */
export async function openGpu(name: string, mode: GpujsMode): Promise<GpuInstance> {
  let GPU: GpuClass;
  try {
    GPU = await loadGpujs();
  } catch (err) {
    throw new BackendUnavailableError(
      name,
      `gpu.js could not be loaded: ${firstLine(err)}`,
      'pnpm add gpu.js@2.24.1',
    );
  }
  if (mode === 'webasm' && !GPU.isWebAssemblySupported) {
    throw new BackendUnavailableError(name, 'this runtime has no WebAssembly with SIMD');
  }
  if (mode === 'headlessgl') await checkHeadlessGl(name, GPU);
  if (mode === 'webgpu') await installNavigatorGpu(name);
  try {
    return new GPU({ mode });
  } catch (err) {
    throw new BackendUnavailableError(name, `gpu.js refused mode '${mode}': ${firstLine(err)}`);
  }
}

async function checkHeadlessGl(name: string, GPU: GpuClass): Promise<void> {
  const gl = await loadGl();
  if (!gl.ok) {
    throw new BackendUnavailableError(
      name,
      `the optional 'gl' package could not be loaded (${gl.reason})`,
      GL_HINT,
    );
  }
  if (process.platform === 'linux' && !process.env.DISPLAY) {
    throw new BackendUnavailableError(
      name,
      'no X server: DISPLAY is not set (headless-gl renders through GLX)',
      'run under xvfb-run -a, or start Xvfb and export DISPLAY',
    );
  }
  const ctx = gl.create(1, 1) as { getExtension(n: string): { destroy(): void } | null } | null;
  if (!ctx) {
    throw new BackendUnavailableError(
      name,
      `the gl package could not open a GL context on DISPLAY=${process.env.DISPLAY ?? ''}`,
      'check that the X server is running and offers GLX (Xvfb does)',
    );
  }
  const floats = ctx.getExtension('OES_texture_float') !== null;
  ctx.getExtension('STACKGL_destroy_context')?.destroy();
  if (!floats)
    throw new BackendUnavailableError(name, 'the GL context has no float textures (OES_texture_float)');
  if (!GPU.isHeadlessGLSupported) {
    throw new BackendUnavailableError(name, 'gpu.js found no usable headless-gl context');
  }
}

type Nav = { gpu?: { requestAdapter(): Promise<unknown> } };

/** gpu.js reads `navigator.gpu`; in Node it comes from the `webgpu` package (Dawn). */
async function installNavigatorGpu(name: string): Promise<void> {
  const g = globalThis as { navigator?: Nav };
  if (!g.navigator?.gpu) {
    const pkg = await resolveWebgpu();
    if (!pkg.ok) {
      throw new BackendUnavailableError(
        name,
        `the optional 'webgpu' package is not installed (${pkg.reason})`,
        'pnpm add webgpu@^0.6.2 (0.3.10 or later; 0.2.x needs a newer glibc than Debian 12 has)',
      );
    }
    if (compareVersions(pkg.version, MIN_WEBGPU) < 0) {
      throw new BackendUnavailableError(
        name,
        `webgpu ${pkg.version} is too old (0.3.10 or later is needed)`,
        'pnpm add webgpu@^0.6.2',
      );
    }
    // ask a child process first: where there is no adapter, Dawn's noise stays in the child
    const probe = await probeWebgpuQuietly(pkg.path);
    if (!probe.adapter) {
      throw new BackendUnavailableError(
        name,
        `WebGPU found no adapter (${probe.reason ?? 'Dawn found no usable Vulkan device'})`,
        'install a Vulkan driver; without a GPU, Mesa lavapipe works: eval "$(bash scripts/lavapipe.sh)"',
      );
    }
    await quietDawnEnvironment();
    let create: (flags: string[]) => Nav['gpu'];
    try {
      const mod = (await import((await import('node:url')).pathToFileURL(pkg.path).href)) as {
        create: typeof create;
      };
      create = mod.create;
    } catch (err) {
      throw new BackendUnavailableError(
        name,
        `the webgpu package (${pkg.version}) failed to load: ${firstLine(err)}`,
      );
    }
    const gpu = create([]);
    if (g.navigator)
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    else
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter().catch(() => null);
  if (!adapter) {
    throw new BackendUnavailableError(
      name,
      'WebGPU found no adapter (Dawn found no usable Vulkan device)',
      'install a Vulkan driver; without a GPU, Mesa lavapipe works: eval "$(bash scripts/lavapipe.sh)"',
    );
  }
  // GPUAdapterInfo's fields are getters on its prototype: read each (a spread copies none)
  const { info, isFallbackAdapter } = adapter as { info?: AdapterDescription; isFallbackAdapter?: boolean };
  webgpuSoftware = softwareAdapterName({
    vendor: info?.vendor,
    architecture: info?.architecture,
    device: info?.device,
    description: info?.description,
    isFallbackAdapter: info?.isFallbackAdapter ?? isFallbackAdapter,
  });
}

let webgpuSoftware: string | null = null;

/**
 * The WebGPU adapter's name where it emulates the GPU on the CPU (lavapipe, SwiftShader, a
 * fallback adapter), as seen by the last `openGpu(…, 'webgpu')`; null for a hardware adapter.
 */
export function webgpuSoftwareDevice(): string | null {
  return webgpuSoftware;
}

function compareVersions(v: string, min: number[]): number {
  const parts = v.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) - min[i];
  }
  return 0;
}
