import { InputError } from '../backend/errors.js';
import type { TensorLike } from '../params/validate.js';
import type { EvaluationBatch } from './evaluate.js';
import type { History } from './history.js';

/** What `onTrainBegin` is told before the first step of a fit. */
export interface TrainBeginInfo {
  /** The epoch the fit ends before (its `epochs` option). */
  epochs: number;
  initialEpoch: number;
  stepsPerEpoch: number;
  /** Training samples. */
  samples: number;
  /** Validation samples, 0 without validationData. */
  validationSamples: number;
}

/** What `onEpochBegin` is told before the first step of each epoch. */
export interface EpochBeginInfo {
  epoch: number;
  /** The 0-based index (from epoch 0) of the epoch's first step. */
  step: number;
  /** The learning rate of the epoch's first step. */
  lr: number;
}

/** What `onBatchEnd` is told after every training step. */
export interface BatchEndInfo {
  epoch: number;
  /** 0-based index of the batch within its epoch. */
  batch: number;
  /** 0-based index of the step just taken, counted from epoch 0 (what the schedule was given). */
  step: number;
  /** Samples in the batch. */
  size: number;
  /** The batch's loss, before the update. */
  loss: number;
  /** The learning rate of this step (NaN for an optimiser that does not expose one). */
  lr: number;
  /** With clipNorm or clipValue: the gradients' global L2 norm before clipping. */
  gradNorm?: number;
  x: TensorLike;
  y: TensorLike;
  /** The model's outputs on the batch, before the update. */
  predictions: TensorLike;
}

/** What `onValidationBatchEnd` is told after every validation batch. */
export interface ValidationBatchEndInfo extends EvaluationBatch {
  epoch: number;
}

/** What `onEpochEnd` is told after each epoch's validation; it may return 'stop'. */
export interface EpochEndInfo {
  epoch: number;
  /** Steps taken so far, counted from epoch 0. */
  steps: number;
  /** Mean training loss over the epoch's samples. */
  trainLoss: number;
  /** Validation loss over every validation sample; undefined without validationData. */
  validLoss?: number;
  /** The loss of each validation batch, in order; undefined without validationData. */
  validBatchLosses?: number[];
  /** The learning rate of the epoch's first step. */
  lr: number;
}

/** What onEpochEnd returns to end the fit after this epoch (early stopping). */
export type StopSignal = 'stop';

type Ret<T = void> = T | Promise<T>;

/**
 * Hooks into `fit`, awaited in order (an array of these runs each hook of the first, then the
 * second's, …). Only onEpochEnd can stop a fit early; an AbortSignal stops it between any two steps.
 */
export interface FitCallbacks {
  onTrainBegin?(info: TrainBeginInfo): Ret;
  onEpochBegin?(info: EpochBeginInfo): Ret;
  onBatchEnd?(info: BatchEndInfo): Ret;
  onValidationBatchEnd?(info: ValidationBatchEndInfo): Ret;
  /**
   * Return 'stop' to end the fit after this epoch (the History then says stoppedEarly); any
   * other value goes on.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing must type-check too
  onEpochEnd?(info: EpochEndInfo): Ret<StopSignal | undefined | void>;
  onTrainEnd?(history: History): Ret;
}

const HOOKS = [
  'onTrainBegin',
  'onEpochBegin',
  'onBatchEnd',
  'onValidationBatchEnd',
  'onEpochEnd',
  'onTrainEnd',
] as const;
type Hook = (typeof HOOKS)[number];

/** The callbacks as a list, checked: a misspelt hook would otherwise never run and never say so. */
export function callbackList(callbacks: unknown): FitCallbacks[] {
  if (callbacks === undefined) return [];
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  for (const [i, c] of list.entries()) {
    const where = Array.isArray(callbacks) ? `callbacks[${i}]` : 'callbacks';
    if (!c || typeof c !== 'object') throw new InputError(`${where} must be an object of hooks`);
    for (const [k, v] of Object.entries(c)) {
      if (!(HOOKS as readonly string[]).includes(k)) {
        throw new InputError(`${where} has an unknown hook '${k}'; expected ${HOOKS.join(', ')}`);
      }
      if (v !== undefined && typeof v !== 'function')
        throw new InputError(`${where}.${k} must be a function`);
    }
  }
  return list as FitCallbacks[];
}

/** Runs one hook of every callback in order; true when any onEpochEnd asked to stop. */
export async function fire<H extends Hook>(
  list: FitCallbacks[],
  hook: H,
  info: Parameters<NonNullable<FitCallbacks[H]>>[0],
): Promise<boolean> {
  let stop = false;
  for (const c of list) {
    const f = c[hook] as ((i: typeof info) => Ret<unknown>) | undefined;
    if (f && (await f.call(c, info)) === 'stop') stop = true;
  }
  return stop;
}
