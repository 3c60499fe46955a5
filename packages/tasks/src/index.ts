// the epoch orders and seeds moved to core, whose `fit` runs the same loop; kept here for callers
export { batchCount, batchesOf, deriveSeed, epochOrder, sequentialOrder } from '@bistable/core';
export { type CheckpointSlots, fileCheckpointer, readProgress, slotCheckpointer } from './checkpoints.js';
export { cellName, dtypeName } from './checks.js';
export { BinaryAddition } from './data/binary-addition.js';
export { CopyFirstInput } from './data/copy-first-input.js';
export type { Batch, Dataset } from './data/types.js';
export { ensembleGroups, ensembleKey, runEnsemble } from './ensembles.js';
export {
  correctSequences,
  meanBinaryCrossEntropy,
  meanSquaredError,
  predictedBit,
  sequenceAccuracy,
} from './metrics.js';
export {
  bySeedOrder,
  movingAverageWindow,
  PRESETS,
  type PresetName,
  preset,
  presetNotes,
  SEED_CELL_ORDER,
} from './presets.js';
export {
  type BinaryAdditionConfig,
  type BinaryAdditionResult,
  binaryAdditionSets,
  type CurriculumEpoch,
  checkBinaryAdditionConfig,
  runBinaryAddition,
  runBinaryAdditionEnsemble,
  type TestPoint,
} from './protocols/binary-addition.js';
export {
  type CopyFirstInputConfig,
  type CopyFirstInputResult,
  checkCopyFirstInputConfig,
  runCopyFirstInput,
  runCopyFirstInputEnsemble,
} from './protocols/copy-first-input.js';
export { type Evaluation, evaluate } from './protocols/evaluate.js';
export {
  type Checkpointer,
  type EpochInfo,
  RunAborted,
  type RunHooks,
  type StepInfo,
} from './protocols/hooks.js';
export { canonicalJson, changedSettings } from './protocols/progress.js';
export {
  formatPublished,
  PUBLISHED_BINARY_ADDITION,
  PUBLISHED_COPY_FIRST_INPUT,
  type PublishedValue,
} from './published.js';
export { mean, sampleStd, standardError, trailingMovingAverage } from './stats.js';
export {
  type BinaryAdditionStudy,
  binaryRunId,
  type CopyFirstInputStudy,
  copyRunId,
  plannedSteps,
  planRuns,
  type RunSpec,
  runModelSize,
  type Study,
  stepWork,
  TASKS,
  type TaskName,
  taskName,
} from './study.js';
