import type { SequenceModel } from '@bistable/core';
import { batchesOf, sequentialOrder } from '../data/batches.js';
import type { Dataset } from '../data/types.js';
import { correctSequences } from '../metrics.js';
import { betweenSteps } from './hooks.js';

export interface Evaluation {
  /** Mean loss over every sample (batch losses weighted by batch size). */
  loss: number;
  /** Per-batch losses, in order. */
  batchLosses: number[];
  /** Fraction of samples right at every step; only for sequence (BCE) models. */
  accuracy?: number;
}

/**
 * The loss (and sequence accuracy) of a model over a whole dataset, batch by batch: every batch
 * counts, unlike brc_pytorch's binary-addition validation, which kept only its last batch.
 */
export async function evaluate(
  model: SequenceModel,
  data: Dataset,
  batchSize: number,
  signal?: AbortSignal,
): Promise<Evaluation> {
  const withAccuracy = model.options.loss === 'bce';
  const batchLosses: number[] = [];
  let weighted = 0;
  let correct = 0;
  for (const idx of batchesOf(sequentialOrder(data.size), batchSize)) {
    await betweenSteps(signal);
    const { x, y } = data.batch(idx);
    const { loss, predictions } = await model.evaluate(x, y);
    batchLosses.push(loss);
    weighted += loss * idx.length;
    if (withAccuracy) correct += correctSequences(predictions.data, y.data, idx.length, model.options.dtype);
  }
  const out: Evaluation = { loss: weighted / data.size, batchLosses };
  if (withAccuracy) out.accuracy = correct / data.size;
  return out;
}
