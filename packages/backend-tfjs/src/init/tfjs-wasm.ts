import { BackendUnavailableError } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import { firstLine, importFor } from './import-error.js';

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * In Node the .wasm binaries are read from the package's own dist folder (a file path, so no
 * network is needed). Browsers keep tfjs's default or whatever the page set with setWasmPaths.
 */
async function wasmDistFolder(): Promise<string> {
  const { createRequire } = await import('node:module');
  const { dirname } = await import('node:path');
  const require = createRequire(import.meta.url);
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
}

/** tfjs's WebAssembly backend (XNNPACK, SIMD where available), single-threaded in Node. */
export async function initTfjsWasm(): Promise<TfjsBackend> {
  const wasm = await importFor<typeof import('@tensorflow/tfjs-backend-wasm')>(
    'tfjs-wasm',
    '@tensorflow/tfjs-backend-wasm',
    "install it with 'pnpm add @tensorflow/tfjs-backend-wasm@^4.22.0'",
    () => import('@tensorflow/tfjs-backend-wasm'),
  );
  if (isNode && tf.findBackend('wasm') === null) {
    try {
      wasm.setWasmPaths(await wasmDistFolder());
    } catch (err) {
      throw new BackendUnavailableError('tfjs-wasm', `cannot locate the .wasm binaries: ${firstLine(err)}`);
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new BackendUnavailableError(
      'tfjs-wasm',
      'the WebAssembly module did not load',
      'this runtime needs WebAssembly',
    );
  }
  return new TfjsBackend('tfjs-wasm', 'wasm');
}
