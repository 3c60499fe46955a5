export { WebgpuTfjsBackend } from './backend.js';
export { initWebgpu } from './init.js';
export { registerWebgpuKernels } from './register.js';
export { type DispatchStats, wgslRunner } from './runner.js';
