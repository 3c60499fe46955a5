/** Every user-facing backend name, the package that provides it and what it needs. */
export interface CatalogEntry {
  name: string;
  packageName: string;
  requires: string;
}

/** Every backend bistable knows of, with the package that has it and what it needs. */
export const BACKEND_CATALOG: readonly CatalogEntry[] = [
  {
    name: 'reference',
    packageName: '@bistable/core',
    requires: 'nothing (plain TypeScript, float64 and float32)',
  },
  {
    name: 'cpu',
    packageName: '@bistable/core',
    requires: 'WebAssembly with SIMD (Node ≥ 16.4, current browsers); worker threads on Node',
  },
  { name: 'tfjs-cpu', packageName: '@bistable/backend-tfjs', requires: '@tensorflow/tfjs-core' },
  { name: 'tfjs-wasm', packageName: '@bistable/backend-tfjs', requires: '@tensorflow/tfjs-backend-wasm' },
  {
    name: 'tfjs-webgpu',
    packageName: '@bistable/backend-tfjs',
    requires: 'a WebGPU adapter (browser, or the webgpu npm package)',
  },
  { name: 'tfjs-webgl', packageName: '@bistable/backend-tfjs', requires: 'a browser with WebGL 2' },
  {
    name: 'tfjs-node',
    packageName: '@bistable/backend-tfjs',
    requires: '@tensorflow/tfjs-node (optional peer)',
  },
  {
    name: 'tfjs-node-gpu',
    packageName: '@bistable/backend-tfjs',
    requires: '@tensorflow/tfjs-node-gpu with CUDA 11.2 and cuDNN 8.1 (optional peer)',
  },
  { name: 'gpujs-cpu', packageName: '@bistable/backend-gpujs', requires: 'gpu.js' },
  { name: 'gpujs-webasm', packageName: '@bistable/backend-gpujs', requires: 'gpu.js' },
  {
    name: 'gpujs-headlessgl',
    packageName: '@bistable/backend-gpujs',
    requires: 'the gl package and an X server',
  },
  {
    name: 'gpujs-webgpu',
    packageName: '@bistable/backend-gpujs',
    requires: 'the webgpu npm package and a Vulkan adapter',
  },
];

/** The catalog's entry for a backend name, if any. */
export function catalogEntry(name: string): CatalogEntry | undefined {
  return BACKEND_CATALOG.find((e) => e.name === name);
}
