import type { IndexedDataset } from '@bistable/core';

/** One batch, batch-first and ready for `SequenceModel`: x [B, T, I], y [B, 1] or [B, T, 1]. */
export interface Batch {
  x: { shape: [number, number, number]; data: Float32Array };
  y: { shape: number[]; data: Float32Array };
}

/**
 * A dataset of `size` samples, each a pure function of the dataset's seed and the sample's index.
 * Nothing is held in memory: a batch is generated when it is asked for. Core's `fit` trains on it
 * as it is (an IndexedDataset).
 */
export interface Dataset extends IndexedDataset {
  readonly size: number;
  /** Time steps of every sample. */
  readonly steps: number;
  batch(indices: ArrayLike<number>): Batch;
}
