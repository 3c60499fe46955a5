import {
  type Checkpoint,
  captureCheckpoint,
  type Optimizer,
  restoreCheckpoint,
  type SequenceModel,
} from '@bistable/core';
import type { BinaryAdditionConfig, Checkpointer, CopyFirstInputConfig } from '../src/index.js';

/** Keeps one run's checkpoints in memory, with the progress through JSON as a file would. */
export function memoryCheckpointer(): Checkpointer & { saves: number } {
  let last: Checkpoint | null = null;
  return {
    saves: 0,
    async load(model: SequenceModel, optimizer: Optimizer) {
      if (!last) return null;
      await restoreCheckpoint(last, model, optimizer);
      return JSON.parse(JSON.stringify(last.extra?.progress)) as Record<string, unknown>;
    },
    async save(model: SequenceModel, optimizer: Optimizer, progress: Record<string, unknown>) {
      this.saves++;
      last = await captureCheckpoint(model, optimizer, { progress: JSON.parse(JSON.stringify(progress)) });
    },
  };
}

/** A copy-first-input run of seconds. */
export const tinyCopy: CopyFirstInputConfig = {
  cell: 'nBRC',
  length: 4,
  layers: 2,
  hidden: 8,
  samples: 600,
  testSamples: 100,
  batchSize: 50,
  maxEpochs: 4,
  threshold: 1e-6,
  lr: 1e-3,
  dtype: 'float32',
  dataSeed: 5,
  modelSeed: 6,
};

/** A binary-addition run of seconds. */
export const tinyBinary: BinaryAdditionConfig = {
  cell: 'GRU',
  layers: 1,
  hidden: 8,
  trainMin: 3,
  trainMax: 4,
  epochsPerLength: 2,
  trainSamples: 100,
  validSamples: 60,
  batchSize: 50,
  testMin: 3,
  testMax: 6,
  testSamples: 40,
  lr: 1e-3,
  dtype: 'float32',
  dataSeed: 8,
  modelSeed: 9,
};
