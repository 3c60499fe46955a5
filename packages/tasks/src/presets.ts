import { CELL_NAMES, InputError } from '@bistable/core';
import type { BinaryAdditionStudy, CopyFirstInputStudy, Study, TaskName } from './study.js';

/** The reference scripts' loop order, which their figures and tables keep. */
export const SEED_CELL_ORDER: readonly string[] = ['LSTM', 'GRU', 'nBRC', 'BRC'];

/** Sorts cells in SEED_CELL_ORDER (others after them). */
export function bySeedOrder(a: string, b: string): number {
  const rank = (c: string) =>
    SEED_CELL_ORDER.includes(c) ? SEED_CELL_ORDER.indexOf(c) : SEED_CELL_ORDER.length;
  return rank(a) - rank(b);
}

/** The presets every study has: `paper` (brc_pytorch's sizes) and `quick` (a first look in a few minutes on two CPU cores). */
export const PRESETS = ['paper', 'quick'] as const;
/** One of PRESETS. */
export type PresetName = (typeof PRESETS)[number];

/** brc_pytorch's full sizes (brc_benchmark1.py, binary_addition_train.py, README). */
const paper = {
  'copy-first-input': {
    task: 'copy-first-input',
    cells: [...CELL_NAMES].sort(bySeedOrder),
    lengths: [5, 100, 300],
    layers: [2],
    hidden: 100,
    samples: 50_000,
    testSamples: 5_000,
    batchSize: 100,
    maxEpochs: 60,
    threshold: 0.1,
    lr: 1e-3,
    dtype: 'float32',
    seed: 0,
  } satisfies CopyFirstInputStudy,
  'binary-addition': {
    task: 'binary-addition',
    cells: [...CELL_NAMES].sort(bySeedOrder),
    layers: [1, 2],
    repeats: 5,
    hidden: 100,
    trainMin: 3,
    trainMax: 20,
    epochsPerLength: 15,
    trainSamples: 10_000,
    validSamples: 1_000,
    batchSize: 200,
    testMin: 3,
    testMax: 60,
    testSamples: 1_000,
    lr: 1e-3,
    dtype: 'float32',
    seed: 0,
  } satisfies BinaryAdditionStudy,
};

/**
 * A first look in a few minutes on two CPU cores (core's cpu backend; the reference backend is
 * about eight times slower): brc_pytorch's protocol with smaller datasets and fewer steps, and for
 * binary addition a smaller network. At T = 5 every cell goes below 0.1 within 600 steps. At
 * T = 100, the paper's point: GRU and LSTM stay at the MSE of predicting 0 (≈ 1) while nBRC and
 * BRC fall (measured after 800 steps: nBRC 0.590, BRC 0.633, GRU 1.024, LSTM 1.025; Node 20, cpu backend). In binary
 * addition nBRC extrapolates far past its longest trained length.
 */
const quick = {
  'copy-first-input': {
    ...paper['copy-first-input'],
    lengths: [5, 100],
    samples: 10_500,
    testSamples: 500,
    maxEpochs: 8,
  } satisfies CopyFirstInputStudy,
  'binary-addition': {
    ...paper['binary-addition'],
    layers: [1],
    repeats: 3,
    hidden: 32,
    trainMin: 3,
    trainMax: 10,
    epochsPerLength: 8,
    trainSamples: 5_000,
    validSamples: 500,
    batchSize: 50,
    testMin: 3,
    testMax: 30,
    testSamples: 500,
  } satisfies BinaryAdditionStudy,
};

/** The published copy-first-input figure's moving-average windows: 20 steps for T = 5, 100 above. */
export function movingAverageWindow(length: number): number {
  return length <= 5 ? 20 : 100;
}

/** A copy of a preset's study, to adjust before planning its runs. */
export function preset(task: TaskName, name: PresetName | string): Study {
  const table = name === 'paper' ? paper : name === 'quick' ? quick : null;
  if (!table) throw new InputError(`unknown preset '${name}'; expected one of ${PRESETS.join(', ')}`);
  return structuredClone(table[task]) as Study;
}

/**
 * What a preset's results show and what they leave out, for the figures' subtitles and the
 * README; null for the paper preset, which leaves nothing out.
 */
export function presetNotes(task: TaskName, name: string): string | null {
  if (name !== 'quick') return null;
  if (task === 'copy-first-input') {
    return 'quick: the paper model, optimiser and data with 10 000 training samples and at most 800 steps per run; it shows GRU and LSTM stuck near MSE 1 at T = 100 while nBRC and BRC fall, not where they end (with the paper budget nBRC reaches test MSE 0.066 after 5 850 steps): run --preset paper';
  }
  return 'quick: 1 layer × 32 units, curriculum 3..10, 3 repeats; it shows extrapolation past the trained lengths, not the paper sizes (1 and 2 layers × 100, 3..20, 5 repeats): run --preset paper';
}
