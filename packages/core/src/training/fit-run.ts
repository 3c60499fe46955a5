import { InputError } from '../backend/errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { TensorLike } from '../params/validate.js';
import { TrainingAborted } from './abort.js';
import { batchCount, batchesOf, epochOrder, sequentialOrder } from './batches.js';
import { callbackList, type FitCallbacks, fire } from './callbacks.js';
import { type BatchSource, batchSource, type FitData } from './data.js';
import { evaluateSource } from './evaluate.js';
import { emptyHistory, type History } from './history.js';
import type { EvaluableModel } from './model.js';
import { checkFitOptions, type FitOptions } from './options.js';
import { type LrSchedule, lrSchedule } from './schedules.js';

/** The next training batch of a fit: its samples, tensors and the learning rate it takes. */
export interface PlannedBatch {
  idx: Uint32Array;
  x: TensorLike;
  y: TensorLike;
  lr: number;
}

/**
 * One model's fit, taken a step at a time by whoever trains it: `fit` (one model) and
 * `fitEnsemble` (the members of an ensemble, in lockstep). It owns what makes fits equal bit for
 * bit however they are driven: the epochs' orders, step indices, the schedule's rates, validation
 * after every epoch, the history and the callbacks in their order.
 */
export class FitRun {
  readonly history: History;
  readonly signal: AbortSignal | undefined;
  private readonly schedule: LrSchedule | null;
  private readonly o: ReturnType<typeof checkFitOptions>;
  private readonly data: BatchSource;
  private readonly valid: BatchSource | null;
  private readonly callbacks: FitCallbacks[];
  private readonly perEpoch: number;
  private epoch: number;
  private step: number;
  private epochLr = Number.NaN;
  private batches: Iterator<Uint32Array> | null = null;
  private batch = 0;
  private weighted = 0;

  constructor(
    private readonly model: EvaluableModel,
    private readonly optimizer: Optimizer,
    train: FitData,
    options: FitOptions,
  ) {
    this.data = batchSource('train', train);
    this.o = checkFitOptions(options, this.data.size);
    this.valid =
      this.o.validationData === undefined ? null : batchSource('validationData', this.o.validationData);
    this.callbacks = callbackList(this.o.callbacks);
    this.perEpoch = batchCount(this.data.size, this.o.batchSize);
    this.schedule = resolveSchedule(this.o.schedule, optimizer, this.perEpoch * this.o.epochs);
    this.signal = this.o.signal;
    this.epoch = this.o.initialEpoch;
    this.step = this.o.initialEpoch * this.perEpoch;
    this.history = emptyHistory(this.step);
  }

  /** The options with their defaults (clipping is read from here). */
  get options() {
    return this.o;
  }

  /** Fires onTrainBegin. */
  async begin(): Promise<void> {
    await fire(this.callbacks, 'onTrainBegin', {
      epochs: this.o.epochs,
      initialEpoch: this.o.initialEpoch,
      stepsPerEpoch: this.perEpoch,
      samples: this.data.size,
      validationSamples: this.valid?.size ?? 0,
    });
  }

  /** Starts the next epoch (onEpochBegin); false when every epoch is done. */
  async startEpoch(): Promise<boolean> {
    if (this.epoch >= this.o.epochs) return false;
    this.epochLr = this.lrAt(this.epoch);
    await fire(this.callbacks, 'onEpochBegin', { epoch: this.epoch, step: this.step, lr: this.epochLr });
    const order = this.o.shuffle
      ? epochOrder(this.data.size, this.o.seed, this.epoch)
      : sequentialOrder(this.data.size);
    this.batches = batchesOf(order, this.o.batchSize);
    this.batch = 0;
    this.weighted = 0;
    return true;
  }

  /** The epoch's next batch, or null at its end. */
  nextBatch(): PlannedBatch | null {
    const next = this.batches?.next();
    if (!next || next.done) return null;
    const idx = next.value;
    // the first step's rate is the epoch's, asked once: a schedule is called once per step
    const lr = this.batch === 0 ? this.epochLr : this.lrAt(this.epoch);
    // a schedule sets the rate of the step this batch is for
    if (this.schedule) this.optimizer.setLearningRate!(lr);
    const { x, y } = this.data.batch(idx);
    return { idx, x, y, lr };
  }

  /** Records a step taken on `b` (onBatchEnd). */
  async batchDone(
    b: PlannedBatch,
    r: { loss: number; predictions: TensorLike },
    gradNorm?: number,
  ): Promise<void> {
    const { loss, predictions } = r;
    this.history.stepLoss.push(loss);
    this.weighted += loss * b.idx.length;
    const info = {
      epoch: this.epoch,
      batch: this.batch++,
      step: this.step++,
      size: b.idx.length,
      loss,
      lr: b.lr,
      x: b.x,
      y: b.y,
      predictions,
    };
    this.history.steps = this.step;
    await fire(this.callbacks, 'onBatchEnd', gradNorm === undefined ? info : { ...info, gradNorm });
  }

  /** Validation and onEpochEnd after the epoch's last step; false when the fit ends here. */
  async endEpoch(): Promise<boolean> {
    const epoch = this.epoch;
    const trainLoss = this.weighted / this.data.size;
    const ev = this.valid
      ? await evaluateSource(this.model, this.valid, this.o.validationBatchSize, this.signal, (b) =>
          fire(this.callbacks, 'onValidationBatchEnd', { ...b, epoch }).then(() => {}),
        )
      : null;
    const h = this.history;
    h.epochs.push(epoch);
    h.trainLoss.push(trainLoss);
    if (ev) h.validLoss.push(ev.loss);
    h.lr.push(this.epochLr);
    const stop = await fire(this.callbacks, 'onEpochEnd', {
      epoch,
      steps: this.step,
      trainLoss,
      validLoss: ev?.loss,
      validBatchLosses: ev?.batchLosses,
      lr: this.epochLr,
    });
    this.epoch++;
    this.batches = null;
    if (stop && this.epoch < this.o.epochs) {
      h.stoppedEarly = true;
      this.epoch = this.o.epochs;
    }
    return this.epoch < this.o.epochs;
  }

  /** Fires onTrainEnd and returns the history. */
  async end(): Promise<History> {
    await fire(this.callbacks, 'onTrainEnd', this.history);
    return this.history;
  }

  /** Gives an abort the history recorded so far. */
  attachTo(err: unknown): unknown {
    if (err instanceof TrainingAborted) err.history ??= this.history;
    return err;
  }

  private lrAt(epoch: number): number {
    return this.schedule ? scheduled(this.schedule, this.step, epoch) : (this.optimizer.lr ?? Number.NaN);
  }
}

function resolveSchedule(
  spec: FitOptions['schedule'],
  optimizer: Optimizer,
  totalSteps: number,
): LrSchedule | null {
  if (spec === undefined) return null;
  if (typeof optimizer.setLearningRate !== 'function') {
    throw new InputError('a learning rate schedule needs an optimizer with setLearningRate (Adam, SGD)');
  }
  return typeof spec === 'function' ? spec : lrSchedule(spec, totalSteps);
}

function scheduled(schedule: LrSchedule, step: number, epoch: number): number {
  const lr = schedule(step, epoch);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new InputError(
      `the learning rate schedule gave ${String(lr)} for step ${step} (epoch ${epoch}); it must give a finite number >= 0`,
    );
  }
  return lr;
}
