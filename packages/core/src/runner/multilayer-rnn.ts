import { InputError } from '../backend/errors.js';
import type { Backend, DeviceBuffer, DType, GemmArgs, HostArray, KernelLevel } from '../backend/types.js';
import { cellSpec } from '../cells/index.js';
import type { CellRef, CellSpec, PackedSlot } from '../cells/spec.js';
import { initParam } from '../init/initializers.js';
import { Rng } from '../init/rng.js';
import type { TakeParam } from '../params/arena.js';
import { hostView, returnLike, type TensorInput, type TensorOutput } from '../params/foreign-tensor.js';
import { type HostTensor, packNamed, unpackNamed } from '../params/named.js';
import { checkPositiveInt, checkTensor, DEFAULT_DTYPE, type TensorLike } from '../params/validate.js';
import { addInto, gemmQueue } from './gemm-helpers.js';
import { type MemberSlot, slabScope } from './member-batch.js';
import { type FeaturePart, packedLengths, RecurrentUnit } from './recurrent-unit.js';
import { Workspace } from './workspace.js';

/** A MultiLayerRNN's cell, sizes, layout and precision. */
export interface RNNOptions {
  cell: CellRef;
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  /** Public tensors are [B, T, F] when true (the default), [T, B, F] otherwise. */
  batchFirst?: boolean;
  /** false: `output` is h_n of the last layer ([nd, B, H]) instead of the whole sequence. */
  returnSequences?: boolean;
  /** float32 unless given (DEFAULT_DTYPE, as everywhere in bistable). */
  dtype?: DType;
  /** Seed of the default initialisation. */
  seed?: number;
  /** Caps the kernel level (1: storage + GEMM only), for conformance and debugging. */
  maxLevel?: KernelLevel;
}

/** Initial states of every layer and direction; zeros where absent. */
export interface RNNState {
  /** [layers·nd, B, H] */
  h?: TensorInput;
  /** [layers·nd, B, H], LSTM only */
  c?: TensorInput;
}

/** Host tensors, or tf.Tensors when the input was one (`forward<X>` gives `RNNOutput<TensorOutput<X>>`). */
export interface RNNOutput<T = HostTensor> {
  /** [B, T, nd·H] (batch-first) or [T, B, nd·H]; with returnSequences=false, [nd, B, H]. */
  output: T;
  hN: T;
  cN: T | null;
}

/** Gradients flowing into `backward`: on the output and on the final states. */
export interface RNNGradients {
  /** Gradient on `output`, same shape. */
  output?: TensorInput;
  hN?: TensorInput;
  cN?: TensorInput;
}

/** A parameter as an optimiser sees it: a device buffer, its gradient and a stable name. */
export interface Parameter {
  name: string;
  value: DeviceBuffer;
  grad: DeviceBuffer;
}

/**
 * The lengths of a MultiLayerRNN's packed parameter buffers, in the order its units take them
 * (unit k = nd·layer + direction, each in packedLengths order): a ParamArena's plan.
 */
export function rnnParamLengths(
  cell: CellSpec,
  inputSize: number,
  hiddenSize: number,
  numLayers: number,
  bidirectional: boolean,
): number[] {
  return unitShapes(inputSize, hiddenSize, numLayers, bidirectional).flatMap(({ inputSize: I }) =>
    Object.values(packedLengths(cell, I, hiddenSize)),
  );
}

/** Each unit's input size and direction, unit k = nd·layer + direction (what the network builds). */
function unitShapes(inputSize: number, hiddenSize: number, numLayers: number, bidirectional: boolean) {
  const nd = bidirectional ? 2 : 1;
  return Array.from({ length: numLayers * nd }, (_, k) => ({
    inputSize: k < nd ? inputSize : nd * hiddenSize,
    reverse: k % nd === 1,
  }));
}

/**
 * brc_pytorch's MultiLayerBase: layers run one after the other over the whole sequence;
 * bidirectional layers concatenate time-aligned forward and backward outputs; backward cells
 * start as copies of the forward ones. Sequences live time-major on the backend.
 *
 * @example
 * ```ts
 * import { getBackend, MultiLayerRNN } from '@bistable/core';
 *
 * const backend = await getBackend('reference');
 * const rnn = new MultiLayerRNN(backend, {
 *   cell: 'BRC',
 *   inputSize: 3,
 *   hiddenSize: 8,
 *   numLayers: 2,
 *   bidirectional: true,
 *   seed: 1,
 * });
 * const [B, T] = [4, 12];
 * const x = { shape: [B, T, 3], data: Float32Array.from({ length: B * T * 3 }, (_, i) => Math.cos(i)) };
 *
 * // batch-first: output [B, T, 2·8], hN [layers·2, B, 8]; the initial state defaults to zeros
 * const { output, hN } = await rnn.forward(x);
 * console.log(output.shape, hN.shape);
 *
 * // backpropagation through time from a gradient on the output
 * const grads = await rnn.backward({
 *   output: { shape: output.shape, data: new Float32Array(output.data.length).fill(1) },
 * });
 * console.log(grads.x?.shape); // dL/dx: [B, T, 3]
 * const named = await rnn.getGradients(); // torch's names: cells.0.kernelz, …
 * console.log(Object.keys(named));
 * rnn.dispose();
 * ```
 */
export class MultiLayerRNN {
  readonly cell: CellSpec;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly batchFirst: boolean;
  readonly returnSequences: boolean;
  readonly dtype: DType;
  /** k = nd·layer + direction, as brc_pytorch's `cells.k`. */
  readonly units: RecurrentUnit[] = [];
  private readonly ws: Workspace;
  private last: { T: number; B: number } | null = null;

  /**
   * `take` gives the units their parameter and gradient buffers (a model's ParamArena, in
   * `rnnParamLengths` order); plain buffers by default.
   */
  constructor(
    readonly backend: Backend,
    opts: RNNOptions,
    take?: TakeParam,
    member?: MemberSlot,
  ) {
    this.cell = cellSpec(opts.cell);
    this.inputSize = checkPositiveInt('inputSize', opts.inputSize);
    this.hiddenSize = checkPositiveInt('hiddenSize', opts.hiddenSize);
    this.numLayers = checkPositiveInt('numLayers', opts.numLayers ?? 1);
    this.bidirectional = opts.bidirectional ?? false;
    this.batchFirst = opts.batchFirst ?? true;
    this.returnSequences = opts.returnSequences ?? true;
    this.dtype = opts.dtype ?? DEFAULT_DTYPE;
    if (!backend.dtypes.includes(this.dtype)) {
      throw new InputError(
        `backend '${backend.name}' does not support ${this.dtype}; it supports ${backend.dtypes.join(', ')}`,
      );
    }
    this.ws = new Workspace(backend, this.dtype, slabScope(member, 'rnn'));
    // the units in the order rnnParamLengths plans their parameters
    const shapes = unitShapes(this.inputSize, this.hiddenSize, this.numLayers, this.bidirectional);
    for (const [k, u] of shapes.entries()) {
      this.units.push(
        new RecurrentUnit(
          backend,
          this.cell,
          u.inputSize,
          this.hiddenSize,
          this.dtype,
          u.reverse,
          opts.maxLevel,
          take,
          // one buffer of ones for all units: GEMMs batched across units bind it once
          (n) => this.ones(n),
          member ? { ...member, key: `unit${k}` } : undefined,
        ),
      );
    }
    this.initialize(opts.seed ?? 0);
  }

  get nd(): number {
    return this.bidirectional ? 2 : 1;
  }

  /**
   * A buffer of at least n ones, shared by the units (and a model's readout); one it replaces
   * stays alive for work queued with it (Workspace.ones).
   */
  ones(n: number): DeviceBuffer {
    return this.ws.ones(n);
  }

  /** Default initialisation from a seed; backward cells copy the forward ones, as in brc_pytorch. */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    const named: Record<string, HostTensor> = {};
    for (let l = 0; l < this.numLayers; l++) {
      const I = l === 0 ? this.inputSize : this.nd * this.hiddenSize;
      const k = this.nd * l;
      for (const p of this.cell.params) {
        const shape = p.shape(I, this.hiddenSize);
        const data = initParam(p.init, shape, this.hiddenSize, rng);
        named[`cells.${k}.${p.name}`] = { shape, data };
        if (this.bidirectional) named[`cells.${k + 1}.${p.name}`] = { shape, data: data.slice() };
      }
    }
    this.setParameters(named);
  }

  /** Loads named parameters (`cells.k.name`, torch names and shapes). All must be present. */
  setParameters(given: Record<string, TensorInput>): void {
    const known = new Set(this.parameterNames());
    const named: Record<string, TensorLike> = {};
    for (const [name, t] of Object.entries(given)) {
      if (!known.has(name)) throw new InputError(`unknown parameter '${name}' for a ${this.describe()}`);
      named[name] = hostView(name, t);
    }
    this.units.forEach((u, k) => {
      const prefix = `cells.${k}.`;
      const own: Record<string, { shape: readonly number[]; data: ArrayLike<number> }> = {};
      for (const p of this.cell.params) own[p.name] = named[prefix + p.name];
      const slots = packNamed(this.cell, u.inputSize, this.hiddenSize, own, prefix);
      for (const [slot, data] of Object.entries(slots))
        this.backend.write(u.params[slot as PackedSlot]!, data);
    });
  }

  parameterNames(): string[] {
    return this.units.flatMap((_, k) => this.cell.params.map((p) => `cells.${k}.${p.name}`));
  }

  /** Named parameters in torch layout (downloads them). */
  async getParameters(): Promise<Record<string, HostTensor>> {
    return this.named('params');
  }

  /** Named gradients of the last backward, in torch layout. */
  async getGradients(): Promise<Record<string, HostTensor>> {
    return this.named('grads');
  }

  private async named(which: 'params' | 'grads'): Promise<Record<string, HostTensor>> {
    const out: Record<string, HostTensor> = {};
    for (const [k, u] of this.units.entries()) {
      const slots: Partial<Record<PackedSlot, HostArray>> = {};
      for (const [slot, buf] of Object.entries(u[which]))
        slots[slot as PackedSlot] = await this.backend.read(buf!);
      for (const [name, t] of Object.entries(unpackNamed(this.cell, u.inputSize, this.hiddenSize, slots))) {
        out[`cells.${k}.${name}`] = t;
      }
    }
    return out;
  }

  /** Packed parameters with their gradients, for optimisers (names are stable across runs). */
  parameters(): Parameter[] {
    return this.units.flatMap((u, k) =>
      (Object.keys(u.params) as PackedSlot[]).map((slot) => ({
        name: `cells.${k}.${slot}`,
        value: u.params[slot]!,
        grad: u.grads[slot]!,
      })),
    );
  }

  describe(): string {
    const dir = this.bidirectional ? 'bidirectional ' : '';
    return `${dir}${this.numLayers}-layer ${this.cell.name} (input ${this.inputSize}, hidden ${this.hiddenSize})`;
  }

  /** Sizes T and B of a public input tensor, checked. */
  private dims(x: TensorLike): { T: number; B: number } {
    checkTensor('input', x, [-1, -1, this.inputSize]);
    const [a, b] = x.shape;
    if (a === 0 || b === 0) throw new InputError(`input has an empty dimension: [${x.shape.join(', ')}]`);
    return this.batchFirst ? { B: a, T: b } : { T: a, B: b };
  }

  /** Uploads a public [B,T,F]/[T,B,F] host tensor as time-major [T,B,F] into a workspace buffer. */
  private uploadTimeMajor(name: string, t: TensorLike, T: number, B: number, F: number): DeviceBuffer {
    const buf = this.ws.get(name, T * B * F);
    if (!this.batchFirst) {
      this.backend.write(buf, t.data);
      return buf;
    }
    const host = this.hostScratch(name, T * B * F);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < T; s++) {
        const src = (b * T + s) * F;
        const dst = (s * B + b) * F;
        for (let f = 0; f < F; f++) host[dst + f] = t.data[src + f];
      }
    }
    this.backend.write(buf, host);
    return buf;
  }

  private readonly host = new Map<string, HostArray>();
  private hostScratch(name: string, n: number): HostArray {
    let a = this.host.get(name);
    if (!a || a.length !== n) {
      a = this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
      this.host.set(name, a);
    }
    return a;
  }

  /** Runs the network and keeps everything on the backend; returns T and B. */
  async forwardDevice(input: TensorInput, state?: RNNState): Promise<{ T: number; B: number }> {
    const x = hostView('input', input);
    const { T, B } = this.dims(x);
    const { H } = { H: this.hiddenSize };
    const L = this.numLayers * this.nd;
    const xbuf = this.uploadTimeMajor('x', x, T, B, this.inputSize);
    let h0: DeviceBuffer | null = null;
    let c0: DeviceBuffer | null = null;
    if (state?.h) {
      const h = hostView('initial state h', state.h);
      checkTensor('initial state h', h, [L, B, H]);
      h0 = this.ws.get('h0', L * B * H);
      this.backend.write(h0, h.data);
    }
    if (state?.c) {
      if (!this.cell.hasCellState) throw new InputError(`${this.cell.name} has no cell state; pass only h`);
      const c = hostView('initial state c', state.c);
      checkTensor('initial state c', c, [L, B, H]);
      c0 = this.ws.get('c0', L * B * H);
      this.backend.write(c0, c.data);
    }
    for (let l = 0; l < this.numLayers; l++) {
      const parts: FeaturePart[] =
        l === 0 ? [{ buf: xbuf, offset: 0, width: this.inputSize }] : this.layerOutputs(l - 1, B);
      for (let d = 0; d < this.nd; d++) {
        const k = this.nd * l + d;
        await this.units[k].forward(
          parts,
          T,
          B,
          h0 ? { buf: h0, offset: k * B * H } : null,
          c0 ? { buf: c0, offset: k * B * H } : null,
        );
      }
    }
    this.last = { T, B };
    return { T, B };
  }

  /** The time-major [T·B, H] output blocks of a layer, one per direction. */
  layerOutputs(layer: number, B: number): FeaturePart[] {
    return this.units
      .slice(this.nd * layer, this.nd * (layer + 1))
      .map((u) => ({ buf: u.hAll, offset: u.outputOffset(B), width: this.hiddenSize }));
  }

  /** The [B, H] final states of the last layer, one per direction (brc_pytorch's h_n[-nd:]). */
  finalStates(): FeaturePart[] {
    const { T, B } = this.need();
    return this.units
      .slice(-this.nd)
      .map((u) => ({ buf: u.hAll, offset: u.finalOffset(T, B), width: this.hiddenSize }));
  }

  private need(): { T: number; B: number } {
    if (!this.last) throw new Error('forward has not run');
    return this.last;
  }

  /** Runs the network and downloads its outputs; a tf.Tensor input gives tf.Tensors out. */
  async forward<X extends TensorInput>(x: X, state?: RNNState): Promise<RNNOutput<TensorOutput<X>>> {
    const r = await this.forwardHost(x, state);
    return {
      output: returnLike(x, r.output),
      hN: returnLike(x, r.hN),
      cN: r.cN ? returnLike(x, r.cN) : null,
    };
  }

  private async forwardHost(x: TensorInput, state?: RNNState): Promise<RNNOutput> {
    const { T, B } = await this.forwardDevice(x, state);
    const H = this.hiddenSize;
    const nd = this.nd;
    const L = this.units.length;
    const hN = new Float64Array(L * B * H);
    const cN = this.cell.hasCellState ? new Float64Array(L * B * H) : null;
    for (const [k, u] of this.units.entries()) {
      hN.set(await this.backend.read(u.hAll, u.finalOffset(T, B), B * H), k * B * H);
      if (cN) cN.set(await this.backend.read(u.cAll!, u.finalOffset(T, B), B * H), k * B * H);
    }
    const cast = (a: Float64Array): HostArray => (this.dtype === 'float64' ? a : Float32Array.from(a));
    const hNT = { shape: [L, B, H], data: cast(hN) };
    const cNT = cN ? { shape: [L, B, H], data: cast(cN) } : null;
    if (!this.returnSequences) {
      return {
        output: { shape: [nd, B, H], data: hNT.data.slice((L - nd) * B * H) },
        hN: hNT,
        cN: cNT,
      };
    }
    const F = nd * H;
    const out = this.dtype === 'float64' ? new Float64Array(T * B * F) : new Float32Array(T * B * F);
    const parts = this.layerOutputs(this.numLayers - 1, B);
    for (const [d, part] of parts.entries()) {
      const seq = await this.backend.read(part.buf, part.offset, T * B * H);
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const src = (s * B + b) * H;
          const dst = (this.batchFirst ? b * T + s : s * B + b) * F + d * H;
          out.set(seq.subarray(src, src + H), dst);
        }
      }
    }
    return { output: { shape: this.batchFirst ? [B, T, F] : [T, B, F], data: out }, hN: hNT, cN: cNT };
  }

  /**
   * Lengths of the device buffers a forward and backward over T steps of B rows allocate, by name
   * (`cells.k.<buffer>` for the units'); initial states and their gradients are counted as if
   * given. Memory planning reads this; each unit's entries come from the unit itself.
   */
  bufferLengths(T: number, B: number, opts: { inputGrad?: boolean } = {}): Record<string, number> {
    const H = this.hiddenSize;
    const LBH = this.units.length * B * H;
    const out: Record<string, number> = {
      x: T * B * this.inputSize,
      h0: LBH,
      dh0: LBH,
      dhNk: B * H,
      dOut: T * B * H,
    };
    if (opts.inputGrad) out.dx = T * B * this.inputSize;
    if (this.cell.hasCellState) Object.assign(out, { c0: LBH, dc0: LBH, dcNk: B * H });
    for (const [k, u] of this.units.entries()) {
      for (const [name, n] of Object.entries(u.bufferLengths(T, B))) out[`cells.${k}.${name}`] = n;
    }
    return out;
  }

  /**
   * Backpropagation through the last forward with device-resident gradients: `dOut[d]` on the
   * last layer's outputs of direction d ([T·B, H], time-major), `dFinal[d]` on its final state
   * ([B, H]); extra gradients on any layer's final states come through `dhN`/`dcN` ([L·nd,B,H]).
   * Fills every parameter gradient (adds to them with `accumulateGrads`: a micro-batch after the
   * first); returns the input gradient (time-major) when asked, and the initial states' gradients
   * unless `stateGrads` is false. With `later`, the weight gradients' GEMMs are appended to it for
   * the caller to run (gemmAll) instead of run here.
   */
  async backwardDevice(g: {
    dOut?: (DeviceBuffer | null)[];
    dFinal?: (DeviceBuffer | null)[];
    dhN?: DeviceBuffer | null;
    dcN?: DeviceBuffer | null;
    inputGrad?: boolean;
    accumulateGrads?: boolean;
    stateGrads?: boolean;
    later?: GemmArgs[];
  }): Promise<{ dx: DeviceBuffer | null; dh0: DeviceBuffer | null; dc0: DeviceBuffer | null }> {
    const { T, B } = this.need();
    const H = this.hiddenSize;
    const BH = B * H;
    const nd = this.nd;
    const be = this.backend;
    const L = this.units.length;
    const { queue, flush } = gemmQueue(be, g.later);
    const dx = g.inputGrad ? this.ws.get('dx', T * B * this.inputSize) : null;
    const wantState = g.stateGrads ?? true;
    const dh0 = wantState ? this.ws.get('dh0', L * BH) : null;
    const dc0 = wantState && this.cell.hasCellState ? this.ws.get('dc0', L * BH) : null;
    // per-unit final-state gradient: dhN[k] plus, for the last layer, dFinal[d]
    const dhNk = g.dhN ? this.ws.get('dhNk', BH) : null;
    const dcNk = g.dcN && this.cell.hasCellState ? this.ws.get('dcNk', BH) : null;
    // gradients flowing down into layer l's outputs (the top layer's come from the caller)
    const dOutBufs = this.units.map((_, k) => (k < L - nd ? this.ws.get(`dOut${k}`, T * BH) : null));
    for (let l = this.numLayers - 1; l >= 0; l--) {
      for (let d = 0; d < nd; d++) {
        const k = nd * l + d;
        const u = this.units[k];
        const top = l === this.numLayers - 1;
        const dOut: DeviceBuffer | null = top ? (g.dOut?.[d] ?? null) : dOutBufs[k];
        const fin = top ? (g.dFinal?.[d] ?? null) : null;
        // the readout's gradient alone goes in as it is; a sum needs the unit's own buffer
        let dhN: DeviceBuffer | null = g.dhN ? null : fin;
        if (g.dhN && dhNk) {
          be.copy(g.dhN, k * BH, dhNk, 0, BH);
          if (fin) addInto(be, fin, dhNk, BH, this.ones(1));
          dhN = dhNk;
        }
        let dcN: DeviceBuffer | null = null;
        if (g.dcN && dcNk) {
          be.copy(g.dcN, k * BH, dcNk, 0, BH);
          dcN = dcNk;
        }
        const dParts =
          l === 0
            ? [dx ? { buf: dx, offset: 0, accumulate: d > 0 } : null]
            : Array.from({ length: nd }, (_, j) => ({
                buf: dOutBufs[nd * (l - 1) + j]!,
                offset: 0,
                accumulate: d > 0,
              }));
        const r = await u.backward(dOut, dhN, dcN, dParts, g.accumulateGrads ?? false, queue);
        if (dh0) be.copy(r.dh0, 0, dh0, k * BH, BH);
        if (dc0 && r.dc0) be.copy(r.dc0, 0, dc0, k * BH, BH);
      }
    }
    flush();
    return { dx, dh0, dc0 };
  }

  /** Backpropagation from host gradients on `output`, `hN`, `cN`; returns host gradients. */
  async backward(
    given: RNNGradients,
    opts: { inputGrad?: boolean } = {},
  ): Promise<{ x: HostTensor | null; h0: HostTensor; c0: HostTensor | null }> {
    const { T, B } = this.need();
    const H = this.hiddenSize;
    const nd = this.nd;
    const L = this.units.length;
    const BH = B * H;
    const be = this.backend;
    const grad: { output?: TensorLike; hN?: TensorLike; cN?: TensorLike } = {
      output: given.output && hostView('gradient on output', given.output),
      hN: given.hN && hostView('gradient on hN', given.hN),
      cN: given.cN && hostView('gradient on cN', given.cN),
    };
    let dOut: DeviceBuffer[] | undefined;
    let dhN: DeviceBuffer | null = null;
    let dcN: DeviceBuffer | null = null;
    if (grad.hN) {
      checkTensor('gradient on hN', grad.hN, [L, B, H]);
      dhN = this.ws.get('g_hN', L * BH);
      be.write(dhN, grad.hN.data);
    }
    if (grad.cN) {
      if (!this.cell.hasCellState) throw new InputError(`${this.cell.name} has no cell state gradient`);
      checkTensor('gradient on cN', grad.cN, [L, B, H]);
      dcN = this.ws.get('g_cN', L * BH);
      be.write(dcN, grad.cN.data);
    }
    let dFinal: DeviceBuffer[] | undefined;
    if (grad.output && !this.returnSequences) {
      checkTensor('gradient on output', grad.output, [nd, B, H]);
      dFinal = Array.from({ length: nd }, (_, d) => {
        const buf = this.ws.get(`g_fin${d}`, BH);
        be.write(buf, Array.prototype.slice.call(grad.output!.data, d * BH, (d + 1) * BH));
        return buf;
      });
    } else if (grad.output) {
      const F = nd * H;
      checkTensor('gradient on output', grad.output, this.batchFirst ? [B, T, F] : [T, B, F]);
      dOut = Array.from({ length: nd }, (_, d) => {
        const host = this.hostScratch(`g_out${d}`, T * BH);
        for (let s = 0; s < T; s++) {
          for (let b = 0; b < B; b++) {
            const src = (this.batchFirst ? b * T + s : s * B + b) * F + d * H;
            for (let j = 0; j < H; j++) host[(s * B + b) * H + j] = grad.output!.data[src + j];
          }
        }
        const buf = this.ws.get(`g_out${d}`, T * BH);
        be.write(buf, host);
        return buf;
      });
    }
    const r = await this.backwardDevice({ dOut, dFinal, dhN, dcN, inputGrad: opts.inputGrad ?? true });
    let x: HostTensor | null = null;
    if (r.dx) {
      const I = this.inputSize;
      const tm = await be.read(r.dx);
      const data = this.dtype === 'float64' ? new Float64Array(T * B * I) : new Float32Array(T * B * I);
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const dst = (this.batchFirst ? b * T + s : s * B + b) * I;
          data.set(tm.subarray((s * B + b) * I, (s * B + b + 1) * I), dst);
        }
      }
      x = { shape: this.batchFirst ? [B, T, I] : [T, B, I], data };
    }
    const h0 = { shape: [L, B, H], data: await be.read(r.dh0!, 0, L * BH) };
    const c0 = r.dc0 ? { shape: [L, B, H], data: await be.read(r.dc0, 0, L * BH) } : null;
    return { x, h0, c0 };
  }

  dispose(): void {
    for (const u of this.units) u.dispose();
    this.ws.dispose();
  }
}
