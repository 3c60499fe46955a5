import type { Backend } from '../backend/types.js';
import type { Optimizer, ParameterSource } from '../optim/optimizer.js';
import type { TensorLike } from '../params/validate.js';

/** The loss of a batch and the model's outputs on it. */
export interface BatchResult {
  loss: number;
  predictions: TensorLike;
}

/** What `evaluateData` needs of a model: SequenceModel is one. */
export interface EvaluableModel {
  evaluate(x: TensorLike, y: TensorLike): Promise<BatchResult>;
}

/**
 * What `fit` needs of a model: SequenceModel is one. `parameters()` (with their gradients) is
 * read only to clip gradients.
 */
export interface TrainableModel extends EvaluableModel, ParameterSource {
  readonly backend: Backend;
  /** Forward, loss, backward and `optimizer.step()`; the loss from before the update. */
  trainStep(x: TensorLike, y: TensorLike, optimizer: Optimizer): Promise<BatchResult>;
}
