import type { DeviceBuffer } from '../backend/types.js';
import type { WasmHeap } from './heap.js';

/** A float32 buffer of the cpu backend: a block of its WebAssembly memory. */
export class WasmBuffer implements DeviceBuffer {
  readonly dtype = 'float32' as const;
  /** Byte address; -1 once disposed. */
  ptr: number;

  constructor(
    readonly heap: WasmHeap,
    ptr: number,
    readonly length: number,
  ) {
    this.ptr = ptr;
  }

  /** Element index of `offset` in the heap's float32 view. */
  index(offset = 0): number {
    if (this.ptr < 0) throw new Error('cpu buffer used after dispose');
    return (this.ptr >>> 2) + offset;
  }

  /** Byte address of element `offset`. */
  addr(offset = 0): number {
    if (this.ptr < 0) throw new Error('cpu buffer used after dispose');
    return this.ptr + 4 * offset;
  }
}

/**
 * `length` elements of another cpu buffer from `offset` (Backend.view): the same memory, freed
 * with its parent, so it fails as the parent does once that is disposed.
 */
export class WasmView extends WasmBuffer {
  constructor(
    readonly parent: WasmBuffer,
    readonly offset: number,
    length: number,
  ) {
    super(parent.heap, parent.addr(offset), length);
  }

  override index(offset = 0): number {
    if (this.parent.ptr < 0) throw new Error('cpu buffer used after dispose');
    return super.index(offset);
  }

  override addr(offset = 0): number {
    if (this.parent.ptr < 0) throw new Error('cpu buffer used after dispose');
    return super.addr(offset);
  }
}

/** Byte address of an optional buffer: 0 tells the kernels it is absent. */
export function addrOf(buf: DeviceBuffer | null, offset = 0): number {
  return buf ? asWasm(buf).addr(offset) : 0;
}

export function asWasm(buf: DeviceBuffer): WasmBuffer {
  if (!(buf instanceof WasmBuffer))
    throw new TypeError('buffer does not belong to the cpu backend (float32)');
  return buf;
}
