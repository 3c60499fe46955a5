/// <reference types="@webgpu/types" />

/**
 * One storage binding: a whole GPU buffer (no offset or size), or `size` bytes of it from byte
 * `offset` (a view's range).
 */
export interface BufferBinding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** The bind group entry resource of a binding. */
export function bindingResource(b: BufferBinding): GPUBufferBinding {
  return b.size === undefined
    ? { buffer: b.buffer }
    : { buffer: b.buffer, offset: b.offset ?? 0, size: b.size };
}

/** A uniform value as the runner declares it. */
export interface UniformValue {
  type: 'u32' | 'f32';
  value: number;
}

const MAX_GROUPS = 1024;
const MAX_PENDING = 4096;

/**
 * Bind groups (with their own uniform buffers) kept across dispatches. A training step records
 * the same few dozen dispatches with the same buffers and sizes every time, and building a bind
 * group and a uniform binding anew for each costs more host time than the dispatch itself; on a
 * fast GPU that host time is the step's floor.
 *
 * A group is kept only from the second time its key (pipeline, buffers with their bound ranges,
 * uniform values) is seen, so dispatches whose uniforms change every step (Adam's bias
 * corrections) never fill the cache.
 * The uniform buffer is written once, when the group is made, and never changes afterwards: its
 * values are part of the key. Evicted groups are dropped, not destroyed, since recorded work may
 * still use them; WebGPU frees them when unreferenced.
 */
export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly pending = new Set<string>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  hits = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A short identity for a GPU buffer (the object itself, not its contents). */
  private idOf(buf: GPUBuffer): number {
    let id = this.ids.get(buf);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(buf, id);
    }
    return id;
  }

  /** A whole buffer keys as its identity, a range as identity@offset+size (bytes). */
  private bindingKey(b: BufferBinding): string {
    const id = this.idOf(b.buffer);
    return b.size === undefined ? `${id}` : `${id}@${b.offset ?? 0}+${b.size}`;
  }

  key(pipelineKey: string, buffers: readonly BufferBinding[], uniforms: readonly UniformValue[]): string {
    return `${pipelineKey}#${buffers.map((b) => this.bindingKey(b)).join(',')}#${uniforms.map((u) => u.value).join(',')}`;
  }

  /** The cached group for `key`, or null; notes the key so that its next use makes one. */
  lookup(key: string): GPUBindGroup | null {
    const g = this.groups.get(key);
    if (g) {
      // most recently used last: eviction takes the first
      this.groups.delete(key);
      this.groups.set(key, g);
      this.hits++;
      return g;
    }
    return null;
  }

  /** Whether `key` was seen before without being cached (then the caller should `make` it). */
  seenBefore(key: string): boolean {
    if (this.pending.has(key)) {
      this.pending.delete(key);
      return true;
    }
    if (this.pending.size >= MAX_PENDING) this.pending.clear();
    this.pending.add(key);
    return false;
  }

  /** Builds, caches and returns a bind group whose binding 0 is a private uniform buffer. */
  make(
    key: string,
    pipeline: GPUComputePipeline,
    uniforms: readonly UniformValue[],
    buffers: readonly BufferBinding[],
  ): GPUBindGroup {
    // a uniform struct of 4-byte scalars, padded to WGSL's 16-byte struct alignment
    const bytes = Math.max(16, Math.ceil((uniforms.length * 4) / 16) * 16);
    const data = new ArrayBuffer(bytes);
    const u32 = new Uint32Array(data);
    const f32 = new Float32Array(data);
    uniforms.forEach((u, i) => {
      if (u.type === 'u32') u32[i] = u.value;
      else f32[i] = u.value;
    });
    const uniform = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(uniform, 0, data);
    const group = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: uniform } },
        ...buffers.map((b, i) => ({ binding: i + 1, resource: bindingResource(b) })),
      ],
    });
    if (this.groups.size >= MAX_GROUPS) this.groups.delete(this.groups.keys().next().value!);
    this.groups.set(key, group);
    return group;
  }
}
