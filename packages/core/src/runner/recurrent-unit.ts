import { cellKernels, type UnitContext, type UnitKernels } from '../backend/cell-kernels.js';
import {
  type Backend,
  type DeviceBuffer,
  type DType,
  type GemmArgs,
  KERNEL_LEVEL,
  type KernelLevel,
  type NarrowInputKernels,
} from '../backend/types.js';
import type { CellSpec, PackedSlot } from '../cells/spec.js';
import { plainTake, type TakeParam } from '../params/arena.js';
import { addBiasRows, addInto, columnSumsArgs, gemmAll, gemmArgs, gemmQueue } from './gemm-helpers.js';
import { type MemberSlot, slabScope } from './member-batch.js';
import type { StepScratch } from './step-loop.js';
import { Workspace } from './workspace.js';

/** A [rows, width] contiguous block of a sequence, one of the parts a layer's input is made of. */
export interface FeaturePart {
  buf: DeviceBuffer;
  offset: number;
  width: number;
}

export type PackedBuffers = Partial<Record<PackedSlot, DeviceBuffer>>;

/** Lengths of the packed slots of a cell with input size I and hidden size H. */
export function packedLengths(spec: CellSpec, I: number, H: number): Partial<Record<PackedSlot, number>> {
  const out: Partial<Record<PackedSlot, number>> = { wx: I * spec.gx * H, bx: spec.nbx * H };
  if (spec.gr > 0) out.wh = H * spec.gr * H;
  if (spec.hasBh) out.bh = spec.gr * H;
  if (spec.npw > 0) out.pw = spec.npw * H;
  return out;
}

/**
 * Lengths of the device buffers one unit's forward and backward over T steps of B rows allocate,
 * by workspace name. `buffers`, `scratch` and `backward` take their sizes from here, so that memory
 * planning (SequenceModel's micro-batches) sees exactly what a pass allocates.
 */
export function unitBufferLengths(spec: CellSpec, H: number, T: number, B: number): Record<string, number> {
  const TB = T * B;
  const BH = B * H;
  const out: Record<string, number> = {
    p: TB * spec.gx * H,
    hAll: (T + 1) * BH,
    cache: TB * spec.cacheWidth * H,
    dP: TB * spec.gx * H,
    ones: TB,
    dh0: BH,
    dhA: BH,
    dhB: BH,
  };
  if (spec.hasCellState) Object.assign(out, { cAll: (T + 1) * BH, dc0: BH, dcA: BH, dcB: BH });
  if (spec.gr > 0) Object.assign(out, { r: BH * spec.gr, dR: TB * spec.gr * H });
  return out;
}

/**
 * One layer in one direction: its packed parameters and gradients, and the forward and backward
 * passes over a whole sequence at the highest kernel level the backend offers (or `maxLevel`).
 * The input projection of all T steps is one GEMM per input part; every weight gradient is one
 * GEMM over all T steps.
 */
export class RecurrentUnit {
  readonly params: PackedBuffers = {};
  readonly grads: PackedBuffers = {};
  private readonly ws: Workspace;
  private last: { T: number; B: number; parts: FeaturePart[]; narrow: NarrowInputKernels | null } | null =
    null;
  private kernelSet: { maxLevel: KernelLevel; set: UnitKernels } | null = null;
  private readonly ctx: UnitContext = { scratch: (B) => this.scratch(B) };
  /** A buffer of at least n ones: the unit's own, or one its owner shares among its units. */
  private readonly ones: (n: number) => DeviceBuffer;

  /** Where this unit sits in an Ensemble that batches its members' passes (null: on its own). */
  private readonly member: (MemberSlot & { key: string }) | null;
  /** The MemberBatch places of this unit's passes, by pass. */
  private readonly passKeys: Record<'forward' | 'backward' | 'projection' | 'input-gradient', string>;

  /**
   * `take` gives each packed slot its value and gradient buffers (a model's ParamArena; plain
   * buffers by default), in packedLengths order; `ones` shares a buffer of ones among units.
   * `member`: the unit's place in an Ensemble's member (its workspace then takes its buffers from
   * the ensemble's slabs under `key`, and its sequence passes run with the other members' at the
   * same unit: MemberBatch).
   */
  constructor(
    readonly be: Backend,
    readonly spec: CellSpec,
    readonly inputSize: number,
    readonly hiddenSize: number,
    readonly dtype: DType,
    readonly reverse: boolean,
    public maxLevel: KernelLevel = KERNEL_LEVEL.sequence,
    take: TakeParam = plainTake(be, dtype),
    ones?: (n: number) => DeviceBuffer,
    member?: MemberSlot & { key: string },
  ) {
    this.member = member ?? null;
    const key = member?.key ?? '';
    this.passKeys = {
      forward: `${key}/forward`,
      backward: `${key}/backward`,
      projection: `${key}/projection`,
      'input-gradient': `${key}/input-gradient`,
    };
    this.ws = new Workspace(be, dtype, slabScope(member, key));
    this.ones = ones ?? ((n) => this.ws.ones(n));
    for (const [slot, len] of Object.entries(packedLengths(spec, inputSize, hiddenSize))) {
      const { value, grad } = take(len);
      this.params[slot as PackedSlot] = value;
      this.grads[slot as PackedSlot] = grad;
    }
  }

  /** The complete kernel set for the next pass (see UnitKernels), rebuilt when maxLevel changes. */
  private kernels(): UnitKernels {
    if (this.kernelSet?.maxLevel !== this.maxLevel) {
      const set = cellKernels(this.be, this.spec, this.maxLevel, this.hiddenSize, this.dtype);
      this.kernelSet = { maxLevel: this.maxLevel, set };
    }
    return this.kernelSet.set;
  }

  /** The level used for the next pass: the highest the backend offers, capped by maxLevel. */
  level(): KernelLevel {
    return this.kernels().level;
  }

  /** [(T+1), B, H] states; outputs are `outputOffset(B)` onwards, T·B·H long. */
  get hAll(): DeviceBuffer {
    return this.need().hAll;
  }
  get cAll(): DeviceBuffer | null {
    return this.need().cAll;
  }
  outputOffset(B: number): number {
    return this.reverse ? 0 : B * this.hiddenSize;
  }
  /** Offset of the state after the last processed step. */
  finalOffset(T: number, B: number): number {
    return this.reverse ? 0 : T * B * this.hiddenSize;
  }

  private need() {
    if (!this.last) throw new Error('forward has not run');
    return this.buffers(this.last.T, this.last.B);
  }

  /** Lengths of the buffers a pass over T steps of B rows allocates (see unitBufferLengths). */
  bufferLengths(T: number, B: number): Record<string, number> {
    return unitBufferLengths(this.spec, this.hiddenSize, T, B);
  }

  private buffers(T: number, B: number) {
    const { spec, ws } = this;
    const n = this.bufferLengths(T, B);
    return {
      hAll: ws.get('hAll', n.hAll),
      cAll: spec.hasCellState ? ws.get('cAll', n.cAll) : null,
      cache: ws.get('cache', n.cache),
    };
  }

  private scratch(B: number): StepScratch {
    const { spec, ws } = this;
    // T = 1: the per-step scratch does not depend on T
    const n = this.bufferLengths(1, B);
    return {
      ones: this.ones(B),
      r: spec.gr > 0 ? ws.get('r', n.r) : null,
      dh: [ws.get('dhA', n.dhA), ws.get('dhB', n.dhB)],
      dc: spec.hasCellState ? [ws.get('dcA', n.dcA), ws.get('dcB', n.dcB)] : null,
    };
  }

  /**
   * The level-3 kernels that project this input inside their time loop (one part of at most their
   * width, in a dtype they run), or null. They must sum the bias gradients too: their backward
   * may never write dP.
   */
  private narrowKernels(parts: FeaturePart[]): NarrowInputKernels | null {
    const n = this.kernels().narrowInput;
    if (!n || parts.length !== 1 || parts[0].width > n.maxWidth || !n.dtypes.includes(this.dtype))
      return null;
    return n;
  }

  /**
   * Runs the layer over T steps of B rows. `parts` are [T·B, width] time-major blocks whose widths
   * add up to the input size; h0/c0 are [B, H] at the given offsets (null: zeros).
   */
  async forward(
    parts: FeaturePart[],
    T: number,
    B: number,
    h0: { buf: DeviceBuffer; offset: number } | null,
    c0: { buf: DeviceBuffer; offset: number } | null,
  ): Promise<void> {
    const { be, spec, hiddenSize: H, ws } = this;
    const TB = T * B;
    const gxH = spec.gx * H;
    const bufs = this.buffers(T, B);
    const narrow = this.narrowKernels(parts);
    const width = parts.reduce((w, part) => w + part.width, 0);
    if (width !== this.inputSize)
      throw new Error(`input parts add up to ${width}, expected ${this.inputSize}`);
    const p = narrow ? null : ws.get('p', this.bufferLengths(T, B).p);
    if (p) {
      // backends whose GEMM adds a bias row take the biases in the first part's product
      const bias = be.gemmBias && spec.nbx > 0 ? this.biasRow() : null;
      let row = 0;
      const projections = parts.map((part, i) => {
        const g = gemmArgs({
          m: TB,
          n: gxH,
          k: part.width,
          a: part.buf,
          aOffset: part.offset,
          b: this.params.wx!,
          bOffset: row * gxH,
          c: p,
          accumulate: i > 0,
          bias: i === 0 ? (bias?.row ?? null) : null,
          biasLength: bias?.length,
        });
        row += part.width;
        return g;
      });
      await this.gemmsWithMembers('projection', projections);
      if (!bias && spec.nbx > 0) addBiasRows(be, this.ones(TB), this.params.bx!, TB, spec.nbx * H, p, 0, gxH);
    }

    // kernels that start from zeros themselves save a fill per state (a promise of the sequence
    // kernels only: narrow-input kernels get their initial state written here)
    const zeroState = !narrow && !h0 && !c0 && this.kernels().writesZeroState;
    const initSlot = this.reverse ? T : 0;
    if (!zeroState) {
      if (h0) be.copy(h0.buf, h0.offset, bufs.hAll, initSlot * B * H, B * H);
      else be.fill(bufs.hAll, 0, initSlot * B * H, B * H);
      if (bufs.cAll) {
        if (c0) be.copy(c0.buf, c0.offset, bufs.cAll, initSlot * B * H, B * H);
        else be.fill(bufs.cAll, 0, initSlot * B * H, B * H);
      }
    }
    this.last = { T, B, parts, narrow };
    const common = {
      T,
      B,
      H,
      reverse: this.reverse,
      wh: this.params.wh ?? null,
      bh: this.params.bh ?? null,
      pw: this.params.pw ?? null,
      hAll: bufs.hAll,
      cAll: bufs.cAll,
      cache: bufs.cache,
      ...(zeroState ? { zeroState } : {}),
    };
    if (narrow) {
      const { buf: x, offset } = parts[0];
      await narrow.forward({
        ...common,
        input: { x, offset, width, wx: this.params.wx!, bias: this.paddedBias() },
      });
      return;
    }
    const kernels = this.kernels();
    const args = { ...common, p: p! };
    if (this.member && kernels.forwardMany)
      await this.member.batch.pass(this.passKeys.forward, this.member.index, args, kernels.forwardMany);
    else await kernels.forward(args, this.ctx);
  }

  /**
   * The input-projection bias for a GEMM with a bias row: bx itself where it covers every gate or
   * the GEMM takes a bias length, else bx padded with zeros to all gx·H columns.
   */
  private biasRow(): { row: DeviceBuffer; length?: number } {
    const { spec, hiddenSize: H } = this;
    if (spec.nbx === spec.gx) return { row: this.params.bx! };
    if (this.be.gemmBiasLength) return { row: this.params.bx!, length: spec.nbx * H };
    return { row: this.paddedBias() };
  }

  /** bx as a row of all gx·H projection columns: zeros where a cell has no input bias (BRC's h gate). */
  private paddedBias(): DeviceBuffer {
    const { spec, hiddenSize: H } = this;
    if (spec.nbx === spec.gx) return this.params.bx!;
    const row = this.ws.get('bxRow', spec.gx * H);
    this.be.copy(this.params.bx!, 0, row, 0, spec.nbx * H);
    return row;
  }

  /**
   * Backpropagation through the last forward. `dOut` is the gradient on the outputs ([T,B,H],
   * null for none), dhN/dcN on the final state. Writes every parameter gradient (overwriting, or
   * adding to what they hold when `accumulateGrads`: micro-batches of one batch), returns dh0/dc0
   * in workspace buffers, and writes the input gradient of each part into the matching `dParts`
   * entry (accumulating where `accumulate` is set, skipped where null). With `later`, the weight
   * gradients' GEMMs (weights and bias sums over all T steps) are appended to it instead of run:
   * the caller runs them with other units' (gemmAll), after which the gradients are written.
   */
  async backward(
    dOut: DeviceBuffer | null,
    dhN: DeviceBuffer | null,
    dcN: DeviceBuffer | null,
    dParts: ({ buf: DeviceBuffer; offset: number; accumulate: boolean } | null)[],
    accumulateGrads = false,
    later?: GemmArgs[],
  ): Promise<{ dh0: DeviceBuffer; dc0: DeviceBuffer | null }> {
    if (!this.last) throw new Error('backward called before forward');
    const { be, spec, hiddenSize: H, ws } = this;
    const { T, B, parts, narrow } = this.last;
    const TB = T * B;
    const gxH = spec.gx * H;
    const grH = spec.gr * H;
    const bufs = this.buffers(T, B);
    const n = this.bufferLengths(T, B);
    const { queue, flush } = gemmQueue(be, later, true);
    // a narrow input's kernels write dP only when the input gradient needs it
    const dP = narrow && !dParts[0] ? null : ws.get('dP', n.dP);
    const dR = spec.gr > 0 ? ws.get('dR', n.dR) : null;
    const dh0 = ws.get('dh0', n.dh0);
    const dc0 = spec.hasCellState ? ws.get('dc0', n.dc0) : null;
    // Gradients the kernels write (dPw, fused bias sums, a narrow input's dWx) are overwritten, so
    // an accumulating pass has them write a scratch copy that `settle` adds in afterwards.
    const scratchOr = (g: DeviceBuffer, name: string) => (accumulateGrads ? ws.get(name, g.length) : g);
    const settle = (part: DeviceBuffer | null, grad: DeviceBuffer | undefined) => {
      if (part && part !== grad) addInto(be, part, grad!, part.length, this.ones(1));
    };
    const fusedBias = narrow !== null || this.kernels().biasGradients;
    const dPw = this.grads.pw ? scratchOr(this.grads.pw, 'dPwPart') : null;
    const dBx = fusedBias ? scratchOr(this.grads.bx!, 'dBxPart') : null;
    const dBh = fusedBias && this.grads.bh ? scratchOr(this.grads.bh, 'dBhPart') : null;
    const common = {
      T,
      B,
      H,
      reverse: this.reverse,
      wh: this.params.wh ?? null,
      pw: this.params.pw ?? null,
      hAll: bufs.hAll,
      cAll: bufs.cAll,
      cache: bufs.cache,
      dOut,
      dhN,
      dcN,
      dR,
      dh0,
      dc0,
      dPw,
      dBx,
      dBh,
    };
    const dWx = narrow ? scratchOr(this.grads.wx!, 'dWxPart') : null;
    if (narrow) {
      const { buf: x, offset, width } = parts[0];
      await narrow.backward({ ...common, dP, input: { x, offset, width, dWx: dWx! } });
    } else {
      const kernels = this.kernels();
      const args = { ...common, dP: dP! };
      if (this.member && kernels.backwardMany)
        await this.member.batch.pass(this.passKeys.backward, this.member.index, args, kernels.backwardMany);
      else await kernels.backward(args, this.ctx);
    }

    // weight gradients: one GEMM each over all T steps (a narrow input's come from its kernels)
    let row = 0;
    const inputGradients: GemmArgs[] = [];
    parts.forEach((part, i) => {
      if (!dWx) {
        queue.push(
          gemmArgs({
            m: part.width,
            n: gxH,
            k: TB,
            a: part.buf,
            aOffset: part.offset,
            transA: true,
            lda: part.width,
            b: dP!,
            c: this.grads.wx!,
            cOffset: row * gxH,
            accumulate: accumulateGrads,
          }),
        );
      }
      const dPart = dParts[i];
      if (dPart) {
        inputGradients.push(
          gemmArgs({
            m: TB,
            n: part.width,
            k: gxH,
            a: dP!,
            b: this.params.wx!,
            bOffset: row * gxH,
            transB: true,
            ldb: gxH,
            c: dPart.buf,
            cOffset: dPart.offset,
            accumulate: dPart.accumulate,
          }),
        );
      }
      row += part.width;
    });
    await this.gemmsWithMembers('input-gradient', inputGradients);
    if (!fusedBias && spec.nbx > 0) {
      const g = this.grads.bx!;
      queue.push(columnSumsArgs(this.ones(TB), dP!, 0, TB, spec.nbx * H, gxH, g, 0, accumulateGrads));
    }
    if (!fusedBias && dR && this.grads.bh) {
      const g = this.grads.bh;
      queue.push(columnSumsArgs(this.ones(TB), dR, 0, TB, grH, grH, g, 0, accumulateGrads));
    }
    settle(dWx, this.grads.wx);
    settle(dBx, this.grads.bx);
    if (dR) {
      const prevOffset = this.reverse ? B * H : 0;
      queue.push(
        gemmArgs({
          m: H,
          n: grH,
          k: TB,
          a: bufs.hAll,
          aOffset: prevOffset,
          transA: true,
          lda: H,
          b: dR,
          c: this.grads.wh!,
          accumulate: accumulateGrads,
        }),
      );
      settle(dBh, this.grads.bh);
    }
    settle(dPw, this.grads.pw);
    flush();
    return { dh0, dc0 };
  }

  /**
   * Runs a pass's GEMMs in order. In an Ensemble whose backend batches GEMMs, a single one (a
   * one-part input) runs with the other members' at this unit as one `gemmMany`: the members'
   * GEMMs are independent. Several parts accumulate into one buffer, so they run in order.
   */
  private async gemmsWithMembers(
    what: 'projection' | 'input-gradient',
    list: readonly GemmArgs[],
  ): Promise<void> {
    const { be, member } = this;
    if (member && be.gemmMany && list.length === 1)
      await member.batch.pass(this.passKeys[what], member.index, list[0], (all) => gemmAll(be, all));
    else for (const g of list) be.gemm(g);
  }

  dispose(): void {
    this.ws.dispose();
    for (const b of [...Object.values(this.params), ...Object.values(this.grads)]) if (b) this.be.dispose(b);
  }
}
