import { BackendUnavailableError, matmul, registerBackend } from '@bistable/core';
import { GpujsBackend } from './backend.js';
import { openGpu, webgpuSoftwareDevice } from './detect.js';
import { firstLine } from './gpujs/load.js';
import { GPUJS_VARIANTS, type GpujsVariant } from './variants.js';

/**
 * Opens gpu.js in the variant's mode and proves it computes: a small GEMM must come back right,
 * so `auto` never settles on a mode that loads but cannot run.
 */
export async function createGpujsBackend(variant: GpujsVariant): Promise<GpujsBackend> {
  const gpu = await openGpu(variant.name, variant.mode);
  const be = new GpujsBackend(variant, gpu);
  if (variant.mode === 'webgpu') be.softwareDevice = webgpuSoftwareDevice() ?? undefined;
  try {
    const a = be.alloc(6, 'float32');
    const b = be.alloc(6, 'float32');
    const c = be.alloc(4, 'float32');
    be.write(a, [1, 2, 3, 4, 5, 6]);
    be.write(b, [1, 0.5, -1, 2, 0.25, -2]);
    matmul(be, { m: 2, n: 2, k: 3, a, b, c });
    const got = Array.from(await be.read(c));
    const want = [-0.25, -1.5, 0.5, 0];
    if (got.some((v, i) => Math.abs(v - want[i]) > 1e-5)) {
      throw new Error(
        `a 2×3 by 3×2 test product came back as [${got.join(', ')}], expected [${want.join(', ')}]`,
      );
    }
    for (const x of [a, b, c]) be.dispose(x);
  } catch (err) {
    be.destroy();
    if (err instanceof BackendUnavailableError) throw err;
    throw new BackendUnavailableError(
      variant.name,
      `gpu.js mode '${variant.mode}' failed its self-test: ${firstLine(err)}`,
    );
  }
  return be;
}

/**
 * Registers one variant (lazy: nothing loads until the backend is asked for). Its instances
 * serve every cell's fused kernels themselves (GpujsBackend.cellKernels).
 */
export function registerGpujsBackend(variant: GpujsVariant): void {
  registerBackend({
    name: variant.name,
    priority: variant.priority,
    init: () => createGpujsBackend(variant),
    description: variant.description,
  });
}

let registered = false;

/**
 * Registers gpujs-webgpu, gpujs-headlessgl, gpujs-webasm and gpujs-cpu. Idempotent.
 *
 * @example
 * ```ts
 * // importing the package calls this: its backends join core's registry
 * import '@bistable/backend-gpujs';
 * import { getBackend } from '@bistable/core';
 *
 * const backend = await getBackend('gpujs-webasm'); // or 'auto', which now considers them too
 * console.log(backend.name);
 * ```
 */
export function registerGpujsBackends(): void {
  if (registered) return;
  registered = true;
  for (const v of GPUJS_VARIANTS) registerGpujsBackend(v);
}
