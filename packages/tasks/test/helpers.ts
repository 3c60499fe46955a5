import {
  type Checkpoint,
  captureCheckpoint,
  type Optimizer,
  restoreCheckpoint,
  type SequenceModel,
} from '@bistable/core';
import type { Checkpointer } from '../src/index.js';

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
