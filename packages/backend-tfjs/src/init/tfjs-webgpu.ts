import type { AdamArgs } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import * as webgpu from '../webgpu/index.js';

/** What src/webgpu may offer beyond initWebgpu and registerWebgpuKernels. */
interface WebgpuExtras {
  /** A TfjsBackend subclass with WGSL storage ops (GEMM, copy, fill, Adam). */
  WebgpuTfjsBackend?: new (
    name?: string,
  ) => TfjsBackend;
  webgpuAdam?: (a: AdamArgs) => void;
}

/**
 * tfjs's WebGPU backend: `initWebgpu` (src/webgpu) finds an adapter (the browser's, or Dawn via
 * the `webgpu` npm package in Node) and starts tfjs-backend-webgpu; then its fused WGSL kernels
 * replace the generic tfjs-op ones for this backend name.
 */
export async function initTfjsWebgpu(): Promise<TfjsBackend> {
  await webgpu.initWebgpu(tf);
  const extra = webgpu as WebgpuExtras;
  const be = extra.WebgpuTfjsBackend
    ? new extra.WebgpuTfjsBackend('tfjs-webgpu')
    : new TfjsBackend('tfjs-webgpu', 'webgpu', { adam: extra.webgpuAdam });
  webgpu.registerWebgpuKernels(be.name);
  return be;
}
