/**
 * The slice of gpu.js's API this package uses, typed narrowly: gpu.js ships its own typings, but
 * they describe the synchronous v2 contract and not the webgpu/webasm modes of 2.24.
 */
export type GpujsMode = 'cpu' | 'webasm' | 'headlessgl' | 'webgpu';

/** What `this` is inside a kernel function. */
export interface KernelThis {
  readonly thread: { readonly x: number; readonly y: number; readonly z: number };
}

/** A flat array argument inside a kernel (a typed array, GL texture or WebGPU buffer). */
export type Arr = { readonly [i: number]: number };

/** A kernel function: gpu.js parses its source, it never runs as plain JavaScript here. */
export type KernelFn = (this: KernelThis, ...args: never[]) => number;

export interface KernelSettings {
  output: number[];
  pipeline: boolean;
  immutable: boolean;
  dynamicArguments: boolean;
  dynamicOutput: boolean;
  loopMaxIterations: number;
  precision: 'single';
  tactic: 'precision';
  functions: readonly string[];
}

/** The inner kernel object behind a run shortcut (which gpu.js may swap on a type change). */
export interface InnerKernel {
  readonly constructor: { readonly name: string; readonly mode?: string };
  fallbackReason?: string | null;
  moduleCacheLimit?: number;
}

/** A compiled kernel as `createKernel` returns it. */
export interface RunShortcut {
  (...args: unknown[]): unknown;
  readonly kernel: InnerKernel;
  destroy?(removeCanvasReferences?: boolean): void;
}

export interface GpuInstance {
  /** `source`: a kernel function or its text (gpu.js parses either). */
  createKernel(source: KernelFn | string, settings: KernelSettings): RunShortcut;
  destroy(): void | Promise<void>;
}

export interface GpuClass {
  new (settings: { mode: GpujsMode }): GpuInstance;
  readonly isHeadlessGLSupported: boolean;
  readonly isWebAssemblySupported: boolean;
}

/** A GL texture or WebGPU buffer handle returned by a pipeline kernel. */
export interface DeviceHandle {
  toArray(): Float32Array | Promise<Float32Array>;
  delete(): void;
}
