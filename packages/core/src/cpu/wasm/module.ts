import { BackendUnavailableError } from '../../backend/errors.js';
import { HEAP_BASE } from '../heap.js';
import { type WasmMemory, type WasmModule, wasmApi } from './api.js';
import {
  CPU_WASM_PLAIN,
  CPU_WASM_PLAIN_FMA,
  CPU_WASM_SHARED,
  CPU_WASM_SHARED_FMA,
  RELAXED_SIMD_PROBE,
} from './binary.js';

/**
 * The exports of assembly/cpu. Every pointer is a byte address in the shared linear memory;
 * every parallel kernel takes (tid, nt, …) and computes its own share of the work.
 */
export interface CpuWasmExports {
  sgemm(
    tid: number,
    nt: number,
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    beta: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    bias: number,
    scratch: number,
    stride: number,
    mr: number,
  ): void;
  sgemmScratchBytes(n: number, k: number): number;
  /** Scratch bytes tileBench needs. */
  tileBenchBytes(): number;
  /** The mr-row (4 or 6) GEMM tile `reps` times over depth 256 at `scratch`, for timing. */
  tileBench(mr: number, reps: number, scratch: number): void;
  ger(tid: number, nt: number, ...args: number[]): void;
  rowTimesMatrix(tid: number, nt: number, ...args: number[]): void;
  rowDots(
    m: number,
    n: number,
    k: number,
    alpha: number,
    beta: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
  ): void;
  adam(
    param: number,
    grad: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    bc1: number,
    bc2sqrt: number,
  ): void;
  seqForward(tid: number, nt: number, ...args: number[]): void;
  seqBackward(tid: number, nt: number, ...args: number[]): void;
  seqReduce(
    cell: number,
    nt: number,
    B: number,
    H: number,
    dPw: number,
    dBx: number,
    dBh: number,
    dWx: number,
    xw: number,
    scratch: number,
    stride: number,
  ): void;
  seqScratchBytes(cell: number, B: number, H: number, nt: number): number;
  /** y = sigmoid(x) (kind 0) or tanh(x) (kind 1), n floats, n a multiple of 4 (tests use it). */
  activate(kind: number, x: number, y: number, n: number): void;
  /** First byte past the module's static data. */
  staticDataEnd(): number;
}

/** The kernels that run split across threads, by index (the worker protocol sends indices). */
export const PARALLEL_KERNELS = ['sgemm', 'ger', 'rowTimesMatrix', 'seqForward', 'seqBackward'] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

function decodeBase64(s: string): Uint8Array {
  // atob exists in browsers and in Node ≥ 16
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const VARIANTS: Record<string, string> = {
  plain: CPU_WASM_PLAIN,
  'plain-fma': CPU_WASM_PLAIN_FMA,
  shared: CPU_WASM_SHARED,
  'shared-fma': CPU_WASM_SHARED_FMA,
};
const compiled = new Map<string, Promise<WasmModule>>();

function api() {
  const w = wasmApi();
  if (!w) throw new BackendUnavailableError('cpu', 'this JavaScript engine has no WebAssembly');
  return w;
}

let relaxed: boolean | null = null;

/** Whether this engine runs relaxed SIMD (fused multiply-add): Node 22+, current browsers. */
export function hasRelaxedSimd(): boolean {
  relaxed ??= api().validate(decodeBase64(RELAXED_SIMD_PROBE));
  return relaxed;
}

/** Compiles (once) the plain or the shared-memory variant, with or without fused multiply-adds. */
export function compileCpuModule(shared: boolean, fma = false): Promise<WasmModule> {
  const key = `${shared ? 'shared' : 'plain'}${fma ? '-fma' : ''}`;
  let m = compiled.get(key);
  if (!m) {
    m = api().compile(decodeBase64(VARIANTS[key]));
    compiled.set(key, m);
  }
  return m;
}

export async function instantiateCpuModule(module: WasmModule, memory: WasmMemory): Promise<CpuWasmExports> {
  const instance = await api().instantiate(module, {
    env: {
      memory,
      abort: () => {
        throw new Error('cpu kernel aborted');
      },
    },
  });
  const exports = instance.exports as unknown as CpuWasmExports;
  // the kernels read constants from static data that the JavaScript heap must never overwrite
  if (exports.staticDataEnd() > HEAP_BASE) {
    throw new Error(
      `the cpu module's static data ends at ${exports.staticDataEnd()}, above the heap's base ${HEAP_BASE}`,
    );
  }
  return exports;
}
