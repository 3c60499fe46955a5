import {
  type AdamArgs,
  type Backend,
  type CellKernelOffer,
  type CellSpec,
  type DeviceBuffer,
  type DType,
  type GemmArgs,
  type HostArray,
  InputError,
} from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { adamOnTensors } from './adam.js';
import { assign, range, type TensorOwner, TfjsBuffer, tfjsBuffer } from './buffer.js';
import { gemmOnTensors } from './gemm.js';
import { activeTfjsBackend, switchTfjsBackend } from './global-backend.js';
import { registerFusedStepKernels } from './kernels/fused-step.js';
import { tfjsCellKernels } from './kernels/index.js';
import { registerStridedKernels } from './kernels/strided.js';
import { isBufferView } from './webgpu/buffer-view.js';

// tfjs kernels for tfjs-cpu and tfjs-wasm (see kernels/host-kernels.ts); harmless elsewhere
registerStridedKernels();
registerFusedStepKernels();

/**
 * A bistable backend on one tfjs backend (`cpu`, `wasm`, `webgpu`, `tensorflow`). tfjs keeps a
 * single active backend per process, so every method first makes this backend's tfjs backend the
 * active one: several bistable tfjs backends can then be used in turn, and each keeps its
 * tensors on its own tfjs backend. All work inside a method is synchronous, so nothing can switch
 * the active backend half-way through; the user's own active backend is put back afterwards.
 */
export class TfjsBackend implements Backend, TensorOwner {
  readonly dtypes: readonly DType[] = ['float32'];
  private readonly live = new Set<TfjsBuffer>();
  /**
   * Where tfjs's device is a GPU emulated on the CPU (SwiftShader, lavapipe): its name. `auto`
   * then prefers every backend that runs natively (set by the WebGL and WebGPU inits).
   */
  softwareDevice?: string;

  /**
   * Where this backend's fused kernels for a cell come from (`cellKernels`): tfjs's own ops or
   * host kernels by default; tfjs-webgpu's init sets its WGSL kernels. Any cell, user-defined
   * ones included, gets kernels: all are rendered from the cell's recipe.
   */
  kernelSource: (cell: CellSpec) => CellKernelOffer | undefined;

  constructor(
    readonly name: string,
    readonly tfName: string,
  ) {
    this.kernelSource = (cell) => tfjsCellKernels(cell, tfName);
  }

  cellKernels(cell: CellSpec): CellKernelOffer | undefined {
    return this.kernelSource(cell);
  }

  /**
   * Makes `tfName` tfjs's active backend for the current synchronous work; the user's active
   * backend comes back when it ends (see global-backend.ts).
   */
  activate(): void {
    if (activeTfjsBackend() === this.tfName) return;
    switchTfjsBackend(this.tfName);
    if (activeTfjsBackend() !== this.tfName || tf.findBackend(this.tfName) === null) {
      throw new Error(`tfjs backend '${this.tfName}' of '${this.name}' is not initialised`);
    }
  }

  release(buf: TfjsBuffer): void {
    this.live.delete(buf);
  }

  /** Buffers allocated and not yet disposed. */
  get liveBuffers(): number {
    return this.live.size;
  }

  /**
   * The tfjs buffer behind `buf`, which must be one of this backend's plain buffers. A view
   * (tfjs-webgpu's `view`) has no tensor of its own: methods that work on tensors refuse it here,
   * and the backends that make views route theirs before this point.
   */
  protected own(buf: DeviceBuffer): TfjsBuffer {
    if (isBufferView(buf)) {
      if (buf.owner !== this)
        throw new TypeError(`buffer belongs to backend '${buf.owner.name}', not '${this.name}'`);
      throw new TypeError(
        `backend '${this.name}' cannot use a view of a buffer here: this operation works on whole ` +
          'tfjs tensors (pass the parent buffer with the offset instead)',
      );
    }
    const b = tfjsBuffer(buf);
    if (b.owner !== this)
      throw new TypeError(`buffer belongs to backend '${b.owner.name}', not '${this.name}'`);
    return b;
  }

  alloc(length: number, dtype: DType): DeviceBuffer {
    if (dtype !== 'float32') {
      throw new InputError(
        `backend '${this.name}' supports float32 only (tfjs has no float64), got ${dtype}`,
      );
    }
    if (!Number.isInteger(length) || length < 0)
      throw new InputError(`buffer length must be a whole number, got ${length}`);
    this.activate();
    const buf = new TfjsBuffer(this, tf.zeros([length], 'float32'));
    this.live.add(buf);
    return buf;
  }

  write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    const b = this.own(buf);
    this.activate();
    // always a copy: tfjs-cpu keeps the array it is given, and callers reuse theirs
    assign(b, offset, tf.tensor1d(Float32Array.from(data), 'float32'));
  }

  async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    const b = this.own(buf);
    const n = length ?? b.length - offset;
    this.activate();
    const t = range(b, offset, n);
    let data: Float32Array;
    try {
      data = (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
    // tfjs-cpu hands back its own storage: copy so callers may mutate what they get
    const result = out ?? new Float32Array(n);
    result.set(data.length === n ? data : data.subarray(0, n));
    return result;
  }

  fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    const b = this.own(buf);
    const n = length ?? b.length - offset;
    this.activate();
    assign(b, offset, tf.fill([n], value, 'float32'));
  }

  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    const s = this.own(src);
    const d = this.own(dst);
    this.activate();
    assign(
      d,
      dstOffset,
      tf.tidy(() => range(s, srcOffset, length)),
    );
  }

  dispose(buf: DeviceBuffer): void {
    this.own(buf).dispose();
  }

  gemm(g: GemmArgs): void {
    this.own(g.a);
    this.own(g.b);
    this.own(g.c);
    this.activate();
    gemmOnTensors(g);
  }

  adam(a: AdamArgs): void {
    for (const b of [a.param, a.grad, a.m, a.v]) this.own(b);
    this.activate();
    adamOnTensors(a);
  }

  /** Waits for queued work: reading back any fresh tensor does, on every tfjs backend. */
  async sync(): Promise<void> {
    this.activate();
    const t = tf.zeros([1]);
    try {
      await t.data();
    } finally {
      t.dispose();
    }
  }

  destroy(): void {
    for (const b of [...this.live]) b.dispose();
  }
}
