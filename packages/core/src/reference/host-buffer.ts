import type { DeviceBuffer, DType, HostArray } from '../backend/types.js';

/** A reference-backend buffer: a typed array on the host. */
export class HostBuffer implements DeviceBuffer {
  constructor(readonly data: HostArray) {}
  get length(): number {
    return this.data.length;
  }
  get dtype(): DType {
    return this.data instanceof Float64Array ? 'float64' : 'float32';
  }
  /** `length` elements from `offset`, sharing this buffer's memory (Backend.view on the host). */
  view(offset: number, length: number): HostBuffer {
    return new HostBuffer(this.data.subarray(offset, offset + length));
  }
}

/** A zero-filled host array of `length` in `dtype`. */
export function hostArray(length: number, dtype: DType): HostArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

/** The typed array behind a host buffer; any other buffer is a caller bug. */
export function dataOf(buf: DeviceBuffer): HostArray {
  if (!(buf instanceof HostBuffer)) throw new TypeError('buffer does not belong to a host backend');
  return buf.data;
}
