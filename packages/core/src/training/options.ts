import { InputError } from '../backend/errors.js';
import { checkPositiveInt } from '../params/validate.js';
import type { FitCallbacks } from './callbacks.js';
import { type ClipOptions, checkClipOptions } from './clip.js';
import type { FitData } from './data.js';
import type { LrSchedule, LrScheduleSpec } from './schedules.js';

/** `fit`'s settings: epochs, batch size and order, validation, schedule, clipping and callbacks. */
export interface FitOptions extends ClipOptions {
  /** The epoch to end before: a fit runs epochs initialEpoch..epochs−1. */
  epochs: number;
  /** Training samples per step; the last batch of an epoch is smaller when they do not divide. */
  batchSize: number;
  /**
   * The epoch to start at, to resume a fit whose model and optimiser were restored from the end
   * of epoch initialEpoch−1 (a checkpoint): epoch orders, step indices and the schedule then go
   * on exactly as in an uninterrupted fit. Default 0.
   */
  initialEpoch?: number;
  /** Shuffle every epoch (default true): `epochOrder(samples, seed, epoch)`, as the studies do. */
  shuffle?: boolean;
  /** Seed of the epoch orders (default 0); a non-negative integer. */
  seed?: number;
  /** Data to compute the loss on after every epoch, over all of its samples. */
  validationData?: FitData;
  /** Batch size of the validation passes (default batchSize); a batch may exceed the samples. */
  validationBatchSize?: number;
  /**
   * The learning rate of every step: a function (step, epoch) => lr or a named schedule. Needs an
   * optimiser with setLearningRate (Adam, SGD). Without one the optimiser's own rate is left alone.
   */
  schedule?: LrSchedule | LrScheduleSpec;
  callbacks?: FitCallbacks | FitCallbacks[];
  /** Stops the fit between two steps with TrainingAborted. */
  signal?: AbortSignal;
}

const KNOWN = new Set([
  'epochs',
  'batchSize',
  'initialEpoch',
  'shuffle',
  'seed',
  'validationData',
  'validationBatchSize',
  'schedule',
  'callbacks',
  'signal',
  'clipNorm',
  'clipValue',
]);

/** The options with defaults filled in; an InputError names the first one that is wrong. */
export function checkFitOptions(o: FitOptions, samples: number) {
  if (!o || typeof o !== 'object') throw new InputError('fit needs options {epochs, batchSize, …}');
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k))
      throw new InputError(`unknown fit option '${k}'; expected one of ${[...KNOWN].join(', ')}`);
  }
  const epochs = checkPositiveInt('epochs', o.epochs);
  const batchSize = checkPositiveInt('batchSize', o.batchSize);
  if (batchSize > samples) {
    throw new InputError(`batchSize (${batchSize}) is larger than the ${samples} training samples`);
  }
  const initialEpoch = o.initialEpoch ?? 0;
  if (
    typeof initialEpoch !== 'number' ||
    !Number.isInteger(initialEpoch) ||
    initialEpoch < 0 ||
    initialEpoch > epochs
  ) {
    throw new InputError(
      `initialEpoch must be an integer in [0, epochs = ${epochs}], got ${String(initialEpoch)}`,
    );
  }
  const shuffle = o.shuffle ?? true;
  if (typeof shuffle !== 'boolean')
    throw new InputError(`shuffle must be true or false, got ${String(shuffle)}`);
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new InputError(`seed must be a non-negative integer, got ${String(seed)}`);
  }
  const validationBatchSize =
    o.validationBatchSize === undefined
      ? batchSize
      : checkPositiveInt('validationBatchSize', o.validationBatchSize);
  if (o.validationBatchSize !== undefined && o.validationData === undefined) {
    throw new InputError('validationBatchSize is set but there is no validationData');
  }
  checkClipOptions(o);
  if (
    o.schedule !== undefined &&
    typeof o.schedule !== 'function' &&
    (typeof o.schedule !== 'object' || !o.schedule)
  ) {
    throw new InputError(
      `schedule must be a function (step, epoch) => lr or {name, …}, got ${String(o.schedule)}`,
    );
  }
  if (o.signal !== undefined && typeof (o.signal as { aborted?: unknown })?.aborted !== 'boolean') {
    throw new InputError('signal must be an AbortSignal');
  }
  return { ...o, epochs, batchSize, initialEpoch, shuffle, seed, validationBatchSize };
}
