import {
  Adam,
  type Backend,
  type CellName,
  type DType,
  type LossKind,
  type Readout,
  SequenceModel,
} from '@bistable/core';

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

/**
 * Three training steps of the tests' 2-layer model (seed 9, Adam lr 0.02) on `be`, through
 * trainStep or (`hostLoss`) lossAndGradients then Adam; the losses and the final parameters.
 */
export async function trainThreeSteps(
  be: Backend,
  o: { cell: CellName; readout: Readout; loss: LossKind; dtype?: DType; hostLoss?: boolean },
) {
  const dtype = o.dtype ?? 'float32';
  const model = new SequenceModel(be, {
    cell: o.cell,
    inputSize: I,
    hiddenSize: H,
    numLayers: 2,
    outputSize: O,
    readout: o.readout,
    loss: o.loss,
    seed: 9,
    dtype,
  });
  const adam = new Adam(be, [model], { lr: 0.02 });
  try {
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const { x, y } = trainBatch(o.readout, o.loss, s, dtype);
      if (!o.hostLoss) losses.push((await model.trainStep(x, y, adam)).loss);
      else {
        losses.push((await model.lossAndGradients(x, y)).loss);
        await adam.step();
      }
    }
    return { losses, params: await model.getParameters() };
  } finally {
    model.dispose();
    adam.dispose();
  }
}
