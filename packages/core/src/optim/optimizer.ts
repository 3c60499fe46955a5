import type { Backend, DeviceBuffer, HostArray } from '../backend/types.js';

/** Something with named parameters on a backend and their gradients. */
export interface ParameterSource {
  parameters(): { name: string; value: DeviceBuffer; grad: DeviceBuffer }[];
}

/** State an optimiser can save to and load from a checkpoint, keyed `<param>.<slot>`. */
export interface OptimizerState {
  kind: string;
  step: number;
  hyper: Record<string, number>;
  slots: Record<string, HostArray>;
}

/** What `fit`, `trainStep` and checkpoints need of an optimiser; Adam and SGD implement it. */
export interface Optimizer {
  readonly backend: Backend;
  /** The learning rate of the next step, for optimisers that have one. */
  readonly lr?: number;
  /**
   * Sets the learning rate of the steps that follow, leaving the optimiser's state (moments,
   * step count) as it is. Learning-rate schedules need it; an InputError for a rate that is not
   * a finite number >= 0.
   */
  setLearningRate?(lr: number): void;
  step(): Promise<void>;
  state(): Promise<OptimizerState>;
  loadState(s: OptimizerState): void;
  /** Frees the optimiser's own device buffers (moments); the parameters stay. */
  dispose(): void;
}
