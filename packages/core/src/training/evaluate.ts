import { InputError } from '../backend/errors.js';
import type { TensorLike } from '../params/validate.js';
import { checkPositiveInt } from '../params/validate.js';
import { betweenSteps } from './abort.js';
import { batchesOf, sequentialOrder } from './batches.js';
import { type BatchSource, batchSource, type FitData } from './data.js';
import type { EvaluableModel } from './model.js';

/** One batch of an evaluation: its index, size, data, predictions and loss. */
export interface EvaluationBatch {
  /** 0-based index of the batch. */
  batch: number;
  /** Samples in the batch. */
  size: number;
  loss: number;
  x: TensorLike;
  y: TensorLike;
  predictions: TensorLike;
}

/** How `evaluateData` batches a dataset, and what it calls after each batch. */
export interface EvaluateDataOptions {
  batchSize: number;
  signal?: AbortSignal;
  /** After each batch, e.g. to count a metric on its predictions. */
  onBatch?(info: EvaluationBatch): void | Promise<void>;
}

/** A model's loss over a whole dataset, and per batch. */
export interface DataEvaluation {
  /** Mean loss over every sample: the batch losses weighted by their batch sizes. */
  loss: number;
  /** The loss of each batch, in order. */
  batchLosses: number[];
}

/**
 * The loss of a model over a whole dataset, batch by batch in index order. Every batch counts,
 * weighted by its size, so the result is the mean over all samples whatever the batch size
 * (the studies' test loss; brc_pytorch's binary-addition validation kept only its last batch).
 */
export async function evaluateData(
  model: EvaluableModel,
  data: FitData,
  options: EvaluateDataOptions,
): Promise<DataEvaluation> {
  if (options === null || typeof options !== 'object')
    throw new InputError('evaluateData needs options {batchSize}');
  const batchSize = checkPositiveInt('batchSize', options.batchSize);
  return evaluateSource(model, batchSource('data', data), batchSize, options.signal, options.onBatch);
}

export async function evaluateSource(
  model: EvaluableModel,
  source: BatchSource,
  batchSize: number,
  signal: AbortSignal | undefined,
  onBatch: EvaluateDataOptions['onBatch'],
): Promise<DataEvaluation> {
  const batchLosses: number[] = [];
  let weighted = 0;
  let batch = 0;
  for (const idx of batchesOf(sequentialOrder(source.size), batchSize)) {
    await betweenSteps(signal);
    const { x, y } = source.batch(idx);
    const { loss, predictions } = await model.evaluate(x, y);
    batchLosses.push(loss);
    weighted += loss * idx.length;
    await onBatch?.({ batch: batch++, size: idx.length, loss, x, y, predictions });
  }
  return { loss: weighted / source.size, batchLosses };
}
