import type { CellName } from '@bistable/core';

/**
 * What the PyTorch reference package (brc_pytorch 0.1.3, README figures) reports for its two
 * studies, read off its published plots: the numbers every reproduction is compared with.
 * Values are approximate by nature (read from figures); ranges are kept as ranges.
 */
export interface PublishedValue {
  /** A single reading, or [low, high] where the figure shows a band or the README a range. */
  value: number | [number, number];
  /** Where on the figure it was read. */
  where: string;
  /** How to show it when a number alone would mislead (when a curve crosses a line). */
  text?: string;
}

const T5 =
  'moving-average training MSE (window 20) falls below the 0.1 line: LSTM and GRU by step ≈90, nBRC ≈270, BRC ≈630';
const LONG = 'moving-average training MSE (window 100) where the published curves end, ≈5 400 steps';

/** The published copy-first-input results per sequence length and cell, read off the paper's figures. */
export const PUBLISHED_COPY_FIRST_INPUT: Record<number, Record<CellName, PublishedValue>> = {
  5: {
    LSTM: { value: [0, 0.1], where: T5, text: 'below 0.1 by step ≈90' },
    GRU: { value: [0, 0.1], where: T5, text: 'below 0.1 by step ≈90' },
    nBRC: { value: [0, 0.1], where: T5, text: 'below 0.1 by step ≈270' },
    BRC: { value: [0, 0.1], where: T5, text: 'below 0.1 by step ≈630' },
  },
  100: {
    LSTM: { value: [0.7, 1], where: LONG },
    GRU: { value: [0.7, 1], where: LONG },
    nBRC: { value: [0.13, 0.4], where: LONG },
    BRC: { value: [0.13, 0.4], where: LONG },
  },
  300: {
    LSTM: { value: [0.7, 1], where: LONG },
    GRU: { value: [0.7, 1], where: LONG },
    nBRC: { value: [0.13, 0.4], where: LONG },
    BRC: { value: [0.13, 0.4], where: LONG },
  },
};

/** Test accuracy at L = 60 (trained up to 20), mean over 5 repeats, by layer count. */
export const PUBLISHED_BINARY_ADDITION: Record<number, Record<CellName, PublishedValue>> = {
  1: {
    nBRC: { value: [0.995, 1], where: 'test accuracy at L = 60' },
    BRC: { value: 0.92, where: 'test accuracy at L = 60' },
    GRU: { value: 0.6, where: 'test accuracy at L = 60' },
    LSTM: { value: 0.48, where: 'test accuracy at L = 60' },
  },
  2: {
    nBRC: { value: 1, where: 'test accuracy at L = 60' },
    BRC: { value: 0.987, where: 'test accuracy at L = 60' },
    GRU: { value: 0.97, where: 'test accuracy at L = 60' },
    LSTM: { value: 0.987, where: 'test accuracy at L = 60' },
  },
};

/** "0.92", "0.13–0.4". */
export function formatPublished(v: PublishedValue | undefined): string {
  if (!v) return '-';
  if (v.text) return v.text;
  return Array.isArray(v.value) ? `${v.value[0]}–${v.value[1]}` : String(v.value);
}
