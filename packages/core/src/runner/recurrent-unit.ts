import { getKernel } from '../backend/registry.js';
import type {
  Backend,
  DeviceBuffer,
  DType,
  KernelLevel,
  SequenceBackwardArgs,
  SequenceForwardArgs,
} from '../backend/types.js';
import type { CellSpec, PackedSlot } from '../cells/spec.js';
import { addBiasRows, columnSums, matmul } from './gemm-helpers.js';
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
 * One layer in one direction: its packed parameters and gradients, and the forward and backward
 * passes over a whole sequence at the highest kernel level the backend offers (or `maxLevel`).
 * The input projection of all T steps is one GEMM per input part; every weight gradient is one
 * GEMM over all T steps.
 */
export class RecurrentUnit {
  readonly params: PackedBuffers = {};
  readonly grads: PackedBuffers = {};
  private readonly ws: Workspace;
  private last: { T: number; B: number; parts: FeaturePart[] } | null = null;
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

  private buffers(T: number, B: number) {
    const { spec, hiddenSize: H, ws } = this;
    const TB = T * B;
    return {
      p: ws.get('p', TB * spec.gx * H),
      hAll: ws.get('hAll', (T + 1) * B * H),
      cAll: spec.hasCellState ? ws.get('cAll', (T + 1) * B * H) : null,
      cache: ws.get('cache', TB * spec.cacheWidth * H),
    };
  }

  private scratch(B: number): StepScratch {
    const { spec, hiddenSize: H, ws } = this;
    const BH = B * H;
    return {
      ones: ws.ones(B),
      r: spec.gr > 0 ? ws.get('r', BH * spec.gr) : null,
      dh: [ws.get('dhA', BH), ws.get('dhB', BH)],
      dc: spec.hasCellState ? [ws.get('dcA', BH), ws.get('dcB', BH)] : null,
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
    const { be, spec, hiddenSize: H } = this;
    const TB = T * B;
    const gxH = spec.gx * H;
    const bufs = this.buffers(T, B);
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
        c: bufs.p,
        accumulate: i > 0,
      });
      row += part.width;
    });
    if (row !== this.inputSize) throw new Error(`input parts add up to ${row}, expected ${this.inputSize}`);
    addBiasRows(be, this.ws.ones(TB), this.params.bx!, TB, spec.nbx * H, bufs.p, 0, gxH);

    const initSlot = this.reverse ? T : 0;
    if (h0) be.copy(h0.buf, h0.offset, bufs.hAll, initSlot * B * H, B * H);
    else be.fill(bufs.hAll, 0, initSlot * B * H, B * H);
    if (bufs.cAll) {
      if (c0) be.copy(c0.buf, c0.offset, bufs.cAll, initSlot * B * H, B * H);
      else be.fill(bufs.cAll, 0, initSlot * B * H, B * H);
    }
    this.last = { T, B, parts };
    const args: SequenceForwardArgs = {
      T,
      B,
      H,
      reverse: this.reverse,
      p: bufs.p,
      wh: this.params.wh ?? null,
      bh: this.params.bh ?? null,
      pw: this.params.pw ?? null,
      hAll: bufs.hAll,
      cAll: bufs.cAll,
      cache: bufs.cache,
    };
    const level = this.level();
    if (level === 3) await getKernel(be.name, spec.name, 3)!.forward(args);
    else await forwardSteps(be, spec, args, this.stepDriver(level, B), this.scratch(B));
  }

  /**
   * Backpropagation through the last forward. `dOut` is the gradient on the outputs ([T,B,H],
   * null for none), dhN/dcN on the final state. Writes every parameter gradient (overwriting),
   * returns dh0/dc0 in workspace buffers, and writes the input gradient of each part into the
   * matching `dParts` entry (accumulating where `accumulate` is set, skipped where null).
   */
  async backward(
    dOut: DeviceBuffer | null,
    dhN: DeviceBuffer | null,
    dcN: DeviceBuffer | null,
    dParts: ({ buf: DeviceBuffer; offset: number; accumulate: boolean } | null)[],
  ): Promise<{ dh0: DeviceBuffer; dc0: DeviceBuffer | null }> {
    if (!this.last) throw new Error('backward called before forward');
    const { be, spec, hiddenSize: H, ws } = this;
    const { T, B, parts } = this.last;
    const TB = T * B;
    const gxH = spec.gx * H;
    const grH = spec.gr * H;
    const bufs = this.buffers(T, B);
    const dP = ws.get('dP', TB * gxH);
    const dR = spec.gr > 0 ? ws.get('dR', TB * grH) : null;
    const dh0 = ws.get('dh0', B * H);
    const dc0 = spec.hasCellState ? ws.get('dc0', B * H) : null;
    const args: SequenceBackwardArgs = {
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
      dP,
      dR,
      dh0,
      dc0,
      dPw: this.grads.pw ?? null,
    };
    const level = this.level();
    if (level === 3) await getKernel(be.name, spec.name, 3)!.backward(args);
    else await backwardSteps(be, spec, args, this.stepDriver(level, B), this.scratch(B));

    // weight gradients: one GEMM each over all T steps
    const ones = ws.ones(TB);
    let row = 0;
    parts.forEach((part, i) => {
      matmul(be, {
        m: part.width,
        n: gxH,
        k: TB,
        a: part.buf,
        aOffset: part.offset,
        transA: true,
        lda: part.width,
        b: dP,
        c: this.grads.wx!,
        cOffset: row * gxH,
      });
      const dPart = dParts[i];
      if (dPart) {
        matmul(be, {
          m: TB,
          n: part.width,
          k: gxH,
          a: dP,
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
    columnSums(be, ones, dP, 0, TB, spec.nbx * H, gxH, this.grads.bx!);
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
      });
      if (this.grads.bh) columnSums(be, ones, dR, 0, TB, grH, grH, this.grads.bh);
    }
    return { dh0, dc0 };
  }

  dispose(): void {
    this.ws.dispose();
    for (const b of [...Object.values(this.params), ...Object.values(this.grads)]) if (b) this.be.dispose(b);
  }
}
