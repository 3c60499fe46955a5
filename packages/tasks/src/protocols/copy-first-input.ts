import {
  Adam,
  type Backend,
  batchCount,
  type CellName,
  checkPositiveInt,
  type DType,
  deriveSeed,
  type FitOptions,
  fit,
  fitEnsemble,
  InputError,
  type KernelLevel,
  type Optimizer,
  SequenceModel,
  type SequenceModelOptions,
} from '@bistable/core';
import { cellName, dtypeName, positiveNumber, seedValue } from '../checks.js';
import { CopyFirstInput } from '../data/copy-first-input.js';
import { asRunAborted, type RunHooks } from './hooks.js';
import { restoreProgress } from './progress.js';
import { withEnsemble } from './shared-ensemble.js';

/** One copy-first-input run: one cell, one sequence length, a fresh model and optimiser. */
export interface CopyFirstInputConfig {
  cell: CellName;
  /** Sequence length T: the target is the first of T steps. */
  length: number;
  layers: number;
  hidden: number;
  /** Samples in all; the last `testSamples` of them are the test set (brc_pytorch: 50 000 and 5 000). */
  samples: number;
  testSamples: number;
  batchSize: number;
  maxEpochs: number;
  /** Early stop at the end of the first epoch whose test MSE is below this (brc_pytorch: 0.1). */
  threshold: number;
  lr: number;
  dtype: DType;
  /** Seeds the samples and the shuffling. */
  dataSeed: number;
  /** Seeds the model's initial weights. */
  modelSeed: number;
  /** Caps the backend's kernel level (debugging, comparisons). */
  maxLevel?: KernelLevel;
  /** Most rows per forward/backward pass (SequenceModel's `microBatch`); results equal up to rounding. */
  microBatch?: number;
}

/** Every series brc_pytorch saves, without its bugs (the test loss is the mean over all batches). */
export interface CopyFirstInputResult {
  task: 'copy-first-input';
  config: CopyFirstInputConfig;
  /** Loss of every training step (brc_pytorch's TrainLoss_AllE). */
  trainLoss: number[];
  /** Mean training loss of each epoch (TrainAvgLoss_AllE). */
  trainEpochLoss: number[];
  /** Test loss of each batch, per epoch (ValidLoss_AllE). */
  validBatchLoss: number[][];
  /** Test loss of each epoch over every test sample (ValidAvgLoss_AllE). */
  validLoss: number[];
  epochs: number;
  steps: number;
  bestEpoch: number;
  bestValidLoss: number;
  /** The epoch (0-based) whose test loss first fell below the threshold, or null. */
  solvedAtEpoch: number | null;
  /** Gradient steps taken up to the end of that epoch, or null. */
  solvedAtStep: number | null;
  finished: boolean;
}

/** Checks a copy-first-input configuration and returns it; the error names the first bad setting. */
export function checkCopyFirstInputConfig(c: CopyFirstInputConfig): CopyFirstInputConfig {
  cellName(c.cell);
  if (!Number.isInteger(c.length) || c.length < 2) {
    throw new InputError(`copy-first-input needs a sequence length T >= 2, got ${String(c.length)}`);
  }
  for (const k of ['layers', 'hidden', 'samples', 'testSamples', 'batchSize', 'maxEpochs'] as const)
    checkPositiveInt(k, c[k]);
  if (c.testSamples >= c.samples) {
    throw new InputError(
      `testSamples (${c.testSamples}) must be smaller than samples (${c.samples}), which include them`,
    );
  }
  positiveNumber('threshold', c.threshold);
  positiveNumber('lr', c.lr);
  dtypeName(c.dtype);
  seedValue('dataSeed', c.dataSeed);
  seedValue('modelSeed', c.modelSeed);
  if (c.microBatch !== undefined) checkPositiveInt('microBatch', c.microBatch);
  return c;
}

function emptyResult(config: CopyFirstInputConfig): CopyFirstInputResult {
  return {
    task: 'copy-first-input',
    config,
    trainLoss: [],
    trainEpochLoss: [],
    validBatchLoss: [],
    validLoss: [],
    epochs: 0,
    steps: 0,
    bestEpoch: -1,
    bestValidLoss: Number.MAX_VALUE,
    solvedAtEpoch: null,
    solvedAtStep: null,
    finished: false,
  };
}

/**
 * brc_pytorch's benchmark 1 for one (cell, T): up to `maxEpochs` epochs of shuffled batches with
 * Adam and MSE, the test MSE over the whole test set after each epoch, a checkpoint at each epoch
 * end, and an early stop once the test MSE is below the threshold. With `hooks.checkpoints` a
 * killed run resumes from its last epoch end and ends exactly as an uninterrupted one. The loop
 * is core's `fit`; this adds the study's series, logs, checkpoints and stopping rule.
 *
 * @example
 * ```ts
 * import { getBackend } from '@bistable/core';
 * import { runCopyFirstInput } from '@bistable/tasks';
 *
 * const backend = await getBackend('auto');
 * const result = await runCopyFirstInput(
 *   backend,
 *   {
 *     cell: 'nBRC',
 *     length: 5, // T
 *     layers: 2,
 *     hidden: 100,
 *     samples: 50_000,
 *     testSamples: 5_000,
 *     batchSize: 100,
 *     maxEpochs: 30,
 *     threshold: 0.1, // stop after the first epoch whose test MSE is below this
 *     lr: 1e-3,
 *     dtype: 'float32',
 *     dataSeed: 1,
 *     modelSeed: 1,
 *   },
 *   { onEpoch: ({ epoch, validLoss }) => console.log(`epoch ${epoch}: test MSE ${validLoss}`) },
 * );
 * console.log(result.epochs, result.bestValidLoss);
 * ```
 */
export async function runCopyFirstInput(
  backend: Backend,
  config: CopyFirstInputConfig,
  hooks: RunHooks = {},
): Promise<CopyFirstInputResult> {
  const c = checkCopyFirstInputConfig({ ...config, cell: cellName(config.cell) });
  const model = new SequenceModel(backend, { ...copyModelOptions(c), seed: c.modelSeed });
  const optimizer = new Adam(backend, [model], { lr: c.lr });
  try {
    const run = await openCopyRun(c, model, optimizer, hooks);
    if (run.fit) await asRunAborted(fit(model, optimizer, run.fit.train, run.fit.options));
    return run.result;
  } finally {
    model.dispose();
  }
}

/**
 * Copy-first-input runs whose models share a shape (cell, layers, hidden, dtype) and learning
 * rate, trained together as one Ensemble: each run keeps its own data, lengths, seeds, checkpoints
 * and early stop, and its numbers are those of runCopyFirstInput alone. A run that stops early
 * sits out the steps of the others. `hooks[i]` follows run i.
 */
export async function runCopyFirstInputEnsemble(
  backend: Backend,
  configs: readonly CopyFirstInputConfig[],
  hooks: readonly RunHooks[] = [],
): Promise<CopyFirstInputResult[]> {
  const cs = configs.map((c) => checkCopyFirstInputConfig({ ...c, cell: cellName(c.cell) }));
  // runs of one length share every batch's shape (lengths differ where a study's lengths group)
  const sameLength = cs.every((c) => c.length === cs[0].length);
  return withEnsemble(backend, cs, copyModelOptions, sameLength, async (ensemble) => {
    const runs = [];
    for (const [i, c] of cs.entries())
      runs.push(await openCopyRun(c, ensemble.members[i], ensemble.memberOptimizer(i), hooks[i] ?? {}));
    if (runs.some((r) => r.fit))
      await asRunAborted(
        fitEnsemble(
          ensemble,
          runs.map((r) => r.fit),
        ),
      );
    return runs.map((r) => r.result);
  });
}

/** The model of a copy-first-input run, without its seed. */
export function copyModelOptions(c: CopyFirstInputConfig): Omit<SequenceModelOptions, 'seed'> {
  return {
    cell: c.cell,
    inputSize: 1,
    hiddenSize: c.hidden,
    numLayers: c.layers,
    readout: 'last',
    loss: 'mse',
    dtype: c.dtype,
    maxLevel: c.maxLevel,
    microBatch: c.microBatch,
  };
}

/**
 * One run restored from its checkpoint (or fresh), with the fit that remains: null when it is
 * finished. The fit's callbacks keep the run's series, logs, checkpoints and stopping rule, on
 * whatever trains `model` (fit alone, fitEnsemble in an ensemble).
 */
async function openCopyRun(
  c: CopyFirstInputConfig,
  model: SequenceModel,
  optimizer: Optimizer,
  hooks: RunHooks,
): Promise<{ result: CopyFirstInputResult; fit: { train: CopyFirstInput; options: FitOptions } | null }> {
  const trainN = c.samples - c.testSamples;
  const train = new CopyFirstInput(c.dataSeed, c.length, trainN, 0);
  const test = new CopyFirstInput(c.dataSeed, c.length, c.testSamples, trainN);
  const totalSteps = batchCount(trainN, c.batchSize) * c.maxEpochs;
  const saved = hooks.checkpoints ? await hooks.checkpoints.load(model, optimizer) : null;
  const r: CopyFirstInputResult = saved ? restoreProgress(saved, c, 'copy-first-input') : emptyResult(c);
  if (saved) hooks.onLog?.(`resumed after epoch ${r.epochs} (${r.steps} steps)`);
  else hooks.onLog?.(`Training network with cells of type ${c.cell} with a lag of ${c.length} time-steps`);
  if (r.finished) return { result: r, fit: null };
  const options: FitOptions = {
    epochs: c.maxEpochs,
    // the checkpoint holds the model and optimiser at the end of epoch r.epochs − 1
    initialEpoch: r.epochs,
    // fit refuses a batch larger than the data; one batch of every sample is what it meant
    batchSize: Math.min(c.batchSize, trainN),
    seed: deriveSeed(c.dataSeed, 'order'),
    validationData: test,
    validationBatchSize: c.batchSize,
    signal: hooks.signal,
    callbacks: {
      onBatchEnd({ epoch, loss }) {
        r.trainLoss.push(loss);
        r.steps++;
        hooks.onStep?.({ step: r.steps, totalSteps, epoch, loss });
      },
      async onEpochEnd({ epoch, trainLoss: trainEpoch, validLoss, validBatchLosses }) {
        const testLoss = validLoss as number;
        r.trainEpochLoss.push(trainEpoch);
        r.validBatchLoss.push(validBatchLosses as number[]);
        r.validLoss.push(testLoss);
        r.epochs = epoch + 1;
        hooks.onLog?.(
          `=== Epoch [${epoch + 1}/${c.maxEpochs}] Train Loss = ${trainEpoch.toPrecision(6)} Test Loss = ${testLoss.toPrecision(6)}`,
        );
        if (testLoss < r.bestValidLoss) {
          r.bestValidLoss = testLoss;
          r.bestEpoch = epoch;
          await hooks.checkpoints?.saveBest?.(model, optimizer, { epoch, validLoss: testLoss });
        }
        if (testLoss < c.threshold) {
          r.solvedAtEpoch = epoch;
          r.solvedAtStep = r.steps;
          hooks.onLog?.(`test loss below ${c.threshold} after epoch ${epoch + 1}: early stop`);
        }
        r.finished = r.solvedAtEpoch !== null || r.epochs >= c.maxEpochs;
        await hooks.checkpoints?.save(model, optimizer, r as unknown as Record<string, unknown>);
        hooks.onEpoch?.({
          epoch,
          totalEpochs: c.maxEpochs,
          step: r.steps,
          trainLoss: trainEpoch,
          validLoss: testLoss,
        });
        return r.finished ? 'stop' : undefined;
      },
    },
  };
  return { result: r, fit: { train, options } };
}
