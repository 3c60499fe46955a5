import type { DeviceBuffer, DType } from '@bistable/core';
import type { TensorOwner, TfjsBuffer } from '../buffer.js';

/**
 * `length` elements of a plain buffer from element `offset` (WebgpuTfjsBackend.view). A view has
 * no tfjs tensor of its own: the WGSL runner binds its range of the parent's GPU buffer (or the
 * whole parent, for a role marked `whole`), and the backend's read, write, fill and copy work on
 * the parent's range. A view always names the root buffer (a view of a view is flattened), lives
 * as long as its parent, and is never tracked or freed itself.
 *
 * This module imports nothing at run time, so the generic TfjsBackend can recognise views
 * (and refuse them where it would need a tensor) without loading anything of tfjs-webgpu.
 */
export class BufferView implements DeviceBuffer {
  constructor(
    readonly owner: TensorOwner,
    readonly parent: TfjsBuffer,
    readonly offset: number,
    readonly length: number,
  ) {}

  get dtype(): DType {
    return this.parent.dtype;
  }

  /** Whether the parent has been disposed (the view then is unusable). */
  get disposed(): boolean {
    return this.parent.disposed;
  }

  /** The parent buffer, which must still be alive. */
  get root(): TfjsBuffer {
    if (this.parent.disposed) {
      throw new Error(
        `a view (${this.length} values at ${this.offset}) of a buffer of backend '${this.owner.name}' ` +
          'was used after its parent buffer was disposed',
      );
    }
    return this.parent;
  }

  /** Describes the view in error messages. */
  toString(): string {
    return `view of ${this.length} values at ${this.offset} of a buffer of ${this.parent.length}`;
  }
}

export const isBufferView = (b: unknown): b is BufferView => b instanceof BufferView;

/** The buffer whose memory `b` is (a view's parent, else `b` itself): what a dispatch binds for it. */
export const memoryOf = <B extends object | null>(b: B): B | TfjsBuffer => (isBufferView(b) ? b.root : b);
