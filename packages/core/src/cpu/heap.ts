import { type WasmMemory, wasmApi } from './wasm/api.js';

/** WebAssembly pages are 64 KiB. */
const PAGE = 65536;
/** Every block starts on a cache line (and so on a 16-byte SIMD boundary). */
const ALIGN = 64;
/**
 * Address 0 means "absent" to the kernels, so the first block starts above it; below it lies the
 * module's static data (its constant table).
 */
export const HEAP_BASE = 1024;
/** 4 GiB: the most a 32-bit WebAssembly memory can address. */
export const MAX_PAGES = 65536;

/**
 * The cpu backend's float32 storage: one WebAssembly memory, carved into blocks by a small
 * allocator on the JavaScript side (no allocator runs inside the module, so instances on several
 * threads can share the memory). Freed blocks go to free lists by exact size: a training loop
 * allocates the same sizes over and over, and gets the same blocks back.
 */
export class WasmHeap {
  readonly memory: WasmMemory;
  private top = HEAP_BASE;
  /** End of the highest block ever handed out: memory above it has never been written. */
  private highWater = HEAP_BASE;
  private readonly free = new Map<number, number[]>();
  private view: Float32Array;
  /** Bytes handed out and not yet freed. */
  inUse = 0;

  constructor(readonly shared: boolean) {
    const initial = 16;
    const api = wasmApi();
    if (!api) throw new Error('this JavaScript engine has no WebAssembly');
    this.memory = new api.Memory(shared ? { initial, maximum: MAX_PAGES, shared: true } : { initial });
    this.view = new Float32Array(this.memory.buffer);
  }

  /** A float32 view of the whole memory (replaced when the memory grows). */
  get f32(): Float32Array {
    return this.view;
  }

  /** A zero-filled block of at least `bytes` bytes; returns its address. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      this.reserve(ptr + size);
      this.top = ptr + size;
      // above the high-water mark the memory is as WebAssembly gave it: zero
      if (ptr >= this.highWater) {
        this.highWater = ptr + size;
        this.inUse += size;
        return ptr;
      }
      this.highWater = Math.max(this.highWater, ptr + size);
    }
    this.inUse += size;
    this.view.fill(0, ptr >>> 2, (ptr + size) >>> 2);
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.inUse -= size;
    if (ptr + size === this.top) {
      this.top = ptr;
      return;
    }
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(ptr);
  }

  private reserve(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new RangeError(`the cpu backend's memory would exceed 4 GiB (asked for ${end} bytes)`);
    }
    // grow by at least a quarter, so that a growing workload does not grow page by page
    this.memory.grow(Math.min(MAX_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4))));
    this.view = new Float32Array(this.memory.buffer);
  }
}
