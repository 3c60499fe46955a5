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
export { type Tolerance, toleranceFor, worstError } from './tolerance.js';
