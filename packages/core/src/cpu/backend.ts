import { BackendUnavailableError, InputError } from '../backend/errors.js';
import type {
  AdamArgs,
  Backend,
  CellKernelOffer,
  DeviceBuffer,
  DType,
  GemmArgs,
  HostArray,
  NarrowSequenceBackwardArgs,
  NarrowSequenceForwardArgs,
  SequenceBackwardArgs,
  SequenceForwardArgs,
} from '../backend/types.js';
import { checkViewRange } from '../backend/views.js';
import type { CellSpec } from '../cells/spec.js';
import { nodeModule } from '../node-module.js';
import { adamHost } from '../optim/adam-math.js';
import { gemmHost } from '../reference/gemm.js';
import { dataOf, HostBuffer } from '../reference/host-buffer.js';
import type { ViewOf } from '../reference/host-kernels.js';
import { addrOf, asWasm, WasmBuffer, WasmView } from './buffer.js';
import { cpuCellKernels } from './cell-kernels.js';
import { MAX_PAGES, WasmHeap } from './heap.js';
import { type Dispatcher, singleThread, workerThreads } from './threads.js';
import { measureTileRows, type TileRows, tileRowsFromEnv } from './tile-choice.js';
import {
  type CpuWasmExports,
  compileCpuModule,
  hasRelaxedSimd,
  instantiateCpuModule,
} from './wasm/module.js';

/** Settings of a `cpu` backend made by hand (`getBackend('cpu')` uses the defaults). */
export interface CpuBackendOptions {
  /** Registered name (default 'cpu'). */
  name?: string;
  /**
   * Threads, the calling one included. Default: the machine's available parallelism (at most 8)
   * on Node, overridden by the environment variable BISTABLE_CPU_THREADS; 1 elsewhere.
   */
  threads?: number;
  /** Multiply-adds below which a kernel runs on the calling thread alone (waking workers costs ~10 µs). */
  parallelThreshold?: number;
  /**
   * Fused multiply-adds in the GEMM (the relaxed-SIMD build). Default: where the engine has relaxed
   * SIMD, unless the environment variable BISTABLE_CPU_FMA is 0. true where it has none throws
   * BackendUnavailableError.
   */
  fma?: boolean;
  /**
   * Rows of the GEMM's register tile, 4 or 6. Default: measured once at creation (the taller tile
   * is faster only where the engine keeps its twelve accumulators in registers), unless the
   * environment variable BISTABLE_CPU_TILE is 4 or 6.
   */
  tileRows?: TileRows;
}

/** The cells the WebAssembly sequence kernels implement, by the ids of assembly/cpu/cells.ts. */
export const WASM_CELL_IDS: Readonly<Record<string, number>> = { BRC: 0, nBRC: 1, GRU: 2, LSTM: 3 };
/** Widest input the sequence kernels project themselves (NARROW_MAX in assembly/cpu/sequence.ts). */
export const CPU_NARROW_INPUT_MAX = 4;
const DEFAULT_PARALLEL_THRESHOLD = 1 << 19;
const MEMORY_BOUND_FACTOR = 4;

/** The narrow input of a sequence pass, or null; wider than the kernels take is a RangeError. */
function narrowInputOf<N extends { width: number }>(a: object & { input?: N }): N | null {
  const narrow = a.input ?? null;
  if (narrow && narrow.width > CPU_NARROW_INPUT_MAX) {
    throw new RangeError(`a narrow input has at most ${CPU_NARROW_INPUT_MAX} features, got ${narrow.width}`);
  }
  return narrow;
}

/** An environment variable on Node; undefined elsewhere. */
function envFlag(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

function defaultThreads(): number {
  const proc = (
    globalThis as { process?: { env?: Record<string, string | undefined>; versions?: { node?: string } } }
  ).process;
  if (!proc?.versions?.node) return 1;
  const env = Number(proc.env?.BISTABLE_CPU_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return 0; // decided after the lazy import of node:os
}

async function nodeParallelism(): Promise<number> {
  try {
    const os = await nodeModule<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
}

/** A typed array and the index of a buffer's element 0 in it, whatever the buffer's kind. */
const viewOf: ViewOf = function viewOf(buf: DeviceBuffer): [HostArray, number] {
  if (buf instanceof WasmBuffer) return [buf.heap.f32, buf.index()];
  return [dataOf(buf), 0];
};

/**
 * The fast CPU backend: float32 kernels in WebAssembly SIMD (a register-blocked SGEMM and fused
 * whole-sequence kernels per cell), split across worker threads on Node. float64 runs through
 * core's host math. See assembly/cpu for the kernels and why they are shaped as they are.
 */
export class CpuBackend implements Backend {
  readonly name: string;
  readonly dtypes: readonly DType[] = ['float32', 'float64'];
  /** float32 lives in one 32-bit WebAssembly memory; float64 in host arrays. */
  readonly memoryLimits = { float32: MAX_PAGES * 65536 };
  private scratchPtr = 0;
  private scratchBytes = 0;
  private readonly finalizer: FinalizationRegistry<{ ptr: number; bytes: number }>;

  private constructor(
    name: string,
    readonly heap: WasmHeap,
    readonly wasm: CpuWasmExports,
    private readonly pool: Dispatcher,
    readonly parallelThreshold: number,
    /** Whether the GEMM fuses its multiply-adds (the relaxed-SIMD build). */
    readonly fma: boolean,
    /** Rows of the GEMM's register tile (4 or 6). */
    readonly tileRows: TileRows,
  ) {
    this.name = name;
    // a buffer dropped without dispose() gives its block back when it is collected
    this.finalizer = new FinalizationRegistry(({ ptr, bytes }) => heap.release(ptr, bytes));
  }

  static async create(opts: CpuBackendOptions = {}): Promise<CpuBackend> {
    let threads = opts.threads ?? defaultThreads();
    if (threads === 0) threads = Math.min(8, await nodeParallelism());
    threads = Math.max(1, Math.floor(threads));
    const shared = threads > 1 && typeof SharedArrayBuffer !== 'undefined';
    const fma = opts.fma ?? (hasRelaxedSimd() && envFlag('BISTABLE_CPU_FMA') !== '0');
    if (fma && !hasRelaxedSimd()) {
      throw new BackendUnavailableError(
        opts.name ?? 'cpu',
        'fused multiply-add was asked for, but this JavaScript engine has no relaxed SIMD',
        'use Node 22 or later (or Node 20 with --experimental-wasm-relaxed-simd), or leave fma unset',
      );
    }
    if (opts.tileRows !== undefined && opts.tileRows !== 4 && opts.tileRows !== 6) {
      throw new InputError(`tileRows must be 4 or 6, got ${String(opts.tileRows)}`);
    }
    const module = await compileCpuModule(shared, fma);
    const heap = new WasmHeap(shared);
    const wasm = await instantiateCpuModule(module, heap.memory);
    const tileRows =
      opts.tileRows ?? tileRowsFromEnv(envFlag('BISTABLE_CPU_TILE')) ?? measureTileRows(wasm, heap);
    const pool = (shared && (await workerThreads(wasm, module, heap.memory, threads))) || singleThread(wasm);
    return new CpuBackend(
      opts.name ?? 'cpu',
      heap,
      wasm,
      pool,
      opts.parallelThreshold ?? DEFAULT_PARALLEL_THRESHOLD,
      fma,
      tileRows,
    );
  }

  /** Threads the kernels run on, the calling one included. */
  get threads(): number {
    return this.pool.threads;
  }

  alloc(length: number, dtype: DType): DeviceBuffer {
    if (dtype === 'float64') return new HostBuffer(new Float64Array(length));
    if (dtype !== 'float32') throw new TypeError(`unknown dtype '${dtype}'`);
    const bytes = Math.max(1, length) * 4;
    const buf = new WasmBuffer(this.heap, this.heap.alloc(bytes), length);
    this.finalizer.register(buf, { ptr: buf.ptr, bytes }, buf);
    return buf;
  }

  write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    if (offset + data.length > buf.length) {
      throw new RangeError(`write of ${data.length} values at ${offset} overruns a buffer of ${buf.length}`);
    }
    const [arr, base] = viewOf(buf);
    arr.set(data, base + offset);
  }

  async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    const n = length ?? buf.length - offset;
    const [arr, base] = viewOf(buf);
    const view = arr.subarray(base + offset, base + offset + n);
    if (out) {
      out.set(view);
      return out;
    }
    return view.slice() as HostArray;
  }

  fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    const [arr, base] = viewOf(buf);
    const n = length ?? buf.length - offset;
    arr.fill(value, base + offset, base + offset + n);
  }

  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    const [s, sb] = viewOf(src);
    const [d, db] = viewOf(dst);
    if (s === d) d.copyWithin(db + dstOffset, sb + srcOffset, sb + srcOffset + length);
    else d.set(s.subarray(sb + srcOffset, sb + srcOffset + length), db + dstOffset);
  }

  /** Views start on a cache line, as every block of the heap does (heap.ts). */
  readonly viewAlign = 16;

  /** The same memory as `length` elements of `buf` from `offset`, freed with `buf`. */
  view(buf: DeviceBuffer, offset: number, length: number): DeviceBuffer {
    checkViewRange(buf.length, offset, length, this.viewAlign);
    if (buf instanceof HostBuffer) return buf.view(offset, length);
    const parent = asWasm(buf);
    return parent instanceof WasmView
      ? new WasmView(parent.parent, parent.offset + offset, length)
      : new WasmView(parent, offset, length);
  }

  dispose(buf: DeviceBuffer): void {
    // a view's memory is its parent's, freed with it
    if (!(buf instanceof WasmBuffer) || buf instanceof WasmView || buf.ptr < 0) return;
    this.finalizer.unregister(buf);
    this.heap.release(buf.ptr, Math.max(1, buf.length) * 4);
    buf.ptr = -1;
  }

  /** Per-thread scratch of `stride` bytes for every thread; returns its address. */
  private scratch(stride: number): number {
    const bytes = stride * this.pool.threads;
    if (bytes > this.scratchBytes) {
      if (this.scratchPtr) this.heap.release(this.scratchPtr, this.scratchBytes);
      this.scratchBytes = Math.max(bytes, this.scratchBytes * 2);
      this.scratchPtr = this.heap.alloc(this.scratchBytes);
    }
    return this.scratchPtr;
  }

  /** GEMM with a bias row (GemmArgs.bias) in the SIMD kernel's epilogue. */
  readonly gemmBias = true;

  cellKernels(cell: CellSpec): CellKernelOffer {
    return cpuCellKernels(this, cell, viewOf);
  }

  gemm(g: GemmArgs): void {
    const { m, n, k, alpha, beta, transA, transB, lda, ldb, ldc } = g;
    if (g.a instanceof HostBuffer && g.b instanceof HostBuffer && g.c instanceof HostBuffer) {
      gemmHost({ ...g, a: dataOf(g.a), b: dataOf(g.b), c: dataOf(g.c) });
      this.addBias(g);
      return;
    }
    if (m === 0 || n === 0) return;
    const a = asWasm(g.a).addr(g.aOffset);
    const b = asWasm(g.b).addr(g.bOffset);
    const cBuf = asWasm(g.c);
    const c = cBuf.addr(g.cOffset);
    if (k === 0 || alpha === 0) {
      const f = this.heap.f32;
      for (let i = 0; i < m; i++) {
        const row = cBuf.index(g.cOffset + i * ldc);
        if (beta === 0) f.fill(0, row, row + n);
        else for (let j = 0; j < n; j++) f[row + j] *= beta;
      }
      this.addBias(g);
      return;
    }
    const w = this.wasm;
    const bias = g.bias ? asWasm(g.bias).addr(g.biasOffset ?? 0) : 0;
    const parallel = m * n * k >= this.parallelThreshold;
    // memory-bound products (bias broadcasts, column sums) are split only from a few million
    // elements: below that a fork-join costs more than the second thread saves
    const large = m * n * k >= MEMORY_BOUND_FACTOR * this.parallelThreshold;
    if (k === 1) {
      // op(A) is m×1, op(B) 1×n: a rank-one update (bias rows, ones-vector broadcasts)
      this.pool.run(
        'ger',
        [m, n, alpha, beta, a, transA ? 1 : lda, b, transB ? ldb : 1, c, ldc, bias],
        large,
      );
      return;
    } else if (m === 1 && !transB) {
      // a row vector times a matrix: column sums (bias gradients), a one-output readout's gradient
      this.pool.run('rowTimesMatrix', [n, k, alpha, beta, a, transA ? lda : 1, b, ldb, c], large);
    } else if (n <= 4 && !transA && transB) {
      w.rowDots(m, n, k, alpha, beta, a, lda, b, ldb, c, ldc);
    } else {
      const stride = w.sgemmScratchBytes(n, k);
      const scratch = this.scratch(stride);
      this.pool.run(
        'sgemm',
        [
          transA ? 1 : 0,
          transB ? 1 : 0,
          m,
          n,
          k,
          alpha,
          beta,
          a,
          lda,
          b,
          ldb,
          c,
          ldc,
          bias,
          scratch,
          stride,
          this.tileRows,
        ],
        parallel,
      );
      return;
    }
    this.addBias(g);
  }

  /** Adds GemmArgs.bias to every row of C on the host (the products the SIMD GEMM does not run). */
  private addBias(g: GemmArgs): void {
    if (!g.bias) return;
    const [cArr, cBase] = viewOf(g.c);
    const [bArr, bBase] = viewOf(g.bias);
    const b0 = bBase + (g.biasOffset ?? 0);
    for (let i = 0; i < g.m; i++) {
      const row = cBase + g.cOffset + i * g.ldc;
      for (let j = 0; j < g.n; j++) cArr[row + j] += bArr[b0 + j];
    }
  }

  adam(a: AdamArgs): void {
    if (a.param instanceof HostBuffer) {
      adamHost({ ...a, param: dataOf(a.param), grad: dataOf(a.grad), m: dataOf(a.m), v: dataOf(a.v) });
      return;
    }
    const bc1 = 1 - a.beta1 ** a.step;
    const bc2sqrt = Math.sqrt(1 - a.beta2 ** a.step);
    this.wasm.adam(
      addrOf(a.param),
      addrOf(a.grad),
      addrOf(a.m),
      addrOf(a.v),
      a.param.length,
      a.lr,
      a.beta1,
      a.beta2,
      a.eps,
      a.weightDecay,
      bc1,
      bc2sqrt,
    );
  }

  /**
   * Level 3, float32: one layer and direction over all T steps, rows split across threads; with a
   * narrow input, its projections are computed inside the time loop.
   */
  sequenceForward(cell: string, gr: number, a: SequenceForwardArgs | NarrowSequenceForwardArgs): void {
    const id = WASM_CELL_IDS[cell];
    const narrow = narrowInputOf(a);
    const parallel = this.sequenceParallel(gr, a);
    const stride = this.wasm.seqScratchBytes(id, a.B, a.H, parallel ? this.pool.threads : 1);
    const scratch = this.scratch(stride);
    this.pool.run(
      'seqForward',
      [
        id,
        a.T,
        a.B,
        a.H,
        a.reverse ? 1 : 0,
        'p' in a ? addrOf(a.p) : 0,
        addrOf(a.wh),
        addrOf(a.bh),
        addrOf(a.pw),
        addrOf(a.hAll),
        addrOf(a.cAll),
        addrOf(a.cache),
        narrow ? addrOf(narrow.x, narrow.offset) : 0,
        narrow?.width ?? 0,
        narrow ? addrOf(narrow.wx) : 0,
        narrow ? addrOf(narrow.bias) : 0,
        scratch,
        stride,
        this.tileRows,
      ],
      parallel,
    );
  }

  /** Whether a sequence kernel is worth splitting: its recurrent multiply-adds (or units for BRC). */
  private sequenceParallel(gr: number, a: { T: number; B: number; H: number }): boolean {
    return this.pool.threads > 1 && a.T * a.B * a.H * Math.max(1, gr * a.H) >= this.parallelThreshold;
  }

  sequenceBackward(cell: string, gr: number, a: SequenceBackwardArgs | NarrowSequenceBackwardArgs): void {
    const id = WASM_CELL_IDS[cell];
    const narrow = narrowInputOf(a);
    const parallel = this.sequenceParallel(gr, a);
    const nt = parallel ? this.pool.threads : 1;
    const stride = this.wasm.seqScratchBytes(id, a.B, a.H, nt);
    const scratch = this.scratch(stride);
    this.pool.run(
      'seqBackward',
      [
        id,
        a.T,
        a.B,
        a.H,
        a.reverse ? 1 : 0,
        addrOf(a.wh),
        addrOf(a.pw),
        addrOf(a.hAll),
        addrOf(a.cAll),
        addrOf(a.cache),
        addrOf(a.dOut),
        addrOf(a.dhN),
        addrOf(a.dcN),
        addrOf(a.dP),
        addrOf(a.dR),
        addrOf(a.dh0),
        addrOf(a.dc0),
        a.dBx || a.dBh ? 1 : 0,
        narrow ? addrOf(narrow.x, narrow.offset) : 0,
        narrow?.width ?? 0,
        scratch,
        stride,
        this.tileRows,
      ],
      parallel,
    );
    if (a.dPw || a.dBx || a.dBh || narrow) {
      this.wasm.seqReduce(
        id,
        nt,
        a.B,
        a.H,
        addrOf(a.dPw),
        addrOf(a.dBx ?? null),
        addrOf(a.dBh ?? null),
        narrow ? addrOf(narrow.dWx) : 0,
        narrow?.width ?? 0,
        scratch,
        stride,
      );
    }
  }

  destroy(): void {
    this.pool.close();
  }
}
