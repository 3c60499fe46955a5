export { WebgpuTfjsBackend } from './backend.js';
export { webgpuCellKernels } from './cell-kernels.js';
export { initWebgpu, webgpuAdapter } from './init.js';
export { type DispatchStats, wgslRunner } from './runner.js';
export {
  type RecurrentSplit,
  recurrentSplit,
  recurrentSubgroups,
  setRecurrentSplit,
  setRecurrentSubgroups,
} from './sequence-recurrent.js';
