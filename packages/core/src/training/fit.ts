import { InputError } from '../backend/errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import { betweenSteps, TrainingAborted } from './abort.js';
import { batchCount, batchesOf, epochOrder, sequentialOrder } from './batches.js';
import { callbackList, fire } from './callbacks.js';
import { clippingOptimizer } from './clip.js';
import { batchSource, type FitData } from './data.js';
import { evaluateSource } from './evaluate.js';
import { emptyHistory, type History } from './history.js';
import type { TrainableModel } from './model.js';
import { checkFitOptions, type FitOptions } from './options.js';
import { type LrSchedule, lrSchedule } from './schedules.js';

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
  const data = batchSource('train', train);
  const o = checkFitOptions(options, data.size);
  const valid = o.validationData === undefined ? null : batchSource('validationData', o.validationData);
  const callbacks = callbackList(o.callbacks);
  const perEpoch = batchCount(data.size, o.batchSize);
  const schedule = resolveSchedule(o.schedule, optimizer, perEpoch * o.epochs);
  const clipping = o.clipNorm !== undefined || o.clipValue !== undefined;
  // only a clipping fit reads gradients: without it the model gets the optimiser itself
  const stepper = clipping ? clippingOptimizer(optimizer, [model], o) : null;

  let step = o.initialEpoch * perEpoch;
  const history = emptyHistory(step);
  const lrAt = (epoch: number) =>
    schedule ? scheduled(schedule, step, epoch) : (optimizer.lr ?? Number.NaN);
  try {
    await fire(callbacks, 'onTrainBegin', {
      epochs: o.epochs,
      initialEpoch: o.initialEpoch,
      stepsPerEpoch: perEpoch,
      samples: data.size,
      validationSamples: valid?.size ?? 0,
    });
    for (let epoch = o.initialEpoch; epoch < o.epochs; epoch++) {
      const epochLr = lrAt(epoch);
      await fire(callbacks, 'onEpochBegin', { epoch, step, lr: epochLr });
      const order = o.shuffle ? epochOrder(data.size, o.seed, epoch) : sequentialOrder(data.size);
      let weighted = 0;
      let batch = 0;
      for (const idx of batchesOf(order, o.batchSize)) {
        await betweenSteps(o.signal);
        // the first step's rate is the epoch's, asked once: a schedule is called once per step
        const lr = batch === 0 ? epochLr : lrAt(epoch);
        if (schedule) optimizer.setLearningRate!(lr);
        const { x, y } = data.batch(idx);
        const { loss, predictions } = await model.trainStep(x, y, stepper ?? optimizer);
        history.stepLoss.push(loss);
        weighted += loss * idx.length;
        const info = { epoch, batch: batch++, step: step++, size: idx.length, loss, lr, x, y, predictions };
        history.steps = step;
        const clip = stepper?.lastClip;
        await fire(callbacks, 'onBatchEnd', clip ? { ...info, gradNorm: clip.norm } : info);
      }
      const trainLoss = weighted / data.size;
      const ev = valid
        ? await evaluateSource(model, valid, o.validationBatchSize, o.signal, (b) =>
            fire(callbacks, 'onValidationBatchEnd', { ...b, epoch }).then(() => {}),
          )
        : null;
      history.epochs.push(epoch);
      history.trainLoss.push(trainLoss);
      if (ev) history.validLoss.push(ev.loss);
      history.lr.push(epochLr);
      const stop = await fire(callbacks, 'onEpochEnd', {
        epoch,
        steps: step,
        trainLoss,
        validLoss: ev?.loss,
        validBatchLosses: ev?.batchLosses,
        lr: epochLr,
      });
      if (stop && epoch + 1 < o.epochs) {
        history.stoppedEarly = true;
        break;
      }
    }
    await fire(callbacks, 'onTrainEnd', history);
    return history;
  } catch (err) {
    if (err instanceof TrainingAborted) err.history ??= history;
    throw err;
  }
}

function resolveSchedule(
  spec: FitOptions['schedule'],
  optimizer: Optimizer,
  totalSteps: number,
): LrSchedule | null {
  if (spec === undefined) return null;
  if (typeof optimizer.setLearningRate !== 'function') {
    throw new InputError('a learning rate schedule needs an optimizer with setLearningRate (Adam, SGD)');
  }
  return typeof spec === 'function' ? spec : lrSchedule(spec, totalSteps);
}

function scheduled(schedule: LrSchedule, step: number, epoch: number): number {
  const lr = schedule(step, epoch);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new InputError(
      `the learning rate schedule gave ${String(lr)} for step ${step} (epoch ${epoch}); it must give a finite number >= 0`,
    );
  }
  return lr;
}
