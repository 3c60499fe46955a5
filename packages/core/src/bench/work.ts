import { cellSpec } from '../cells/index.js';
import type { CellRef } from '../cells/spec.js';

/**
 * Multiply-adds of the dense algebra in one training step of a unidirectional multi-layer RNN
 * (input projections, recurrent products, their backward and the weight gradients), as the
 * runner performs them. The first layer's input gradient is not computed. Pointwise math, the
 * readout and the optimiser are left out: they are small next to these products.
 */
export function trainingMultiplyAdds(o: {
  cell: CellRef;
  inputSize: number;
  hidden: number;
  layers: number;
  batch: number;
  seqLen: number;
}): number {
  const spec = cellSpec(o.cell);
  const TB = o.seqLen * o.batch;
  const H = o.hidden;
  let total = 0;
  for (let l = 0; l < o.layers; l++) {
    const I = l === 0 ? o.inputSize : H;
    const inProj = TB * I * spec.gx * H;
    // forward projection and weight gradient; the input gradient only above the first layer
    total += inProj * (l === 0 ? 2 : 3);
    // recurrent product forward, dh += dR·whᵀ backward, and the weight gradient
    total += 3 * TB * H * spec.gr * H;
  }
  return total;
}

/** Forward-only multiply-adds (inference). */
export function inferenceMultiplyAdds(o: Parameters<typeof trainingMultiplyAdds>[0]): number {
  const spec = cellSpec(o.cell);
  const TB = o.seqLen * o.batch;
  let total = 0;
  for (let l = 0; l < o.layers; l++) {
    const I = l === 0 ? o.inputSize : o.hidden;
    total += TB * I * spec.gx * o.hidden + TB * o.hidden * spec.gr * o.hidden;
  }
  return total;
}
