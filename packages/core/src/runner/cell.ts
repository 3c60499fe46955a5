import type { Backend, DType, HostArray } from '../backend/types.js';
import type { CellRef } from '../cells/spec.js';
import { hostView, returnLike, type TensorInput, type TensorOutput } from '../params/foreign-tensor.js';
import type { HostTensor } from '../params/named.js';
import { checkTensor } from '../params/validate.js';
import { MultiLayerRNN } from './multilayer-rnn.js';

/**
 * One cell stepped on its own, like torch's nn.GRUCell: `step(x [B,I], h [B,H]) → h'` (and c for
 * LSTM). Parameters carry the cell's own names (`kernelz`, `weight_ih`, …).
 *
 * @example
 * ```ts
 * import { Cell, getBackend, type HostTensor } from '@bistable/core';
 *
 * const backend = await getBackend('reference');
 * const cell = new Cell(backend, { cell: 'nBRC', inputSize: 3, hiddenSize: 4, seed: 7 });
 *
 * // a batch of 2 sequences, fed one step at a time
 * let h: HostTensor = { shape: [2, 4], data: new Float32Array(2 * 4) };
 * for (let t = 0; t < 5; t++) {
 *   const x = { shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => Math.sin(t + i)) };
 *   ({ h } = await cell.step(x, h));
 * }
 * console.log(Object.keys(await cell.getParameters())); // kernelz, memoryz, bz, …
 * cell.dispose();
 * ```
 */
export class Cell {
  private readonly rnn: MultiLayerRNN;

  constructor(
    backend: Backend,
    opts: { cell: CellRef; inputSize: number; hiddenSize: number; dtype?: DType; seed?: number },
  ) {
    this.rnn = new MultiLayerRNN(backend, {
      ...opts,
      numLayers: 1,
      batchFirst: true,
      returnSequences: false,
    });
  }

  get hiddenSize(): number {
    return this.rnn.hiddenSize;
  }

  /** One step; tf.Tensors in give tf.Tensors out (the caller disposes them). */
  async step<X extends TensorInput>(
    input: X,
    state: TensorInput,
    cellState?: TensorInput,
  ): Promise<{ h: TensorOutput<X>; c: TensorOutput<X> | null }> {
    const x = hostView('x', input);
    const h = hostView('h', state);
    const c = cellState && hostView('c', cellState);
    checkTensor('x', x, [-1, this.rnn.inputSize]);
    const B = x.shape[0];
    const H = this.rnn.hiddenSize;
    checkTensor('h', h, [B, H]);
    if (c) checkTensor('c', c, [B, H]);
    const out = await this.rnn.forward(
      { shape: [B, 1, this.rnn.inputSize], data: x.data },
      { h: { shape: [1, B, H], data: h.data }, c: c ? { shape: [1, B, H], data: c.data } : undefined },
    );
    return {
      h: returnLike(input, { shape: [B, H], data: out.hN.data as HostArray }),
      c: out.cN ? returnLike(input, { shape: [B, H], data: out.cN.data }) : null,
    };
  }

  async getParameters(): Promise<Record<string, HostTensor>> {
    return strip(await this.rnn.getParameters());
  }

  setParameters(named: Record<string, TensorInput>): void {
    const prefixed: Record<string, TensorInput> = {};
    for (const [k, v] of Object.entries(named)) prefixed[`cells.0.${k}`] = v;
    this.rnn.setParameters(prefixed);
  }

  dispose(): void {
    this.rnn.dispose();
  }
}

function strip(named: Record<string, HostTensor>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(named)) out[k.replace(/^cells\.0\./, '')] = v;
  return out;
}
