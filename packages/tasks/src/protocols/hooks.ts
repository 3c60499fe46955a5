import { type Optimizer, type SequenceModel, TrainingAborted } from '@bistable/core';

/** Where a protocol keeps its resumable state. The protocol decides when; this decides where. */
export interface Checkpointer {
  /**
   * Restores model and optimiser from the last saved state and returns the `progress` saved with
   * it, or null when there is none (a fresh run).
   */
  load(model: SequenceModel, optimizer: Optimizer): Promise<Record<string, unknown> | null>;
  /** Saves the state at an epoch boundary (model, optimiser, and progress for an exact resume). */
  save(model: SequenceModel, optimizer: Optimizer, progress: Record<string, unknown>): Promise<void>;
  /** Saves the model with the best validation loss so far (brc_pytorch's checkpoint). */
  saveBest?(model: SequenceModel, optimizer: Optimizer, info: Record<string, unknown>): Promise<void>;
}

/** What `onStep` is told after every gradient step of a run. */
export interface StepInfo {
  /** Gradient steps done so far in this run (1-based after the first step). */
  step: number;
  /** The most steps this run can take (early stopping may end it sooner). */
  totalSteps: number;
  epoch: number;
  loss: number;
}

/** What `onEpoch` is told at the end of every epoch of a run. */
export interface EpochInfo {
  /** 0-based epoch index over the whole run. */
  epoch: number;
  totalEpochs: number;
  step: number;
  trainLoss: number;
  validLoss: number;
  trainAccuracy?: number;
  validAccuracy?: number;
  /** The curriculum length (binary addition). */
  length?: number;
}

/** How a caller follows, checkpoints and stops a run: all optional. */
export interface RunHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(info: EpochInfo): void;
  /** One line for the run's log. */
  onLog?(line: string): void;
  /** Resumable state: loaded before the first step, saved at every epoch end. */
  checkpoints?: Checkpointer;
  /** Stops the run between two steps; the last checkpoint stays, so the run can be resumed. */
  signal?: AbortSignal;
}

/** Thrown when a run's signal aborts it. */
export class RunAborted extends Error {
  constructor() {
    super('run aborted; resume it from its last checkpoint');
    this.name = 'RunAborted';
  }
}

/** `run`'s result, with core's TrainingAborted (fit's abort between two steps) as RunAborted. */
export async function asRunAborted<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof TrainingAborted) throw new RunAborted();
    throw err;
  }
}
