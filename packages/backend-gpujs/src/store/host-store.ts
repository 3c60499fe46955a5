import type { KernelRunner } from '../engine/kernel-runner.js';
import type { KernelSource } from '../kernels/index.js';
import { GpujsBuffer, type Scope, type Store, type View } from './store.js';

class HostBuf extends GpujsBuffer {
  constructor(
    length: number,
    owner: object,
    readonly data: Float32Array,
  ) {
    super(length, owner);
  }
}

const dataOf = (b: GpujsBuffer): Float32Array => (b as HostBuf).data;

/**
 * The cpu and webasm modes: "device" memory is the host's, so a buffer is one mutable
 * Float32Array. Kernels get subarray views of exactly the range they read (webasm copies every
 * argument into its linear memory per call, so a view keeps that copy as small as the range),
 * and a kernel's fresh output is copied into place.
 */
export class HostStore implements Store {
  private readonly blank: View = { val: new Float32Array(1), off: 0 };
  private readonly scratch: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];

  constructor(private readonly runner: KernelRunner) {}

  alloc(length: number, owner: object): GpujsBuffer {
    return new HostBuf(length, owner, new Float32Array(length));
  }

  scope(): Scope {
    const runner = this.runner;
    const blank = this.blank;
    return {
      // the cpu and webasm modes take any number of arrays
      maxKernelArrays: Number.POSITIVE_INFINITY,
      view: async (buf, start, len) => ({ val: dataOf(buf).subarray(start, start + len), off: 0 }),
      concat: async (ranges) => {
        const out = new Float32Array(ranges.reduce((n, r) => n + r[2], 0));
        let at = 0;
        for (const [buf, start, len] of ranges) {
          out.set(dataOf(buf).subarray(start, start + len), at);
          at += len;
        }
        return { val: out, off: 0 };
      },
      standIn: async () => blank,
      run: (src: KernelSource, outLen: number, args: unknown[]) => runner.run(src, outLen, args),
      commit(out, outOff, buf, start, len) {
        dataOf(buf).set((out as Float32Array).subarray(outOff, outOff + len), start);
      },
      fill: (buf, start, len, value) => this.fill(buf, start, len, value),
      pack: (slot, v, rows, cols, sr, sc) => this.pack(slot, v, rows, cols, sr, sc),
      close() {},
    };
  }

  private pack(slot: 0 | 1, v: View, rows: number, cols: number, sr: number, sc: number): View {
    const n = rows * cols;
    if (this.scratch[slot].length < n) this.scratch[slot] = new Float32Array(n);
    const dst = this.scratch[slot];
    const src = v.val as Float32Array;
    for (let r = 0; r < rows; r++) {
      const so = v.off + r * sr;
      const d = r * cols;
      for (let c = 0; c < cols; c++) dst[d + c] = src[so + c * sc];
    }
    return { val: dst.subarray(0, n), off: 0 };
  }

  async write(buf: GpujsBuffer, start: number, data: Float32Array): Promise<void> {
    dataOf(buf).set(data, start);
  }

  async read(buf: GpujsBuffer, start: number, len: number): Promise<Float32Array> {
    return dataOf(buf).slice(start, start + len);
  }

  fill(buf: GpujsBuffer, start: number, len: number, value: number): void {
    dataOf(buf).fill(value, start, start + len);
  }

  copy(src: GpujsBuffer, srcStart: number, dst: GpujsBuffer, dstStart: number, len: number): void {
    dataOf(dst).set(dataOf(src).subarray(srcStart, srcStart + len), dstStart);
  }

  free(_buf: GpujsBuffer): void {
    // garbage collected
  }

  liveArrays(): number {
    return 0;
  }
}
