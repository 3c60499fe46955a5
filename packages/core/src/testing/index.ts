export {
  type CaseKind,
  type CaseResult,
  type ConformanceCase,
  conformanceCases,
  runConformance,
} from './conformance.js';
export {
  type GoldenCellCase,
  type GoldenFile,
  GoldenFileSchema,
  type GoldenMultiLayerCase,
  type GoldenTensor,
  type GoldenTrainingStepCase,
  parseGolden,
} from './golden-schema.js';
export { bundledGoldenPath, loadGolden } from './load-golden.js';
export {
  formatStepKitResult,
  runStepKit,
  type StepKitCase,
  type StepKitKernels,
  type StepKitOptions,
  type StepKitResult,
  type StepKitShape,
  stepKitCases,
} from './step-kit.js';
export { STEP_KIT_CELL } from './step-kit-cell.js';
export {
  type SequenceGradInputs,
  type SequenceInputs,
  sequenceBackward,
  sequenceForward,
  stepBackward,
  stepForward,
} from './step-kit-oracle.js';
export { type Tolerance, toleranceFor, worstError } from './tolerance.js';
