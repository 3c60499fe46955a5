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
import { BinaryAddition } from '../data/binary-addition.js';
import { correctSequences } from '../metrics.js';
import { evaluate } from './evaluate.js';
import { asRunAborted, type RunHooks } from './hooks.js';
import { restoreProgress } from './progress.js';
import { withEnsemble } from './shared-ensemble.js';

/** One binary-addition run: a curriculum over L, then a test over a wider range of L. */
export interface BinaryAdditionConfig {
  cell: CellName;
  layers: number;
  hidden: number;
  /** Curriculum lengths trainMin..trainMax (total operand bits; brc_pytorch: 3..20). */
  trainMin: number;
  trainMax: number;
  epochsPerLength: number;
  trainSamples: number;
  validSamples: number;
  batchSize: number;
  /** Test lengths testMin..testMax (brc_pytorch: 3..60), `testSamples` each. */
  testMin: number;
  testMax: number;
  testSamples: number;
  lr: number;
  dtype: DType;
  dataSeed: number;
  modelSeed: number;
  maxLevel?: KernelLevel;
  /** Most rows per forward/backward pass (SequenceModel's `microBatch`); results equal up to rounding. */
  microBatch?: number;
}

/** One epoch of the curriculum. Train values are over all the epoch's batches, validation over all its samples. */
export interface CurriculumEpoch {
  length: number;
  trainLoss: number;
  trainAccuracy: number;
  validLoss: number;
  validAccuracy: number;
}

/** The loss and accuracy of one test length after training (the study's generalisation curve). */
export interface TestPoint {
  length: number;
  loss: number;
  accuracy: number;
}

/** Every series of a binary-addition run, as brc_pytorch saves them, with where it stopped. */
export interface BinaryAdditionResult {
  task: 'binary-addition';
  config: BinaryAdditionConfig;
  /** Loss of every training step. */
  trainLoss: number[];
  /** One entry per epoch over the whole curriculum (brc_pytorch's train/valid loss and accuracy series). */
  epochs: CurriculumEpoch[];
  steps: number;
  bestEpoch: number;
  bestValidLoss: number;
  /** Test loss and accuracy per length (brc_pytorch's test_loss / test_acc). */
  test: TestPoint[];
  finished: boolean;
}

/** Checks a binary-addition configuration and returns it; the error names the first bad setting. */
export function checkBinaryAdditionConfig(c: BinaryAdditionConfig): BinaryAdditionConfig {
  cellName(c.cell);
  for (const k of ['trainMin', 'trainMax', 'testMin', 'testMax'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 3) {
      throw new InputError(
        `binary addition needs lengths L >= 3 (total operand bits); ${k} is ${String(c[k])}`,
      );
    }
  }
  if (c.trainMax < c.trainMin)
    throw new InputError(`trainMax (${c.trainMax}) is below trainMin (${c.trainMin})`);
  if (c.testMax < c.testMin) throw new InputError(`testMax (${c.testMax}) is below testMin (${c.testMin})`);
  for (const k of [
    'layers',
    'hidden',
    'epochsPerLength',
    'trainSamples',
    'validSamples',
    'batchSize',
    'testSamples',
  ] as const) {
    checkPositiveInt(k, c[k]);
  }
  positiveNumber('lr', c.lr);
  dtypeName(c.dtype);
  seedValue('dataSeed', c.dataSeed);
  seedValue('modelSeed', c.modelSeed);
  if (c.microBatch !== undefined) checkPositiveInt('microBatch', c.microBatch);
  return c;
}

function emptyResult(config: BinaryAdditionConfig): BinaryAdditionResult {
  return {
    task: 'binary-addition',
    config,
    trainLoss: [],
    epochs: [],
    steps: 0,
    bestEpoch: -1,
    bestValidLoss: Number.MAX_VALUE,
    test: [],
    finished: false,
  };
}

/** The datasets of one length, each from its own stream. */
export function binaryAdditionSets(
  dataSeed: number,
  length: number,
  sizes: { train: number; valid: number; test: number },
) {
  return {
    train: new BinaryAddition(deriveSeed(dataSeed, 'train', length), length, sizes.train),
    valid: new BinaryAddition(deriveSeed(dataSeed, 'valid', length), length, sizes.valid),
    test: new BinaryAddition(deriveSeed(dataSeed, 'test', length), length, sizes.test),
    orderSeed: deriveSeed(dataSeed, 'order', length),
  };
}

/**
 * brc_pytorch's binary-addition study for one cell: one Adam across the curriculum L = trainMin..
 * trainMax (`epochsPerLength` epochs each, never reset), validation after every epoch, then the
 * final model tested at every L in testMin..testMax. Checkpoints at every epoch end and after
 * every test length, so a killed run resumes exactly. Each length trains through core's `fit`.
 */
export async function runBinaryAddition(
  backend: Backend,
  config: BinaryAdditionConfig,
  hooks: RunHooks = {},
): Promise<BinaryAdditionResult> {
  const c = checkBinaryAdditionConfig({ ...config, cell: cellName(config.cell) });
  const model = new SequenceModel(backend, { ...binaryModelOptions(c), seed: c.modelSeed });
  const optimizer = new Adam(backend, [model], { lr: c.lr });
  try {
    const run = await BinaryAdditionRun.open(c, model, optimizer, hooks);
    for (let L = run.length(); L !== null; L = run.length()) {
      const f = run.fitLength();
      await asRunAborted(fit(model, optimizer, f.train, f.options));
    }
    return await run.test();
  } finally {
    model.dispose();
  }
}

/**
 * Binary-addition runs whose models share a shape (cell, layers, hidden, dtype) and learning rate,
 * trained together as one Ensemble: every curriculum length trains all runs at it in lockstep, each
 * on its own data with its own checkpoints, and each run's numbers are those of runBinaryAddition
 * alone. Runs resumed at different points catch up one length at a time (a run that is ahead sits
 * out until the others reach it). `hooks[i]` follows run i.
 */
export async function runBinaryAdditionEnsemble(
  backend: Backend,
  configs: readonly BinaryAdditionConfig[],
  hooks: readonly RunHooks[] = [],
): Promise<BinaryAdditionResult[]> {
  const cs = configs.map((c) => checkBinaryAdditionConfig({ ...c, cell: cellName(c.cell) }));
  // repeats train their curriculum in lockstep: each level's batches share their shape
  return withEnsemble(backend, cs, binaryModelOptions, true, async (ensemble) => {
    const runs: BinaryAdditionRun[] = [];
    for (const [i, c] of cs.entries())
      runs.push(
        await BinaryAdditionRun.open(c, ensemble.members[i], ensemble.memberOptimizer(i), hooks[i] ?? {}),
      );
    for (;;) {
      const at = runs.map((r) => r.length());
      const lowest = Math.min(...at.map((L) => L ?? Number.POSITIVE_INFINITY));
      if (lowest === Number.POSITIVE_INFINITY) break;
      await asRunAborted(
        fitEnsemble(
          ensemble,
          runs.map((r, i) => (at[i] === lowest ? r.fitLength() : null)),
        ),
      );
    }
    const out: BinaryAdditionResult[] = [];
    for (const r of runs) out.push(await r.test());
    return out;
  });
}

/** The model of a binary-addition run, without its seed. */
export function binaryModelOptions(c: BinaryAdditionConfig): Omit<SequenceModelOptions, 'seed'> {
  return {
    cell: c.cell,
    inputSize: 2,
    hiddenSize: c.hidden,
    numLayers: c.layers,
    readout: 'sequence',
    loss: 'bce',
    dtype: c.dtype,
    maxLevel: c.maxLevel,
    microBatch: c.microBatch,
  };
}

/**
 * One binary-addition run, restored from its checkpoint (or fresh), taken a curriculum length at a
 * time by whoever trains its model (fit alone, fitEnsemble in an ensemble), then tested.
 */
class BinaryAdditionRun {
  private readonly sizes: { train: number; valid: number; test: number };
  private readonly totalEpochs: number;
  private readonly totalSteps: number;

  private constructor(
    private readonly c: BinaryAdditionConfig,
    private readonly model: SequenceModel,
    private readonly optimizer: Optimizer,
    private readonly hooks: RunHooks,
    readonly result: BinaryAdditionResult,
  ) {
    this.sizes = { train: c.trainSamples, valid: c.validSamples, test: c.testSamples };
    this.totalEpochs = (c.trainMax - c.trainMin + 1) * c.epochsPerLength;
    this.totalSteps = this.totalEpochs * batchCount(c.trainSamples, c.batchSize);
  }

  static async open(
    c: BinaryAdditionConfig,
    model: SequenceModel,
    optimizer: Optimizer,
    hooks: RunHooks,
  ): Promise<BinaryAdditionRun> {
    const saved = hooks.checkpoints ? await hooks.checkpoints.load(model, optimizer) : null;
    const r: BinaryAdditionResult = saved ? restoreProgress(saved, c, 'binary-addition') : emptyResult(c);
    if (saved) hooks.onLog?.(`resumed after epoch ${r.epochs.length} and ${r.test.length} test lengths`);
    return new BinaryAdditionRun(c, model, optimizer, hooks, r);
  }

  /** The curriculum length the run trains next, or null once its training is done. */
  length(): number | null {
    const first = this.result.epochs.length;
    return first < this.totalEpochs ? this.c.trainMin + Math.floor(first / this.c.epochsPerLength) : null;
  }

  /**
   * The fit of the rest of the current length: its epochs are the length's, and its epoch orders
   * are epochOrder(trainSamples, orderSeed of L, epoch within L), as they always were.
   */
  fitLength(): { train: BinaryAddition; options: FitOptions } {
    const { c, hooks, model, optimizer, result: r } = this;
    const L = this.length();
    if (L === null) throw new Error('internal: the run has no length left to train');
    const first = r.epochs.length;
    const lengthStart = first - (first % c.epochsPerLength);
    if (first === lengthStart) hooks.onLog?.(`Training ${c.cell} on sequences of length ${L}`);
    const sets = binaryAdditionSets(c.dataSeed, L, this.sizes);
    let correct = 0;
    let validCorrect = 0;
    const options: FitOptions = {
      epochs: c.epochsPerLength,
      initialEpoch: first - lengthStart,
      // fit refuses a batch larger than the data; one batch of every sample is what it meant
      batchSize: Math.min(c.batchSize, c.trainSamples),
      seed: sets.orderSeed,
      validationData: sets.valid,
      validationBatchSize: c.batchSize,
      signal: hooks.signal,
      callbacks: {
        onEpochBegin() {
          correct = 0;
          validCorrect = 0;
        },
        onBatchEnd: ({ epoch: epochInLength, loss, size, y, predictions }) => {
          correct += correctSequences(predictions.data, y.data, size, c.dtype);
          r.trainLoss.push(loss);
          r.steps++;
          hooks.onStep?.({
            step: r.steps,
            totalSteps: this.totalSteps,
            epoch: lengthStart + epochInLength,
            loss,
          });
        },
        onValidationBatchEnd({ size, y, predictions }) {
          validCorrect += correctSequences(predictions.data, y.data, size, c.dtype);
        },
        onEpochEnd: async ({ epoch: epochInLength, trainLoss, validLoss }) => {
          const epoch = lengthStart + epochInLength;
          const e: CurriculumEpoch = {
            length: L,
            trainLoss,
            trainAccuracy: correct / c.trainSamples,
            validLoss: validLoss as number,
            validAccuracy: validCorrect / c.validSamples,
          };
          r.epochs.push(e);
          hooks.onLog?.(
            `L=${L} epoch [${epochInLength + 1}/${c.epochsPerLength}] train loss ${e.trainLoss.toPrecision(5)} acc ${e.trainAccuracy.toFixed(4)}` +
              ` | valid loss ${e.validLoss.toPrecision(5)} acc ${e.validAccuracy.toFixed(4)}`,
          );
          // brc_pytorch's "best" checkpoint compares validation losses across lengths; kept for fidelity
          if (e.validLoss < r.bestValidLoss) {
            r.bestValidLoss = e.validLoss;
            r.bestEpoch = epoch;
            await hooks.checkpoints?.saveBest?.(model, optimizer, {
              epoch,
              length: L,
              validLoss: e.validLoss,
            });
          }
          await this.save();
          hooks.onEpoch?.({
            epoch,
            totalEpochs: this.totalEpochs,
            step: r.steps,
            trainLoss: e.trainLoss,
            validLoss: e.validLoss,
            trainAccuracy: e.trainAccuracy,
            validAccuracy: e.validAccuracy,
            length: L,
          });
        },
      },
    };
    return { train: sets.train, options };
  }

  /** The trained model at every test length not yet tested, a checkpoint after each. */
  async test(): Promise<BinaryAdditionResult> {
    const { c, hooks, result: r } = this;
    while (c.testMin + r.test.length <= c.testMax) {
      const L = c.testMin + r.test.length;
      const ev = await evaluate(
        this.model,
        binaryAdditionSets(c.dataSeed, L, this.sizes).test,
        c.batchSize,
        hooks.signal,
      );
      r.test.push({ length: L, loss: ev.loss, accuracy: ev.accuracy ?? Number.NaN });
      hooks.onLog?.(
        `test L=${L}: loss ${ev.loss.toPrecision(5)} accuracy ${(ev.accuracy ?? Number.NaN).toFixed(4)}`,
      );
      r.finished = L === c.testMax;
      await this.save();
    }
    r.finished = true;
    return r;
  }

  private save(): Promise<void> | undefined {
    return this.hooks.checkpoints?.save(
      this.model,
      this.optimizer,
      this.result as unknown as Record<string, unknown>,
    );
  }
}
