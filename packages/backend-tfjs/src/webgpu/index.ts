export { webgpuAdam } from './adam-kernel.js';
export { WebgpuTfjsBackend } from './backend.js';
export { webgpuCopy, webgpuFill, webgpuGemm } from './gemm-kernel.js';
export { initWebgpu } from './init.js';
export { registerWebgpuKernels } from './register.js';
export { type DispatchStats, wgslRunner } from './runner.js';
