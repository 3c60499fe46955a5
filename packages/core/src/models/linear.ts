import { InputError } from '../backend/errors.js';
import type { Backend, DeviceBuffer, DType, GemmArgs, LinearLossArgs } from '../backend/types.js';
import { uniform } from '../init/initializers.js';
import type { Rng } from '../init/rng.js';
import { plainTake, type TakeParam } from '../params/arena.js';
import type { HostTensor } from '../params/named.js';
import { checkTensor, type TensorLike } from '../params/validate.js';
import { columnSumsArgs, gemmArgs, gemmQueue, matmul } from '../runner/gemm-helpers.js';
import type { SlabScope } from '../runner/member-slabs.js';
import type { FeaturePart } from '../runner/recurrent-unit.js';
import { Workspace } from '../runner/workspace.js';

/**
 * torch.nn.Linear on a backend: y = x @ weightᵀ + bias, weight [out, in]. The input may come in
 * column parts (a bidirectional layer's two directions) without being concatenated.
 */
export class Linear {
  readonly weight: DeviceBuffer;
  readonly bias: DeviceBuffer;
  readonly gWeight: DeviceBuffer;
  readonly gBias: DeviceBuffer;
  private readonly ws: Workspace;
  /** The last forward's input parts, rows, and the first weight column of each part. */
  private last: { parts: FeaturePart[]; N: number; columns: number[] } | null = null;
  private readonly ones: (n: number) => DeviceBuffer;

  /**
   * `take` gives the weight and then the bias their value and gradient buffers (a model's
   * ParamArena; plain buffers by default); `ones` shares a buffer of ones with other layers.
   */
  constructor(
    readonly backend: Backend,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly dtype: DType,
    rng: Rng,
    take: TakeParam = plainTake(backend, dtype),
    ones?: (n: number) => DeviceBuffer,
    shared: SlabScope | null = null,
  ) {
    const be = backend;
    ({ value: this.weight, grad: this.gWeight } = take(outFeatures * inFeatures));
    ({ value: this.bias, grad: this.gBias } = take(outFeatures));
    this.ws = new Workspace(be, dtype, shared);
    this.ones = ones ?? ((n) => this.ws.ones(n));
    // torch's default: kaiming_uniform(a=√5) on the weight = U(±1/√in), and U(±1/√in) on the bias
    const k = 1 / Math.sqrt(inFeatures);
    be.write(this.weight, uniform([outFeatures, inFeatures], -k, k, rng));
    be.write(this.bias, uniform([outFeatures], -k, k, rng));
  }

  /** y [N, out] for N rows made of the given parts. The result buffer is reused across calls. */
  forward(parts: FeaturePart[], N: number): DeviceBuffer {
    const F = parts.reduce((s, p) => s + p.width, 0);
    if (F !== this.inFeatures) throw new InputError(`Linear expects ${this.inFeatures} features, got ${F}`);
    const O = this.outFeatures;
    const y = this.ws.get('y', N * O);
    // a GEMM with a bias row takes the bias in the first product; otherwise a ones broadcast first
    const withBias = this.backend.gemmBias === true;
    if (!withBias) matmul(this.backend, { m: N, n: O, k: 1, a: this.ones(N), lda: 1, b: this.bias, c: y });
    let col = 0;
    for (const [i, part] of parts.entries()) {
      matmul(this.backend, {
        m: N,
        n: O,
        k: part.width,
        a: part.buf,
        aOffset: part.offset,
        b: this.weight,
        bOffset: col,
        transB: true,
        ldb: F,
        c: y,
        accumulate: !withBias || i > 0,
        bias: withBias && i === 0 ? this.bias : null,
      });
      col += part.width;
    }
    this.last = { parts, N, columns: firstColumns(parts) };
    return y;
  }

  /**
   * Forward and loss gradient in one pass where the backend fuses them (`linearLoss`; one input
   * part): y, dy (the loss gradient on y against `target`) and d(input), which `backwardFrom`
   * then turns into the weight gradients. Null where the backend cannot; nothing is run then.
   * `run` runs the pass (an Ensemble's member runs it with the other members': linearLossMany).
   */
  async forwardLoss(
    parts: FeaturePart[],
    N: number,
    loss: { kind: 'mse' | 'bce'; target: DeviceBuffer; dy: DeviceBuffer; count: number },
    run?: (args: LinearLossArgs) => void | Promise<void>,
  ): Promise<{ y: DeviceBuffer; dx: DeviceBuffer } | null> {
    const be = this.backend;
    if (!be.linearLoss || parts.length !== 1) return null;
    const F = this.inFeatures;
    if (parts[0].width !== F) throw new InputError(`Linear expects ${F} features, got ${parts[0].width}`);
    const O = this.outFeatures;
    const y = this.ws.get('y', N * O);
    const dx = this.ws.get('dx0', N * F);
    await (run ?? ((a: LinearLossArgs) => be.linearLoss!(a)))({
      kind: loss.kind,
      N,
      F,
      O,
      x: parts[0].buf,
      xOffset: parts[0].offset,
      w: this.weight,
      b: this.bias,
      target: loss.target,
      y,
      dy: loss.dy,
      dx,
      count: loss.count,
    });
    this.last = { parts, N, columns: firstColumns(parts) };
    return { y, dx };
  }

  /** Lengths of the device buffers a forward and backward over N rows in parts of these widths allocate. */
  bufferLengths(N: number, partWidths: readonly number[] = [this.inFeatures]): Record<string, number> {
    const out: Record<string, number> = { y: N * this.outFeatures, ones: N };
    partWidths.forEach((w, i) => {
      out[`dx${i}`] = N * w;
    });
    return out;
  }

  /**
   * From dy [N, out]: fills the weight and bias gradients (adds to them when `accumulate`: a
   * micro-batch after the first), returns d(input) per part. With `later`, the weight gradients'
   * GEMMs are appended to it for the caller to run (gemmAll) instead of run here.
   */
  backward(dy: DeviceBuffer, accumulate = false, later?: GemmArgs[]): DeviceBuffer[] {
    if (!this.last) throw new Error('Linear.backward before forward');
    const { parts, N } = this.last;
    const dxs = parts.map((part, i) => {
      const dx = this.ws.get(`dx${i}`, N * part.width);
      matmul(this.backend, {
        m: N,
        n: part.width,
        k: this.outFeatures,
        a: dy,
        b: this.weight,
        bOffset: this.columnOf(i),
        ldb: this.inFeatures,
        c: dx,
      });
      return dx;
    });
    this.weightGradients(dy, accumulate, later);
    return dxs;
  }

  /**
   * The weight and bias gradients from dy [N, out] of the last forward (forwardLoss has already
   * written d(input)); `later` as in backward.
   */
  weightGradients(dy: DeviceBuffer, accumulate = false, later?: GemmArgs[]): void {
    if (!this.last) throw new Error('Linear.backward before forward');
    const { parts, N } = this.last;
    const F = this.inFeatures;
    const O = this.outFeatures;
    const { queue, flush } = gemmQueue(this.backend, later, true);
    queue.push(columnSumsArgs(this.ones(N), dy, 0, N, O, O, this.gBias, 0, accumulate));
    parts.forEach((part, i) => {
      queue.push(
        gemmArgs({
          m: O,
          n: part.width,
          k: N,
          a: dy,
          transA: true,
          lda: O,
          b: part.buf,
          bOffset: part.offset,
          c: this.gWeight,
          cOffset: this.columnOf(i),
          ldc: F,
          accumulate,
        }),
      );
    });
    flush();
  }

  /** The first weight column of input part i. */
  private columnOf(i: number): number {
    return this.last!.columns[i];
  }

  parameters() {
    return [
      { name: 'weight', value: this.weight, grad: this.gWeight },
      { name: 'bias', value: this.bias, grad: this.gBias },
    ];
  }

  setParameters(named: Record<string, TensorLike>): void {
    checkTensor('fc.weight', named.weight, [this.outFeatures, this.inFeatures]);
    checkTensor('fc.bias', named.bias, [this.outFeatures]);
    this.backend.write(this.weight, named.weight.data);
    this.backend.write(this.bias, named.bias.data);
  }

  async getParameters(grads = false): Promise<Record<string, HostTensor>> {
    const [w, b] = grads ? [this.gWeight, this.gBias] : [this.weight, this.bias];
    return {
      weight: { shape: [this.outFeatures, this.inFeatures], data: await this.backend.read(w) },
      bias: { shape: [this.outFeatures], data: await this.backend.read(b) },
    };
  }

  dispose(): void {
    // views of a model's arena are freed with it; disposing them is a no-op
    for (const b of [this.weight, this.bias, this.gWeight, this.gBias]) this.backend.dispose(b);
    this.ws.dispose();
  }
}

/** Where each part's columns start in a weight whose columns are the parts side by side. */
function firstColumns(parts: readonly FeaturePart[]): number[] {
  const out: number[] = [];
  let c = 0;
  for (const p of parts) {
    out.push(c);
    c += p.width;
  }
  return out;
}
