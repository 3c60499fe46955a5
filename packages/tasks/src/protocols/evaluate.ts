import { evaluateData, type SequenceModel } from '@bistable/core';
import type { Dataset } from '../data/types.js';
import { correctSequences } from '../metrics.js';
import { asRunAborted } from './hooks.js';

/** A model's loss (and, for sequence models, accuracy) over a whole dataset. */
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
 * counts, unlike brc_pytorch's binary-addition validation, which kept only its last batch. Core's
 * evaluateData computes the loss; this adds the accuracy.
 */
export async function evaluate(
  model: SequenceModel,
  data: Dataset,
  batchSize: number,
  signal?: AbortSignal,
): Promise<Evaluation> {
  const counter = accuracyCounter(model);
  const ev = await asRunAborted(evaluateData(model, data, { batchSize, signal, onBatch: counter?.add }));
  const out: Evaluation = { loss: ev.loss, batchLosses: ev.batchLosses };
  if (counter) out.accuracy = counter.correct / data.size;
  return out;
}

/** Counts the samples predicted right at every step, batch by batch; null for a last-step (MSE) model. */
export function accuracyCounter(model: SequenceModel) {
  if (model.options.loss !== 'bce') return null;
  const dtype = model.options.dtype;
  const counter = {
    correct: 0,
    add(b: { predictions: { data: ArrayLike<number> }; y: { data: ArrayLike<number> }; size: number }) {
      counter.correct += correctSequences(b.predictions.data, b.y.data, b.size, dtype);
    },
  };
  return counter;
}
