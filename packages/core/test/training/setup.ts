import {
  Adam,
  type Backend,
  type Batch,
  batchesOf,
  epochOrder,
  getBackend,
  type Optimizer,
  Rng,
  SequenceModel,
} from '../../src/index.js';
import { randn } from '../helpers.js';

export const reference = await getBackend('reference');

export const [T, I, H, O] = [5, 2, 3, 2];

/** The tests' small float64 model: a last-step readout and MSE. */
export const modelOptions = {
  cell: 'nBRC',
  inputSize: I,
  hiddenSize: H,
  numLayers: 2,
  outputSize: O,
  readout: 'last',
  loss: 'mse',
  dtype: 'float64',
} as const;

/** The tests' model with its Adam, the same weights for the same seed. */
export function makeModel(seed = 4, backend: Backend = reference) {
  const model = new SequenceModel(backend, { ...modelOptions, seed });
  return { model, adam: new Adam(backend, [model], { lr: 0.02 }) };
}

/** N samples x [N, T, I], y [N, O]. */
export function makeData(n: number, seed = 9): Batch {
  const rng = new Rng(seed);
  return { x: randn(rng, [n, T, I]), y: randn(rng, [n, O]) };
}

/** Rows `idx` of a batch-first tensor, written out here rather than taken from fit's code. */
export function takeRows(t: { shape: readonly number[]; data: ArrayLike<number> }, idx: ArrayLike<number>) {
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float64Array(idx.length * width);
  for (let r = 0; r < idx.length; r++) {
    for (let j = 0; j < width; j++) data[r * width + j] = t.data[idx[r] * width + j];
  }
  return { shape: [idx.length, ...t.shape.slice(1)], data };
}

/**
 * The studies' loop written out by hand: epochs of shuffled batches, one trainStep each, with an
 * optional `beforeStep` (to set a learning rate). Returns every step's loss.
 */
export async function handLoop(
  model: SequenceModel,
  optimizer: Optimizer,
  data: Batch,
  o: { epochs: number; batchSize: number; seed: number; from?: number },
  beforeStep?: (step: number, epoch: number) => void,
): Promise<number[]> {
  const n = data.x.shape[0];
  const losses: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const idx of batchesOf(epochOrder(n, o.seed, epoch), o.batchSize)) {
      if (epoch >= (o.from ?? 0)) {
        beforeStep?.(step, epoch);
        const { loss } = await model.trainStep(takeRows(data.x, idx), takeRows(data.y, idx), optimizer);
        losses.push(loss);
      }
      step++;
    }
  }
  return losses;
}

export async function sameParameters(a: SequenceModel, b: SequenceModel): Promise<boolean> {
  const pa = await a.getParameters();
  const pb = await b.getParameters();
  return Object.keys(pa).every(
    (k) => pa[k].data.length === pb[k].data.length && pa[k].data.every((v, i) => Object.is(v, pb[k].data[i])),
  );
}
