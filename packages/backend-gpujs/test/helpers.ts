import { registerGpujsBackend } from '../src/index.js';
import type { GpujsVariant } from '../src/variants.js';

/**
 * The GPU modes' code path (device-resident rope storage, fused level-3 forward) on gpu.js's cpu
 * mode, so CI exercises it without a GPU, an X server or Vulkan.
 */
export const CPU_RESIDENT: GpujsVariant = {
  name: 'gpujs-cpu-resident',
  mode: 'cpu',
  priority: -1,
  storage: 'resident',
  sequenceKernels: true,
  description: 'test only: resident storage on the cpu mode',
};

registerGpujsBackend(CPU_RESIDENT);
