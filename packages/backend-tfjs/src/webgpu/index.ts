export { WebgpuTfjsBackend } from './backend.js';
export { initWebgpu, webgpuAdapter } from './init.js';
export { registerWebgpuKernels } from './register.js';
export { type DispatchStats, wgslRunner } from './runner.js';
