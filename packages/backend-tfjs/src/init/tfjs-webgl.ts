import { BackendUnavailableError } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import { importFor } from './import-error.js';

/** Whether this environment can make a WebGL context at all (a browser, or a worker with OffscreenCanvas). */
function webglReason(): string | null {
  const g = globalThis as { document?: unknown; OffscreenCanvas?: unknown };
  if (typeof g.document === 'undefined' && typeof g.OffscreenCanvas === 'undefined') {
    return 'WebGL needs a browser (no document or OffscreenCanvas here); in Node use tfjs-wasm, tfjs-webgpu or tfjs-node';
  }
  return null;
}

/** tfjs's WebGL backend, for browsers without WebGPU. */
export async function initTfjsWebgl(): Promise<TfjsBackend> {
  const reason = webglReason();
  if (reason) throw new BackendUnavailableError('tfjs-webgl', reason);
  await importFor(
    'tfjs-webgl',
    '@tensorflow/tfjs-backend-webgl',
    "install it with 'pnpm add @tensorflow/tfjs-backend-webgl@^4.22.0', or add @tensorflow/tfjs, which includes it",
    () => import('@tensorflow/tfjs-backend-webgl'),
  );
  let ok = false;
  try {
    ok = await tf.setBackend('webgl');
  } catch {
    ok = false;
  }
  if (!ok || tf.getBackend() !== 'webgl') {
    throw new BackendUnavailableError('tfjs-webgl', 'this browser could not create a WebGL context for tfjs');
  }
  return new TfjsBackend('tfjs-webgl', 'webgl');
}
