/**
 * Where each backend runs and which dtypes it offers: those of core's catalog, and those core
 * registers itself. The catalog says what a backend needs; this says where that is found. A test
 * checks that this lists exactly those names.
 */
export interface Environment {
  node: string;
  browser: string;
  dtypes: string;
}

export const ENVIRONMENTS: Record<string, Environment> = {
  reference: { node: 'yes', browser: 'yes', dtypes: 'float64, float32' },
  cpu: {
    node: 'yes, on worker threads (needs WebAssembly SIMD)',
    browser: 'yes, on one thread (needs WebAssembly SIMD)',
    dtypes: 'float32 (WebAssembly), float64 (plain TypeScript)',
  },
  'tfjs-cpu': { node: 'yes', browser: 'yes', dtypes: 'float32' },
  'tfjs-wasm': {
    node: 'yes (reads the .wasm files from the package)',
    browser: 'yes, where the page serves the .wasm files (tfjs’s setWasmPaths)',
    dtypes: 'float32',
  },
  'tfjs-webgpu': {
    node: 'with the optional webgpu package (Dawn) and a Vulkan driver',
    browser: 'where WebGPU is enabled',
    dtypes: 'float32',
  },
  'tfjs-webgl': {
    node: 'no (WebGL needs a browser)',
    browser: 'where WebGL 2 is available',
    dtypes: 'float32',
  },
  'tfjs-node': {
    node: 'where @tensorflow/tfjs-node installs (it downloads libtensorflow)',
    browser: 'no',
    dtypes: 'float32',
  },
  'tfjs-node-gpu': { node: 'Linux with an NVIDIA GPU', browser: 'no', dtypes: 'float32' },
  'gpujs-cpu': { node: 'yes', browser: 'yes (the live demo trains on it)', dtypes: 'float32' },
  'gpujs-webasm': {
    node: 'yes, with WebAssembly SIMD',
    browser: 'not tested in a browser',
    dtypes: 'float32',
  },
  'gpujs-headlessgl': {
    node: 'with the optional gl package built, and an X server (Xvfb works)',
    browser: 'no',
    dtypes: 'float32',
  },
  'gpujs-webgpu': {
    node: 'with the optional webgpu package (Dawn) and a Vulkan driver',
    browser: 'not tested in a browser (gpu.js would use navigator.gpu)',
    dtypes: 'float32',
  },
};
