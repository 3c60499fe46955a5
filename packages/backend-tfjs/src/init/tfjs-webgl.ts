import { BackendUnavailableError, softwareAdapterName } from '@bistable/core';
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
  const be = new TfjsBackend('tfjs-webgl', 'webgl');
  const software = softwareAdapterName({ description: webglRenderer() ?? undefined });
  if (software) be.softwareDevice = software;
  return be;
}

type GlWithDebugInfo = {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
  getParameter(p: number): unknown;
  RENDERER: number;
};

/** The renderer string of tfjs's WebGL context ("ANGLE (Google, Vulkan … SwiftShader …)"), if it says. */
function webglRenderer(): string | null {
  try {
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: GlWithDebugInfo } }).gpgpu?.gl;
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const r = gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    return typeof r === 'string' ? r : null;
  } catch {
    return null;
  }
}
