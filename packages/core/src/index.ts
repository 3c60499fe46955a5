export { BACKEND_CATALOG, type CatalogEntry, catalogEntry } from './backend/catalog.js';
export {
  cellKernels,
  kernelLevels,
  offeredKernels,
  registerKernel,
  type UnitContext,
  type UnitKernels,
} from './backend/cell-kernels.js';
export { BackendUnavailableError, BistableError, InputError } from './backend/errors.js';
export {
  type BackendRegistration,
  getBackend,
  probeBackend,
  registerBackend,
  registeredBackends,
} from './backend/registry.js';
export type * from './backend/types.js';
export { KERNEL_LEVEL } from './backend/types.js';
export { checkViewRange } from './backend/views.js';
export {
  type AdapterDescription,
  dawnReason,
  probeWebgpuQuietly,
  quietDawnEnvironment,
  softwareAdapterName,
  type WebgpuProbe,
} from './backend/webgpu-probe.js';
export {
  type BenchDeviceCounts,
  type BenchOptions,
  type BenchResult,
  benchAlternating,
  benchEnsemble,
  benchSideBySide,
  benchTraining,
  inferenceMultiplyAdds,
  type StepCounts,
  type TimingStats,
  TrainingBench,
  trainingMultiplyAdds,
} from './bench/index.js';
export {
  type BlockOptions,
  BRC,
  CELL_NAMES,
  CELLS,
  type CellProgram,
  type CellRecipe,
  type CellRef,
  type CellSpec,
  cellNames,
  cellParams,
  cellSpec,
  type Dialect,
  defineCell,
  GRU,
  type InitSpec,
  type Instr,
  LSTM,
  nBRC,
  type Operand,
  type PackedSlot,
  type ParamSpec,
  type RecipeInputs,
  type RecipeStep,
  registerCell,
  renderStatements,
  type StepProgram,
  Val,
} from './cells/index.js';
export { sigmoid } from './cells/spec.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type CheckpointModel,
  captureCheckpoint,
  configMismatch,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  type ModelConfig,
  modelConfig,
  readCheckpoint,
  readFileBytes,
  restoreCheckpoint,
  saveCheckpoint,
  sha256Hex,
  writeFileAtomic,
} from './checkpoint/index.js';
export { CpuBackend, type CpuBackendOptions } from './cpu/backend.js';
export { CPU_PRIORITY, registerCpuBackend } from './cpu/register.js';
export type { TileRows } from './cpu/tile-choice.js';
export { constant, initParam, orthogonal, uniform, xavierUniform } from './init/initializers.js';
export { Rng } from './init/rng.js';
export { deriveSeed } from './init/seeds.js';
export { bceLoss, bceWithLogitsLoss } from './loss/bce.js';
export { mseLoss } from './loss/mse.js';
export { Ensemble } from './models/ensemble.js';
export { Linear } from './models/linear.js';
export {
  checkMemoryFits,
  estimateTrainingMemory,
  formatBytes,
  type MemoryEstimate,
  type ModelSize,
} from './models/memory.js';
export type { MicroBatchPlan } from './models/micro-batch.js';
export {
  type LossKind,
  type Readout,
  SequenceModel,
  type SequenceModelOptions,
} from './models/sequence-model.js';
export { nodeModule } from './node-module.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export { adamHost } from './optim/adam-math.js';
export type { Optimizer, OptimizerState, ParameterSource } from './optim/optimizer.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export {
  type ForeignTensor,
  hostView,
  isForeignTensor,
  registerTensorAdapter,
  returnLike,
  type TensorAdapter,
  type TensorInput,
  type TensorOutput,
} from './params/foreign-tensor.js';
export { type HostTensor, packNamed, unpackNamed } from './params/named.js';
export { checkPositiveInt, checkTensor, DEFAULT_DTYPE, type TensorLike } from './params/validate.js';
export { ReferenceBackend, registerReferenceBackend } from './reference/backend.js';
export { gemmHost, type HostGemm } from './reference/gemm.js';
export { dataOf, HostBuffer, hostArray } from './reference/host-buffer.js';
export { Cell } from './runner/cell.js';
export { matmul } from './runner/gemm-helpers.js';
export type { MemberBatch, MemberSlot } from './runner/member-batch.js';
export type { MemberSlabs, SlabScope } from './runner/member-slabs.js';
export {
  MultiLayerRNN,
  type Parameter,
  type RNNGradients,
  type RNNOptions,
  type RNNOutput,
  type RNNState,
} from './runner/multilayer-rnn.js';
export { type FeaturePart, packedLengths, RecurrentUnit } from './runner/recurrent-unit.js';
export { backwardSteps, forwardSteps, type StepDriver, type StepScratch, slots } from './runner/step-loop.js';
export { Workspace } from './runner/workspace.js';
export {
  type Batch,
  type BatchEndInfo,
  type BatchResult,
  batchCount,
  batchesOf,
  type ClipOptions,
  type ClipResult,
  clipGradients,
  type DataEvaluation,
  type EnsembleFitMember,
  type EpochBeginInfo,
  type EpochEndInfo,
  type EvaluableModel,
  type EvaluateDataOptions,
  type EvaluationBatch,
  epochOrder,
  evaluateData,
  type FitCallbacks,
  type FitData,
  type FitOptions,
  fit,
  fitEnsemble,
  type History,
  type IndexedDataset,
  type LrSchedule,
  type LrScheduleSpec,
  lrSchedule,
  type StopSignal,
  sequentialOrder,
  type TensorPair,
  type TrainableModel,
  type TrainBeginInfo,
  TrainingAborted,
  type ValidationBatchEndInfo,
} from './training/index.js';

import { registerCpuBackend } from './cpu/register.js';
import { registerReferenceBackend } from './reference/backend.js';

// core always carries its reference backend
registerReferenceBackend();
registerCpuBackend();
