import type { Adam, SequenceModel } from '@bistable/core';

/** Where a protocol keeps its resumable state. The protocol decides when; this decides where. */
export interface Checkpointer {
  /**
   * Restores model and optimiser from the last saved state and returns the `progress` saved with
   * it, or null when there is none (a fresh run).
   */
  load(model: SequenceModel, optimizer: Adam): Promise<Record<string, unknown> | null>;
  /** Saves the state at an epoch boundary (model, optimiser, and progress for an exact resume). */
  save(model: SequenceModel, optimizer: Adam, progress: Record<string, unknown>): Promise<void>;
  /** Saves the model with the best validation loss so far (brc_pytorch's checkpoint). */
  saveBest?(model: SequenceModel, optimizer: Adam, info: Record<string, unknown>): Promise<void>;
}

export interface StepInfo {
  /** Gradient steps done so far in this run (1-based after the first step). */
  step: number;
  /** The most steps this run can take (early stopping may end it sooner). */
  totalSteps: number;
  epoch: number;
  loss: number;
}

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

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RunAborted();
}

const YIELD_EVERY_MS = 100;
let lastYield = 0;
const macrotask: (f: () => void) => void =
  typeof setImmediate === 'function' ? (f) => setImmediate(f) : (f) => setTimeout(f, 0);

/**
 * Between two steps: lets the event loop run about every 100 ms, so that Ctrl-C, SIGTERM and a
 * progress display are served while a run trains (its steps are otherwise back to back, and a
 * signal would wait for the epoch's end), then stops if the run was aborted.
 */
export async function betweenSteps(signal: AbortSignal | undefined): Promise<void> {
  const now = performance.now();
  if (now - lastYield >= YIELD_EVERY_MS) {
    lastYield = now;
    await new Promise<void>((resolve) => macrotask(resolve));
  }
  throwIfAborted(signal);
}
