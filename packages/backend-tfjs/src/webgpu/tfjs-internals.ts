/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';

/**
 * The parts of tfjs-backend-webgpu 4.22's WebGPUBackend that the fused kernels use. Its public
 * program API (runWebGPUProgram) binds exactly one writable output, while a recurrent kernel
 * writes several buffers (states, caches, gradients) in one dispatch; so the kernels record their
 * own dispatches into the backend's command encoder and compute pass, through these members.
 * The package version is pinned; `webgpuInternals` checks every member before use.
 */
export interface TensorData {
  values: unknown;
  resource: unknown;
  refCount: number;
  dtype: string;
  external?: boolean;
}

export interface WebgpuInternals {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): TensorData | undefined; has(dataId: object): boolean };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  /** Copies a GPU buffer to a mappable one, submits, and maps it (every device-to-host read). */
  getBufferData(buffer: GPUBuffer): Promise<unknown>;
  uploadToGPU(dataId: object): void;
  makeUniforms(u: { type: 'int32' | 'uint32' | 'float32'; data: number[] }[]): GPUBufferBinding;
  makeTensorInfo(shape: number[], dtype: 'float32'): { dataId: object; shape: number[]; dtype: 'float32' };
  refCount(dataId: object): number;
  /** tfjs's pool of GPU buffers by size and usage (its reads borrow their mappable buffers here). */
  bufferManager: {
    acquireBuffer(size: number, usage: GPUBufferUsageFlags): GPUBuffer;
    releaseBuffer(buffer: GPUBuffer): void;
  };
}

const METHODS = [
  'ensureCommandEncoderReady',
  'endComputePassEncoder',
  'submitQueue',
  'getBufferData',
  'uploadToGPU',
  'makeUniforms',
  'makeTensorInfo',
  'refCount',
] as const;

/** What is missing from a tfjs backend object for the kernels to run on it (empty: nothing). */
export function missingInternals(be: unknown): string[] {
  const o = be as Record<string, unknown> | null;
  if (!o) return ['the backend itself'];
  const missing: string[] = METHODS.filter((m) => typeof o[m] !== 'function');
  if (!o.device) missing.push('device');
  if (!o.tensorMap) missing.push('tensorMap');
  if (!(o.commandQueueOwnedIds instanceof WeakSet)) missing.push('commandQueueOwnedIds');
  if (typeof o.dispatchCountInPass !== 'number') missing.push('dispatchCountInPass');
  const pool = o.bufferManager as Record<string, unknown> | undefined;
  if (typeof pool?.acquireBuffer !== 'function' || typeof pool?.releaseBuffer !== 'function')
    missing.push('bufferManager');
  return missing;
}

/** tfjs's registered 'webgpu' backend, viewed through the members the kernels use. */
export function webgpuInternals(): WebgpuInternals {
  const be = tf.findBackend('webgpu');
  if (!be) throw new Error("tfjs's 'webgpu' backend is not initialised");
  const missing = missingInternals(be);
  if (missing.length > 0) {
    throw new Error(
      `this @tensorflow/tfjs-backend-webgpu lacks what the fused kernels use: ${missing.join(', ')}`,
    );
  }
  return be as unknown as WebgpuInternals;
}
