/** What a fit recorded: one entry per epoch run (from `initialEpoch` on) and one per step. */
export interface History {
  /** The 0-based indices of the epochs run. */
  epochs: number[];
  /** Mean training loss of each epoch over its samples (batch losses weighted by batch size). */
  trainLoss: number[];
  /** Validation loss of each epoch over every validation sample; empty without validationData. */
  validLoss: number[];
  /** Learning rate of each epoch's first step. */
  lr: number[];
  /** The loss of every step (before its update), in order. */
  stepLoss: number[];
  /**
   * Gradient steps counted from epoch 0 at the end of the fit: a fit resumed at `initialEpoch`
   * counts the steps of the epochs before it, so it ends at the count of an uninterrupted fit.
   */
  steps: number;
  /** Whether a callback stopped the fit before its last epoch. */
  stoppedEarly: boolean;
}

export function emptyHistory(steps: number): History {
  return { epochs: [], trainLoss: [], validLoss: [], lr: [], stepLoss: [], steps, stoppedEarly: false };
}
