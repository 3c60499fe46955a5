import { getKernel } from '../backend/registry.js';
import type {
  Backend,
  DeviceBuffer,
  DType,
  KernelLevel,
  NarrowInputKernels,
  SequenceForwardArgs,
} from '../backend/types.js';
import type { CellSpec, PackedSlot } from '../cells/spec.js';
import { addBiasRows, addInto, columnSums, matmul } from './gemm-helpers.js';
import { hostStepDriver } from './host-step.js';
import { backwardSteps, forwardSteps, type StepDriver, type StepScratch } from './step-loop.js';
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
  private hostDriver: { B: number; driver: StepDriver } | null = null;

  constructor(
    readonly be: Backend,
    readonly spec: CellSpec,
    readonly inputSize: number,
    readonly hiddenSize: number,
    readonly dtype: DType,
    readonly reverse: boolean,
    public maxLevel: KernelLevel = 3,
  ) {
    this.ws = new Workspace(be, dtype);
    for (const [slot, len] of Object.entries(packedLengths(spec, inputSize, hiddenSize))) {
      this.params[slot as PackedSlot] = be.alloc(len, dtype);
      this.grads[slot as PackedSlot] = be.alloc(len, dtype);
    }
  }

  /** The level used for the next pass: the highest registered one, capped by maxLevel. */
  level(): KernelLevel {
    const name = this.be.name;
    if (this.maxLevel >= 3 && getKernel(name, this.spec.name, 3)) return 3;
    if (this.maxLevel >= 2 && getKernel(name, this.spec.name, 2)) return 2;
    return 1;
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
      ones: ws.ones(B),
      r: spec.gr > 0 ? ws.get('r', n.r) : null,
      dh: [ws.get('dhA', n.dhA), ws.get('dhB', n.dhB)],
      dc: spec.hasCellState ? [ws.get('dcA', n.dcA), ws.get('dcB', n.dcB)] : null,
    };
  }

  private stepDriver(level: KernelLevel, B: number): StepDriver {
    if (level === 2) return getKernel(this.be.name, this.spec.name, 2)!;
    if (!this.hostDriver || this.hostDriver.B !== B) {
      this.hostDriver = { B, driver: hostStepDriver(this.be, this.spec, B, this.hiddenSize, this.dtype) };
    }
    return this.hostDriver.driver;
  }

  /**
   * The level-3 kernels that project this input inside their time loop (one part of at most their
   * width, in a dtype they run), or null. They must sum the bias gradients too: their backward
   * may never write dP.
   */
  private narrowKernels(parts: FeaturePart[]): NarrowInputKernels | null {
    if (parts.length !== 1 || this.level() !== 3) return null;
    const seq = getKernel(this.be.name, this.spec.name, 3)!;
    const n = seq.narrowInput;
    if (!n || seq.biasGradients !== true || parts[0].width > n.maxWidth || !n.dtypes.includes(this.dtype)) {
      return null;
    }
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
      const biasRow = be.gemmBias ? this.biasRow() : null;
      let row = 0;
      parts.forEach((part, i) => {
        matmul(be, {
          m: TB,
          n: gxH,
          k: part.width,
          a: part.buf,
          aOffset: part.offset,
          b: this.params.wx!,
          bOffset: row * gxH,
          c: p,
          accumulate: i > 0,
          bias: i === 0 ? biasRow : null,
        });
        row += part.width;
      });
      if (!biasRow) addBiasRows(be, this.ws.ones(TB), this.params.bx!, TB, spec.nbx * H, p, 0, gxH);
    }

    const initSlot = this.reverse ? T : 0;
    if (h0) be.copy(h0.buf, h0.offset, bufs.hAll, initSlot * B * H, B * H);
    else be.fill(bufs.hAll, 0, initSlot * B * H, B * H);
    if (bufs.cAll) {
      if (c0) be.copy(c0.buf, c0.offset, bufs.cAll, initSlot * B * H, B * H);
      else be.fill(bufs.cAll, 0, initSlot * B * H, B * H);
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
    };
    if (narrow) {
      const { buf: x, offset } = parts[0];
      await narrow.forward({
        ...common,
        input: { x, offset, width, wx: this.params.wx!, bias: this.biasRow() },
      });
      return;
    }
    const args: SequenceForwardArgs = { ...common, p: p! };
    const level = this.level();
    if (level === 3) await getKernel(be.name, spec.name, 3)!.forward(args);
    else await forwardSteps(be, spec, args, this.stepDriver(level, B), this.scratch(B));
  }

  /** bx as a row of all gx·H projection columns: zeros where a cell has no input bias (BRC's h gate). */
  private biasRow(): DeviceBuffer {
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
   * entry (accumulating where `accumulate` is set, skipped where null).
   */
  async backward(
    dOut: DeviceBuffer | null,
    dhN: DeviceBuffer | null,
    dcN: DeviceBuffer | null,
    dParts: ({ buf: DeviceBuffer; offset: number; accumulate: boolean } | null)[],
    accumulateGrads = false,
  ): Promise<{ dh0: DeviceBuffer; dc0: DeviceBuffer | null }> {
    if (!this.last) throw new Error('backward called before forward');
    const { be, spec, hiddenSize: H, ws } = this;
    const { T, B, parts, narrow } = this.last;
    const TB = T * B;
    const gxH = spec.gx * H;
    const grH = spec.gr * H;
    const bufs = this.buffers(T, B);
    const n = this.bufferLengths(T, B);
    // a narrow input's kernels write dP only when the input gradient needs it
    const dP = narrow && !dParts[0] ? null : ws.get('dP', n.dP);
    const dR = spec.gr > 0 ? ws.get('dR', n.dR) : null;
    const dh0 = ws.get('dh0', n.dh0);
    const dc0 = spec.hasCellState ? ws.get('dc0', n.dc0) : null;
    // Gradients the kernels write (dPw, fused bias sums, a narrow input's dWx) are overwritten, so
    // an accumulating pass has them write a scratch copy that `settle` adds in afterwards.
    const scratchOr = (g: DeviceBuffer, name: string) => (accumulateGrads ? ws.get(name, g.length) : g);
    const settle = (part: DeviceBuffer | null, grad: DeviceBuffer | undefined) => {
      if (part && part !== grad) addInto(be, part, grad!, part.length, ws.ones(1));
    };
    const dPw = this.grads.pw ? scratchOr(this.grads.pw, 'dPwPart') : null;
    const level = this.level();
    const sequence = level === 3 ? getKernel(be.name, spec.name, 3)! : null;
    // kernels that sum the bias gradients on the way save a pass over dP and dR
    const fusedBias = sequence?.biasGradients === true;
    const biasOut = (g: DeviceBuffer | undefined, name: string) =>
      fusedBias && g ? scratchOr(g, name) : null;
    const dBx = biasOut(this.grads.bx, 'dBxPart');
    const dBh = biasOut(this.grads.bh, 'dBhPart');
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
    } else if (sequence) await sequence.backward({ ...common, dP: dP! });
    else await backwardSteps(be, spec, { ...common, dP: dP! }, this.stepDriver(level, B), this.scratch(B));

    // weight gradients: one GEMM each over all T steps (a narrow input's come from its kernels)
    const ones = ws.ones(TB);
    let row = 0;
    parts.forEach((part, i) => {
      if (!dWx) {
        matmul(be, {
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
        });
      }
      const dPart = dParts[i];
      if (dPart) {
        matmul(be, {
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
        });
      }
      row += part.width;
    });
    settle(dWx, this.grads.wx);
    if (dBx) settle(dBx, this.grads.bx);
    else columnSums(be, ones, dP!, 0, TB, spec.nbx * H, gxH, this.grads.bx!, 0, accumulateGrads);
    if (dR) {
      const prevOffset = this.reverse ? B * H : 0;
      matmul(be, {
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
      });
      if (dBh) settle(dBh, this.grads.bh);
      else if (this.grads.bh) columnSums(be, ones, dR, 0, TB, grH, grH, this.grads.bh, 0, accumulateGrads);
    }
    settle(dPw, this.grads.pw);
    return { dh0, dc0 };
  }

  dispose(): void {
    this.ws.dispose();
    for (const b of [...Object.values(this.params), ...Object.values(this.grads)]) if (b) this.be.dispose(b);
  }
}
