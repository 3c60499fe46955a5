import { InputError } from '../backend/errors.js';
import type { Backend, DeviceBuffer, DType } from '../backend/types.js';
import { uniform } from '../init/initializers.js';
import type { Rng } from '../init/rng.js';
import type { HostTensor } from '../params/named.js';
import { checkTensor, type TensorLike } from '../params/validate.js';
import { columnSums, matmul } from '../runner/gemm-helpers.js';
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
  private last: { parts: FeaturePart[]; N: number } | null = null;

  constructor(
    readonly backend: Backend,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly dtype: DType,
    rng: Rng,
  ) {
    const be = backend;
    this.weight = be.alloc(outFeatures * inFeatures, dtype);
    this.bias = be.alloc(outFeatures, dtype);
    this.gWeight = be.alloc(outFeatures * inFeatures, dtype);
    this.gBias = be.alloc(outFeatures, dtype);
    this.ws = new Workspace(be, dtype);
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
    matmul(this.backend, { m: N, n: O, k: 1, a: this.ws.ones(N), lda: 1, b: this.bias, c: y });
    let col = 0;
    for (const part of parts) {
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
        accumulate: true,
      });
      col += part.width;
    }
    this.last = { parts, N };
    return y;
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
   * micro-batch after the first), returns d(input) per part.
   */
  backward(dy: DeviceBuffer, accumulate = false): DeviceBuffer[] {
    if (!this.last) throw new Error('Linear.backward before forward');
    const { parts, N } = this.last;
    const F = this.inFeatures;
    const O = this.outFeatures;
    const be = this.backend;
    columnSums(be, this.ws.ones(N), dy, 0, N, O, O, this.gBias, 0, accumulate);
    let col = 0;
    return parts.map((part, i) => {
      matmul(be, {
        m: O,
        n: part.width,
        k: N,
        a: dy,
        transA: true,
        lda: O,
        b: part.buf,
        bOffset: part.offset,
        c: this.gWeight,
        cOffset: col,
        ldc: F,
        accumulate,
      });
      const dx = this.ws.get(`dx${i}`, N * part.width);
      matmul(be, { m: N, n: part.width, k: O, a: dy, b: this.weight, bOffset: col, ldb: F, c: dx });
      col += part.width;
      return dx;
    });
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
    for (const b of [this.weight, this.bias, this.gWeight, this.gBias]) this.backend.dispose(b);
    this.ws.dispose();
  }
}
