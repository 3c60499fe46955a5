import { softwareAdapterName } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../backend.js';
import * as webgpu from '../webgpu/index.js';

/**
 * tfjs's WebGPU backend: `initWebgpu` (src/webgpu) finds an adapter (the browser's, or Dawn via
 * the `webgpu` npm package in Node) and starts tfjs-backend-webgpu; the backend offers the fused
 * WGSL kernels rendered from each cell's recipe instead of the generic tfjs-op ones.
 */
export async function initTfjsWebgpu(): Promise<TfjsBackend> {
  await webgpu.initWebgpu(tf);
  const be = new webgpu.WebgpuTfjsBackend('tfjs-webgpu');
  // lavapipe, SwiftShader or a fallback adapter: auto then prefers the backends that run natively
  const software = softwareAdapterName(webgpu.webgpuAdapter());
  if (software) be.softwareDevice = software;
  return be;
}
