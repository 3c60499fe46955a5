/// <reference types="@webgpu/types" />

import { type DeviceBuffer, type DeviceCounters, InputError } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { type TfjsBuffer, tfjsBuffer } from '../buffer.js';
import { BindGroupCache, type BufferBinding, bindingResource } from './bind-cache.js';
import { isBufferView } from './buffer-view.js';
import { type WebgpuInternals, webgpuInternals } from './tfjs-internals.js';
import { flatEntry, flatGroups, WGSL_MATH } from './wgsl-common.js';

/**
 * A kernel operand: a bistable buffer (a tfjs tensor underneath, or a view of one: a range of its
 * parent's GPU buffer) or a private scratch buffer.
 */
export type Operand = DeviceBuffer | GPUBuffer;

export interface Role {
  name: string;
  /** null: absent optional operand; the kernel's code must not name it. */
  buf: Operand | null;
  write: boolean;
  /**
   * A view binds its parent's whole GPU buffer, shared with every other `whole` role on views of
   * that parent and with the parent itself where it is an operand too; the kernel's code adds
   * `runner.elementOffset(buf)` (passed as a uniform) to its indices. Without it a view binds as
   * its own range and the code indexes it from 0. Plain buffers and GPU buffers always bind whole.
   */
  whole?: boolean;
}

export interface UniformField {
  name: string;
  type: 'u32' | 'f32';
  value: number;
}

export interface KernelSpec {
  /** Identifies the generated code (cell, sizes, variant); the binding pattern is appended here. */
  key: string;
  roles: Role[];
  uniforms: UniformField[];
  /** Workgroups to launch; counts beyond the per-dimension limit fold into y (see FLAT_INDEX). */
  workgroups: number;
  /** WGSL with the entry point `main`, given the variable name bound to each present role. */
  code: (v: Readonly<Record<string, string>>) => string;
  /** Submit right after this dispatch, so the device starts on long kernels at once. */
  flush?: boolean;
}

export interface DispatchStats {
  dispatches: number;
  pipelines: number;
  copiesOnWrite: number;
  /** Host writes by path (see WgslRunner.write): queue.writeBuffer straight into the buffer... */
  writesDirect: number;
  /** ...through the staging buffer, as a copy recorded after the unsubmitted work... */
  writesStaged: number;
  /** ...or straight in after submitting that work (a write too large to stage). */
  writesFlushed: number;
}

const isGpuBuffer = (o: Operand): o is GPUBuffer => !('dtype' in o);

/** The buffer an operand's elements live in: a view's parent, else the operand itself. */
const rootOf = (o: Operand): TfjsBuffer | GPUBuffer =>
  isGpuBuffer(o) ? o : isBufferView(o) ? o.root : tfjsBuffer(o);

/** The byte range one role asks to bind of a GPU buffer ([start, end)). */
interface RangeAsk {
  role: string;
  start: number;
  end: number;
}

/**
 * The ranges of one GPU buffer a dispatch binds, given what its roles ask for. WebGPU forbids a
 * buffer bound both read-only and writable in one dispatch, and a writable binding that overlaps
 * any other binding of the same buffer. So where any role writes the buffer, every binding of it
 * is writable and no two may overlap: ranges that start at the same byte merge into one binding
 * as long as the longest (each role indexes from its own start, which they share; a whole buffer
 * is the range from 0), and ranges that overlap from different starts cannot be bound at all.
 * Read-only ranges may overlap; those with one start still share a binding. Returns each
 * binding's [start, end), keyed by start.
 */
function planRanges(key: string, asks: readonly RangeAsk[], written: boolean): Map<number, number> {
  const sorted = [...asks].sort((a, b) => a.start - b.start || b.end - a.end);
  const ends = new Map<number, number>();
  let open: RangeAsk | null = null;
  let openEnd = 0;
  for (const a of sorted) {
    if (written && open && a.start !== open.start && a.start < openEnd) {
      throw new Error(
        `internal: kernel ${key} binds overlapping ranges of one GPU buffer and writes it: role ` +
          `'${open.role}' (bytes ${open.start}..${openEnd}) and role '${a.role}' (bytes ${a.start}..${a.end}); ` +
          'mark the view roles whole (and index them with runner.elementOffset), or pass the parent',
      );
    }
    if (!open || a.start !== open.start) {
      open = a;
      openEnd = a.end;
    } else openEnd = Math.max(openEnd, a.end);
    ends.set(a.start, Math.max(ends.get(a.start) ?? 0, a.end));
  }
  return ends;
}

/** Totals since counting began (WgslRunner.counters). */
interface Tally {
  /** Dispatches in command encoders already submitted, less those recorded before counting began. */
  dispatches: number;
  fusedBase: number;
  submits: number;
  readbacks: number;
  waitMs: number;
}

const now = (): number => globalThis.performance.now();

/**
 * Records fused kernels into tfjs-backend-webgpu's own command stream, so they interleave in
 * order with tfjs ops (GEMMs) on the same buffers without any synchronisation.
 *
 * Kernels write their outputs in place. tfjs treats tensors as immutable, so before a write the
 * runner makes sure the tensor behind the buffer is exclusively owned (copy on write when two
 * tensors share its storage) and drops any host copy tfjs cached when it was last read.
 */
export class WgslRunner {
  readonly device: GPUDevice;
  readonly stats: DispatchStats = {
    dispatches: 0,
    pipelines: 0,
    copiesOnWrite: 0,
    writesDirect: 0,
    writesStaged: 0,
    writesFlushed: 0,
  };
  readonly errors: string[] = [];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly scratchBufs = new Map<string, GPUBuffer>();
  private readonly submitBatch: number;
  private readonly maxGroupsPerDim: number;
  readonly bindCache: BindGroupCache;
  /** false: every dispatch builds its bind group anew (side-by-side measurements, tests). */
  cacheBindGroups = true;
  /** The most bytes staged per command encoder; a write beyond submits the work first (write). */
  stagingLimitBytes = 16 << 20;
  private staging: GPUBuffer | null = null;
  private stagingUsed = 0;
  /** The command encoder whose copies read the staging buffer's first `stagingUsed` bytes. */
  private stagingFor: GPUCommandEncoder | null = null;
  /** Staging buffers outgrown while recorded copies still read them; destroyed once submitted. */
  private retiredStaging: GPUBuffer[] = [];
  /** Device-work totals, from the first counters() call on; null until then. */
  private tally: Tally | null = null;

  constructor(readonly be: WebgpuInternals) {
    this.device = be.device;
    this.bindCache = new BindGroupCache(this.device);
    this.submitBatch = tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
    this.maxGroupsPerDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    // Dawn reports shader and validation errors asynchronously; keep them for tests and sync()
    this.device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      if (this.errors.length < 20) this.errors.push(msg);
    });
  }

  get workgroupStorageBytes(): number {
    return this.device.limits.maxComputeWorkgroupStorageSize;
  }

  /** The smallest subgroup this device runs, 0 without the 'subgroups' feature. */
  get subgroupSize(): number {
    if (!this.device.features.has('subgroups')) return 0;
    return (this.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize ?? 0;
  }

  /** GPU buffers to destroy once the work recorded before they were retired is done. */
  private retired: GPUBuffer[] = [];

  /**
   * Destroys `buf` at the next sync, after the device has finished the work recorded so far (which
   * may still read it). The caller must not record any more work with it.
   */
  retire(buf: GPUBuffer): void {
    this.retired.push(buf);
  }

  /** A private device buffer of at least `floats` values, reused across calls under `name`. */
  scratch(name: string, floats: number): GPUBuffer {
    const bytes = Math.max(4, floats * 4);
    const have = this.scratchBufs.get(name);
    if (have && have.size >= bytes) return have;
    // the old one may still be referenced by recorded work: destroyed once that work is done
    if (have) this.retire(have);
    const buf = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.scratchBufs.set(name, buf);
    return buf;
  }

  /**
   * The GPU buffer behind a bistable buffer (a view's: its parent's), made safe to write in place
   * when `write` (copy on write and the host cache apply to the parent, which the view shares).
   */
  private resolve(buf: DeviceBuffer | TfjsBuffer, write: boolean): GPUBuffer {
    const be = this.be;
    const tb = isBufferView(buf) ? buf.root : tfjsBuffer(buf);
    let t = tb.tensor;
    let data = be.tensorMap.get(t.dataId);
    if (!data) throw new Error("a buffer passed to a WGSL kernel does not live on tfjs's webgpu backend");
    if (write && (be.refCount(t.dataId) > 1 || data.external)) {
      be.uploadToGPU(t.dataId);
      const info = be.makeTensorInfo([t.size], 'float32');
      be.uploadToGPU(info.dataId);
      const src = data.resource as GPUBuffer;
      const dst = be.tensorMap.get(info.dataId)!.resource as GPUBuffer;
      be.ensureCommandEncoderReady();
      be.endComputePassEncoder();
      be.commandEncoder!.copyBufferToBuffer(src, 0, dst, 0, t.size * 4);
      be.commandQueueOwnedIds.add(t.dataId);
      const fresh = tf.engine().makeTensorFromTensorInfo(info, tf.findBackend('webgpu')!);
      tb.replace(fresh);
      t = tb.tensor;
      data = be.tensorMap.get(t.dataId)!;
      this.stats.copiesOnWrite++;
    }
    be.uploadToGPU(t.dataId);
    // the device copy changes: a host copy cached by an earlier read would go stale
    if (write) data.values = null;
    be.commandQueueOwnedIds.add(t.dataId);
    return data.resource as GPUBuffer;
  }

  private pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: key,
      });
      this.pipelines.set(key, p);
      this.stats.pipelines++;
    }
    return p;
  }

  /**
   * Dispatches (tfjs's programs and the fused kernels), submits and readbacks since the first call,
   * and the time the host waited for the device. tfjs keeps only a per-encoder dispatch count
   * (dispatchCountInPass, reset on submit), so the first call wraps the submitQueue and
   * getBufferData methods of this one tfjs backend object (own properties; tfjs's prototype and
   * other backends are untouched) to add that count up at each submit and to count readbacks.
   * Until then nothing is wrapped and counting costs nothing.
   */
  counters(): DeviceCounters {
    const be = this.be;
    if (!this.tally) {
      const tally: Tally = {
        dispatches: -be.dispatchCountInPass,
        fusedBase: this.stats.dispatches,
        submits: 0,
        readbacks: 0,
        waitMs: 0,
      };
      const submit = be.submitQueue;
      be.submitQueue = function (this: WebgpuInternals): void {
        tally.dispatches += be.dispatchCountInPass;
        tally.submits++;
        submit.call(be);
      };
      const getBufferData = be.getBufferData;
      be.getBufferData = async function (this: WebgpuInternals, buffer: GPUBuffer): Promise<unknown> {
        tally.readbacks++;
        const t0 = now();
        try {
          return await getBufferData.call(be, buffer);
        } finally {
          tally.waitMs += now() - t0;
        }
      };
      this.tally = tally;
    }
    const t = this.tally;
    return {
      dispatches: t.dispatches + be.dispatchCountInPass,
      fusedDispatches: this.stats.dispatches - t.fusedBase,
      submits: t.submits,
      readbacks: t.readbacks,
      waitMs: t.waitMs,
    };
  }

  /**
   * Submits everything recorded (tfjs's work and the kernels') and waits until the device has
   * run it. Throws the first WebGPU error reported since the last sync: Dawn reports shader and
   * validation errors asynchronously, and a failed command buffer would otherwise go unnoticed.
   */
  async sync(): Promise<void> {
    const be = this.be;
    be.endComputePassEncoder();
    if (be.commandEncoder) be.submitQueue();
    // buffers retired so far are read by nothing after the work submitted now
    const done = this.retired;
    this.retired = [];
    const t0 = this.tally ? now() : 0;
    await be.queue.onSubmittedWorkDone();
    for (const b of done) b.destroy();
    if (this.tally) this.tally.waitMs += now() - t0;
    if (this.errors.length > 0) {
      const first = this.errors[0];
      this.errors.length = 0;
      throw new Error(`WebGPU reported an error: ${first.split('\n')[0]}`);
    }
  }

  /**
   * `n` floats of an operand from element `offset` (a view's own offset is added), read back by a
   * copy command into a mappable buffer: a range of a larger buffer (a model's output in an
   * ensemble's shared workspace) costs no dispatch, where tfjs would slice it with one first.
   * The mappable buffer is borrowed from tfjs's pool, as its own reads do. Submits the recorded
   * work; counted as a readback (counters). `out` may be any array of numbers (float64 hosts).
   */
  async read<T extends { [i: number]: number; length: number } = Float32Array>(
    src: Operand,
    offset: number,
    n: number,
    out?: T,
  ): Promise<T> {
    if (!isGpuBuffer(src) && isBufferView(src) && (offset < 0 || n < 0 || offset + n > src.length))
      throw new RangeError(`read of ${n} values at ${offset} overruns a ${src}`);
    const result = out ?? (new Float32Array(n) as unknown as T);
    if (n <= 0) return result;
    const from = isGpuBuffer(src) ? src : this.resolve(src, false);
    const at = (offset + this.elementOffset(src)) * 4;
    const be = this.be;
    const usage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    const staging = be.bufferManager.acquireBuffer(n * 4, usage);
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.commandEncoder!.copyBufferToBuffer(from, at, staging, 0, n * 4);
    be.submitQueue();
    const t0 = now();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, n * 4);
      const data = new Float32Array(staging.getMappedRange(0, n * 4));
      if (result instanceof Float32Array) result.set(data);
      else for (let i = 0; i < n; i++) result[i] = data[i];
      staging.unmap();
    } finally {
      be.bufferManager.releaseBuffer(staging);
      if (this.tally) {
        this.tally.readbacks++;
        this.tally.waitMs += now() - t0;
      }
    }
    return result;
  }

  /**
   * A view's element offset in its parent (the kernel of a `whole` role adds it to its indices);
   * 0 for plain buffers and GPU buffers.
   */
  elementOffset(buf: Operand): number {
    return !isGpuBuffer(buf) && isBufferView(buf) ? buf.offset : 0;
  }

  /**
   * Copies `n` floats between operands (element offsets within each operand; a view's own offset
   * is added): a copy command, outside any compute pass, or, between two ranges of one GPU buffer
   * (views of one parent), which a copy command cannot do, one dispatch.
   */
  copy(src: Operand, srcOffset: number, dst: Operand, dstOffset: number, n: number): void {
    if (n <= 0) return;
    for (const [op, off] of [
      [src, srcOffset],
      [dst, dstOffset],
    ] as const) {
      if (!isGpuBuffer(op) && isBufferView(op) && (off < 0 || off + n > op.length))
        throw new RangeError(`copy of ${n} values at ${off} overruns a ${op}`);
    }
    // resolve the destination first: a copy on write then also serves a source of the same parent
    const to = isGpuBuffer(dst) ? dst : this.resolve(dst, true);
    const from = isGpuBuffer(src) ? src : this.resolve(src, false);
    const s = srcOffset + this.elementOffset(src);
    const d = dstOffset + this.elementOffset(dst);
    if (from === to) {
      if (s === d) return;
      if (Math.abs(s - d) < n) throw new Error('internal: a copy between overlapping ranges of one buffer');
      this.run({
        key: 'copy-within',
        roles: [{ name: 'buf', buf: to, write: true }],
        uniforms: [
          { name: 'n', type: 'u32', value: n },
          { name: 'sOff', type: 'u32', value: s },
          { name: 'dOff', type: 'u32', value: d },
        ],
        workgroups: flatGroups(n),
        code: (v) => flatEntry(`  ${v.buf}[u.dOff + idx] = ${v.buf}[u.sOff + idx];`),
      });
      return;
    }
    const be = this.be;
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.commandEncoder!.copyBufferToBuffer(from, s * 4, to, d * 4, n * 4);
  }

  /**
   * Writes host float32 values into an operand at element `offset`, in place: the GPU buffer
   * stays the same object (bind groups that name it stay valid) and only the written range
   * changes. The write takes its place in the command stream between the work recorded before
   * and after it, although this backend records work and submits it later in batches:
   *
   * - nothing recorded and unsubmitted: `queue.writeBuffer` into the buffer, which the queue
   *   orders after all submitted work and before anything submitted later;
   * - otherwise (a queue.writeBuffer would land before that recorded work ran) the values go to
   *   a free range of a staging buffer by queue.writeBuffer, and a copy from there is recorded
   *   after the work. Each write in one command encoder takes a range of its own; the ranges are
   *   reused once that encoder has been submitted, since later queue writes are ordered after it;
   * - a write that would take the bytes staged for one encoder over `stagingLimitBytes` submits
   *   the recorded work first, then writes directly (the staging buffer stays small).
   *
   * `values` is copied before this returns (queue.writeBuffer copies at once). A view's `offset`
   * counts from the view's start.
   */
  write(dst: Operand, offset: number, values: Float32Array): void {
    if (values.length === 0) return;
    if (!isGpuBuffer(dst) && isBufferView(dst)) {
      if (offset < 0 || offset + values.length > dst.length)
        throw new RangeError(`write of ${values.length} values at ${offset} overruns a ${dst}`);
      offset += dst.offset;
    }
    const to = isGpuBuffer(dst) ? dst : this.resolve(dst, true);
    const be = this.be;
    const bytes = values.length * 4;
    if (offset < 0 || offset * 4 + bytes > to.size)
      throw new RangeError(`write of ${values.length} values at ${offset} overruns a buffer`);
    // resolve may itself have recorded work (an upload, a copy on write): look after it
    const staged = be.commandEncoder && this.stagingFor === be.commandEncoder ? this.stagingUsed : 0;
    if (be.commandEncoder && staged + bytes > this.stagingLimitBytes) {
      be.endComputePassEncoder();
      be.submitQueue();
      this.stats.writesFlushed++;
    } else if (be.commandEncoder) {
      const at = this.stage(be.commandEncoder, bytes);
      this.device.queue.writeBuffer(this.staging!, at, values);
      be.endComputePassEncoder();
      be.commandEncoder.copyBufferToBuffer(this.staging!, at, to, offset * 4, bytes);
      this.stats.writesStaged++;
      return;
    } else {
      this.stats.writesDirect++;
    }
    this.device.queue.writeBuffer(to, offset * 4, values);
  }

  /** The byte offset of `bytes` free bytes in the staging buffer for copies recorded in `enc`. */
  private stage(enc: GPUCommandEncoder, bytes: number): number {
    if (this.stagingFor !== enc) {
      // the encoder that read the staging buffer has been submitted: its ranges are free again
      this.stagingFor = enc;
      this.stagingUsed = 0;
      for (const b of this.retiredStaging) b.destroy();
      this.retiredStaging = [];
    }
    const at = this.stagingUsed;
    if (!this.staging || at + bytes > this.staging.size) {
      if (this.staging && at > 0) this.retiredStaging.push(this.staging);
      else this.staging?.destroy();
      const size = Math.max(64 << 10, Math.min(2 * (this.staging?.size ?? 0), this.stagingLimitBytes), bytes);
      this.staging = this.device.createBuffer({
        size: Math.ceil(size / 4) * 4,
        usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.stagingUsed = bytes;
      return 0;
    }
    this.stagingUsed = at + bytes;
    return at;
  }

  /**
   * Records one dispatch of a generated kernel. Each distinct GPU buffer binds once (a plain
   * buffer, a GPU buffer, the parent of `whole` view roles), and each view without `whole` binds
   * its own range of its parent's GPU buffer, except where ranges must merge (planRanges).
   */
  run(spec: KernelSpec): void {
    const be = this.be;
    const present = spec.roles.filter((r) => r.buf !== null);
    // resolve each root once, for writing if any role writes it (a view of it or itself): a copy
    // on write then happens before any role's binding is taken
    const writeOf = new Map<TfjsBuffer | GPUBuffer, boolean>();
    for (const r of present) {
      const root = rootOf(r.buf!);
      writeOf.set(root, (writeOf.get(root) ?? false) || r.write);
    }
    const gpuOf = new Map<TfjsBuffer | GPUBuffer, GPUBuffer>();
    for (const [root, write] of writeOf)
      gpuOf.set(
        root,
        isGpuBuffer(root as Operand) ? (root as GPUBuffer) : this.resolve(root as TfjsBuffer, write),
      );
    // the byte range each role binds, and which GPU buffers any role writes
    const asks = new Map<GPUBuffer, RangeAsk[]>();
    const written = new Set<GPUBuffer>();
    const placed: { gb: GPUBuffer; start: number }[] = [];
    for (const r of present) {
      const op = r.buf!;
      const gb = gpuOf.get(rootOf(op))!;
      const ranged = !isGpuBuffer(op) && isBufferView(op) && !r.whole;
      const start = ranged ? op.offset * 4 : 0;
      const end = ranged ? start + op.length * 4 : gb.size;
      if (!asks.has(gb)) asks.set(gb, []);
      asks.get(gb)!.push({ role: r.name, start, end });
      if (r.write) written.add(gb);
      placed.push({ gb, start });
    }
    const ends = new Map<GPUBuffer, Map<number, number>>();
    for (const [gb, list] of asks) ends.set(gb, planRanges(spec.key, list, written.has(gb)));
    const slots: { buffer: GPUBuffer; start: number; end: number; write: boolean }[] = [];
    const names: Record<string, string> = {};
    const pattern: string[] = [];
    for (const [ri, r] of present.entries()) {
      const { gb, start } = placed[ri];
      let i = slots.findIndex((s) => s.buffer === gb && s.start === start);
      if (i < 0) {
        i = slots.length;
        // where any role writes a buffer, all its bindings are writable (see planRanges)
        slots.push({ buffer: gb, start, end: ends.get(gb)!.get(start)!, write: written.has(gb) });
      }
      names[r.name] = `buf${i}`;
      pattern.push(`${r.name}=${i}`);
    }
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    for (const sl of slots) {
      if (sl.end - sl.start > maxBinding) {
        throw new InputError(
          `a buffer of ${sl.end - sl.start} bytes exceeds this device's largest storage binding (${maxBinding} bytes); ` +
            'use a smaller batch, sequence length or hidden size',
        );
      }
      if (sl.start % align !== 0)
        throw new Error(
          `internal: kernel ${spec.key} binds a range at byte ${sl.start}, not a multiple of ${align}`,
        );
    }
    const limit = this.device.limits.maxStorageBuffersPerShaderStage;
    if (slots.length > limit) {
      throw new Error(
        `internal: kernel ${spec.key} binds ${slots.length} storage buffers; the device allows ${limit}`,
      );
    }
    const key = `${spec.key}|${pattern.join(',')}|${slots.map((s) => (s.write ? 'w' : 'r')).join('')}`;
    const fields =
      spec.uniforms.length > 0 ? spec.uniforms : [{ name: 'unused', type: 'u32' as const, value: 0 }];
    const pipeline = this.pipeline(key, () => {
      const struct = `struct Uniforms {\n${fields.map((f) => `  ${f.name}: ${f.type},`).join('\n')}\n};`;
      const decls = slots.map(
        (s, i) =>
          `@group(0) @binding(${i + 1}) var<storage, ${s.write ? 'read_write' : 'read'}> buf${i}: array<f32>;`,
      );
      // a kernel's `enable` directives must come before every declaration
      const body = spec.code(names);
      const enables = body.match(/^enable [\w, ]+;$/gm) ?? [];
      return [
        ...enables,
        struct,
        '@group(0) @binding(0) var<uniform> u: Uniforms;',
        ...decls,
        WGSL_MATH,
        enables.length ? body.replace(/^enable [\w, ]+;$/gm, '') : body,
      ].join('\n');
    });
    const buffers: BufferBinding[] = slots.map((s) =>
      s.start === 0 && s.end === s.buffer.size
        ? { buffer: s.buffer }
        : { buffer: s.buffer, offset: s.start, size: s.end - s.start },
    );
    const cache = this.cacheBindGroups ? this.bindCache : null;
    const cacheKey = cache?.key(key, buffers, fields) ?? '';
    let bindGroup = cache?.lookup(cacheKey) ?? null;
    if (!bindGroup && cache?.seenBefore(cacheKey))
      bindGroup = cache.make(cacheKey, pipeline, fields, buffers);
    if (!bindGroup) {
      const uniform = be.makeUniforms(
        fields.map((f) => ({ type: f.type === 'u32' ? 'uint32' : 'float32', data: [f.value] })),
      );
      bindGroup = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: uniform },
          ...buffers.map((b, i) => ({ binding: i + 1, resource: bindingResource(b) })),
        ],
      });
    }
    const n = Math.max(1, spec.workgroups);
    const x = Math.min(n, this.maxGroupsPerDim);
    const y = Math.ceil(n / x);
    be.ensureCommandEncoderReady();
    if (!be.computePassEncoder) be.computePassEncoder = be.commandEncoder!.beginComputePass({});
    const pass = be.computePassEncoder;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    be.dispatchCountInPass++;
    this.stats.dispatches++;
    if (spec.flush || be.dispatchCountInPass >= this.submitBatch) {
      be.endComputePassEncoder();
      be.submitQueue();
    }
  }
}

let current: { raw: unknown; runner: WgslRunner } | null = null;

/** The runner made last, if any, without starting one (or a tfjs backend) for the asking. */
export function currentRunner(): WgslRunner | null {
  return current?.runner ?? null;
}

/** The runner of tfjs's current 'webgpu' backend (rebuilt, and re-checked, if tfjs made a new one). */
export function wgslRunner(): WgslRunner {
  const raw = tf.findBackend('webgpu');
  if (current && current.raw === raw) return current.runner;
  current = { raw, runner: new WgslRunner(webgpuInternals()) };
  return current.runner;
}
