export { TrainingAborted } from './abort.js';
export { batchCount, batchesOf, epochOrder, sequentialOrder } from './batches.js';
export type {
  BatchEndInfo,
  EpochBeginInfo,
  EpochEndInfo,
  FitCallbacks,
  StopSignal,
  TrainBeginInfo,
  ValidationBatchEndInfo,
} from './callbacks.js';
export { type ClipOptions, type ClipResult, clipGradients } from './clip.js';
export type { Batch, FitData, IndexedDataset, TensorPair } from './data.js';
export {
  type DataEvaluation,
  type EvaluateDataOptions,
  type EvaluationBatch,
  evaluateData,
} from './evaluate.js';
export { fit } from './fit.js';
export { type EnsembleFitMember, fitEnsemble } from './fit-ensemble.js';
export type { History } from './history.js';
export type { BatchResult, EvaluableModel, TrainableModel } from './model.js';
export type { FitOptions } from './options.js';
export { type LrSchedule, type LrScheduleSpec, lrSchedule } from './schedules.js';
