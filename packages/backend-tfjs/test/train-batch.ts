import type { DType, LossKind, Readout } from '@bistable/core';

/** The model size of the training-step tests: batch, steps, inputs, hidden units, outputs. */
export const [B, T, I, H, O] = [4, 6, 2, 10, 2];

/** A deterministic batch for step `step`: smooth inputs, targets for the readout and loss. */
export function trainBatch(readout: Readout, loss: LossKind, step: number, dtype: DType = 'float32') {
  const arr = (n: number, f: (i: number) => number) =>
    dtype === 'float64'
      ? Float64Array.from({ length: n }, (_, i) => f(i))
      : Float32Array.from({ length: n }, (_, i) => f(i));
  const x = { shape: [B, T, I], data: arr(B * T * I, (i) => Math.sin(i * 0.37 + step)) };
  const n = readout === 'last' ? B * O : B * T * O;
  const y = {
    shape: readout === 'last' ? [B, O] : [B, T, O],
    data: arr(n, (i) => (loss === 'bce' ? (i + step) % 2 : Math.cos(i + step))),
  };
  return { x, y };
}
