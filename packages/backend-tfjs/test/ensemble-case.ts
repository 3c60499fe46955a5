import { Adam, type Backend, type CellName, SequenceModel } from '@bistable/core';

/** Adam's learning rate in the ensemble tests, for members and solo runs alike. */
export const ENSEMBLE_LR = 0.02;

/**
 * The options of a 2-layer model of `cell` with a 'last' readout and MSE loss, and each seed's
 * model trained alone with its own Adam: what an Ensemble's members are compared against.
 */
export function ensembleCase(
  be: Backend,
  cell: CellName,
  size: { I: number; H: number; O: number },
  seeds: readonly number[],
) {
  const options = {
    cell,
    inputSize: size.I,
    hiddenSize: size.H,
    numLayers: 2,
    outputSize: size.O,
    readout: 'last',
    loss: 'mse',
  } as const;
  const solo = seeds.map((seed) => {
    const model = new SequenceModel(be, { ...options, seed });
    return { model, adam: new Adam(be, [model], { lr: ENSEMBLE_LR }) };
  });
  return { options, solo };
}
