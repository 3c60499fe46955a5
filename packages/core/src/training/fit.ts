import { InputError } from '../backend/errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import { betweenSteps } from './abort.js';
import { clippingOptimizer } from './clip.js';
import type { FitData } from './data.js';
import { FitRun } from './fit-run.js';
import type { History } from './history.js';
import type { TrainableModel } from './model.js';
import type { FitOptions } from './options.js';

function checkParts(model: TrainableModel, optimizer: Optimizer): void {
  if (!model || typeof model.trainStep !== 'function' || typeof model.evaluate !== 'function') {
    throw new InputError('fit needs a model with trainStep and evaluate (a SequenceModel)');
  }
  if (!optimizer || typeof optimizer.step !== 'function') {
    throw new InputError('fit needs an optimizer with step() (Adam, SGD)');
  }
}

/**
 * Trains `model` for epochs initialEpoch..epochs−1, the loop of the validation studies: each
 * epoch visits every training sample once, in batches drawn from `epochOrder(samples, seed,
 * epoch)`; after each epoch the loss over all validation samples, then onEpochEnd, which may stop
 * the fit. With neither a schedule nor clipping, every step is exactly `model.trainStep(x, y,
 * optimizer)`, so a fit equals the hand-written loop bit for bit.
 *
 * @example
 * ```ts
 * import { Adam, fit, getBackend, SequenceModel } from '@bistable/core';
 * import { CopyFirstInput } from '@bistable/tasks';
 *
 * const backend = await getBackend('auto');
 * const train = new CopyFirstInput(2021, 5, 1024); // seed, sequence length, samples
 * const valid = new CopyFirstInput(2021, 5, 256, 1024); // the same stream after them
 * const model = new SequenceModel(backend, {
 *   cell: 'nBRC', inputSize: 1, hiddenSize: 32, readout: 'last', loss: 'mse', seed: 1,
 * });
 * const adam = new Adam(backend, [model], { lr: 0.01 });
 *
 * const history = await fit(model, adam, train, {
 *   epochs: 8,
 *   batchSize: 32,
 *   seed: 7, // the epochs' orders
 *   validationData: valid,
 *   schedule: { name: 'cosine', lr: 0.01, minLr: 0.001 },
 *   clipNorm: 1,
 *   callbacks: {
 *     onEpochEnd: ({ epoch, trainLoss, validLoss }) => {
 *       console.log(epoch, trainLoss, validLoss);
 *       return validLoss !== undefined && validLoss < 0.05 ? 'stop' : undefined;
 *     },
 *   },
 * });
 * console.log(history.steps, history.validLoss.at(-1));
 * ```
 */
export async function fit(
  model: TrainableModel,
  optimizer: Optimizer,
  train: FitData,
  options: FitOptions,
): Promise<History> {
  checkParts(model, optimizer);
  const run = new FitRun(model, optimizer, train, options);
  const o = run.options;
  const clipping = o.clipNorm !== undefined || o.clipValue !== undefined;
  // only a clipping fit reads gradients: without it the model gets the optimiser itself
  const stepper = clipping ? clippingOptimizer(optimizer, [model], o) : null;
  try {
    await run.begin();
    let more = await run.startEpoch();
    while (more) {
      for (let b = run.nextBatch(); b; b = run.nextBatch()) {
        await betweenSteps(run.signal);
        const r = await model.trainStep(b.x, b.y, stepper ?? optimizer);
        await run.batchDone(b, r, stepper?.lastClip?.norm);
      }
      more = (await run.endEpoch()) && (await run.startEpoch());
    }
    return await run.end();
  } catch (err) {
    throw run.attachTo(err);
  }
}
