import { InputError } from '../backend/errors.js';
import type {
  Backend,
  DeviceBuffer,
  DType,
  GemmArgs,
  HostArray,
  KernelLevel,
  LinearLossArgs,
} from '../backend/types.js';
import { cellSpec } from '../cells/index.js';
import type { CellRef } from '../cells/spec.js';
import { Rng } from '../init/rng.js';
import { bceWithLogitsLoss, checkBceTargets } from '../loss/bce.js';
import { mseLoss } from '../loss/mse.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ParamArena } from '../params/arena.js';
import { hostView, returnLike, type TensorInput, type TensorOutput } from '../params/foreign-tensor.js';
import type { HostTensor } from '../params/named.js';
import { checkPositiveInt, checkTensor, DEFAULT_DTYPE, type TensorLike } from '../params/validate.js';
import { gemmQueue } from '../runner/gemm-helpers.js';
import { type MemberSlot, slabScope } from '../runner/member-batch.js';
import { MultiLayerRNN, rnnParamLengths } from '../runner/multilayer-rnn.js';
import { Workspace } from '../runner/workspace.js';
import { Linear } from './linear.js';
import { checkMemoryFits } from './memory.js';
import {
  elements,
  largest,
  type MicroBatchPlan,
  planMicroBatches,
  rowsWithin,
  sliceRows,
  swapLeadingAxes,
} from './micro-batch.js';

/** Where the Linear readout reads: the last step ('last') or every step ('sequence'). */
export type Readout = 'last' | 'sequence';
/** Mean squared error, or binary cross-entropy on logits. */
export type LossKind = 'mse' | 'bce';

/** A SequenceModel's cell, sizes, readout, loss, precision and seed. */
export interface SequenceModelOptions {
  cell: CellRef;
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  outputSize?: number;
  /**
   * 'last': brc_pytorch's copy-first-input model, Linear on the last layer's final state → [B, out].
   * 'sequence': the binary-addition model, Linear on every step's output → [B, T, out].
   */
  readout: Readout;
  /** 'mse' on the raw outputs, or 'bce' on sigmoid(outputs) (computed stably from the logits). */
  loss: LossKind;
  dtype?: DType;
  seed?: number;
  maxLevel?: KernelLevel;
  /**
   * Most batch rows per forward/backward pass. A larger batch is split into micro-batches that
   * run one after another, their weight gradients accumulated: the loss, predictions and
   * gradients are the whole batch's (up to summation order), while device memory and the largest
   * buffer scale with the micro-batch. Unset: as many rows as fit the backend's `maxBufferBytes`
   * (WebGPU binds at most 2 GiB per buffer), the whole batch on backends without a limit. That
   * limit caps a given value too. Applies to lossAndGradients, predict and evaluate.
   */
  microBatch?: number;
}

/** The options a SequenceModel takes when they are not given. */
const MODEL_DEFAULTS = {
  numLayers: 1,
  bidirectional: false,
  outputSize: 1,
  dtype: DEFAULT_DTYPE,
  seed: 0,
} as const;

/**
 * An RNN with a Linear readout and a loss: the two models of brc_pytorch's validation studies.
 * Parameters are named as brc_pytorch's ModuleDict: `rnn.cells.k.*`, `fc.weight`, `fc.bias`.
 * The forward and backward stay on the backend; only the predictions come to the host.
 *
 * @example
 * ```ts
 * import { Adam, getBackend, SequenceModel } from '@bistable/core';
 *
 * const backend = await getBackend('auto');
 * const model = new SequenceModel(backend, {
 *   cell: 'nBRC',
 *   inputSize: 1,
 *   hiddenSize: 32,
 *   numLayers: 2,
 *   readout: 'last', // one output per sequence; 'sequence' gives one per step
 *   loss: 'mse',
 *   seed: 1,
 * });
 * const adam = new Adam(backend, [model], { lr: 1e-3 });
 *
 * // 16 sequences of 10 steps with one feature each, and one target per sequence
 * const x = { shape: [16, 10, 1], data: new Float32Array(16 * 10).map(() => Math.random()) };
 * const y = { shape: [16, 1], data: new Float32Array(16) };
 * const { loss } = await model.trainStep(x, y, adam); // forward, loss, backward, update
 * const predictions = await model.predict(x); // { shape: [16, 1], data: Float32Array }
 * console.log(loss, predictions.shape);
 * model.dispose();
 * ```
 */
export class SequenceModel {
  readonly rnn: MultiLayerRNN;
  /** Device scratch reused across calls, by name (an Ensemble's member: in its slabs). */
  private readonly ws: Workspace;
  /**
   * How the fused readout runs: an Ensemble's member runs it with the other members' as one call
   * where the backend takes several (linearLossMany); undefined: on its own.
   */
  private readonly runReadout: ((a: LinearLossArgs) => Promise<void>) | undefined;
  readonly fc: Linear;
  /** The arena this model planned for itself (null: it took its entries from an Ensemble's). */
  private readonly ownArena: ParamArena | null;
  readonly options: Required<Omit<SequenceModelOptions, 'maxLevel' | 'microBatch'>> & {
    maxLevel?: KernelLevel;
    microBatch?: number;
  };

  /**
   * `arena`: a ParamArena planned with `SequenceModel.parameterLengths` (several models' in a
   * row: an Ensemble's members), whose next entries this model takes; its owner disposes it. By
   * default the model plans and owns an arena of its own. `member`: this model's place in an
   * Ensemble that runs its members' sequence passes together (MemberBatch).
   */
  constructor(
    readonly backend: Backend,
    opts: SequenceModelOptions,
    arena?: ParamArena,
    member?: MemberSlot,
  ) {
    this.options = { ...MODEL_DEFAULTS, ...opts };
    const o = this.options;
    this.ws = new Workspace(backend, o.dtype, slabScope(member, 'model'));
    const many = backend.linearLossMany?.bind(backend);
    this.runReadout =
      member && many ? (a) => member.batch.pass('readout', member.index, a, (all) => many(all)) : undefined;
    if (o.readout !== 'last' && o.readout !== 'sequence')
      throw new InputError(`unknown readout '${o.readout}'`);
    if (o.loss !== 'mse' && o.loss !== 'bce') throw new InputError(`unknown loss '${o.loss}'`);
    if (o.microBatch !== undefined) checkPositiveInt('microBatch', o.microBatch);
    // refuse a model that surely cannot fit before its first buffer is allocated
    checkMemoryFits(backend, o, { parts: 'model' });
    // every parameter in one buffer and every gradient in another, where the backend has views:
    // one optimizer pass for all of them
    const F = (o.bidirectional ? 2 : 1) * o.hiddenSize;
    this.ownArena = arena ? null : new ParamArena(backend, o.dtype, SequenceModel.parameterLengths(o));
    const from = arena ?? this.ownArena!;
    const take = (n: number) => from.take(n);
    this.rnn = new MultiLayerRNN(
      backend,
      {
        cell: o.cell,
        inputSize: o.inputSize,
        hiddenSize: o.hiddenSize,
        numLayers: o.numLayers,
        bidirectional: o.bidirectional,
        batchFirst: true,
        returnSequences: o.readout === 'sequence',
        dtype: o.dtype,
        seed: o.seed,
        maxLevel: o.maxLevel,
      },
      take,
      member,
    );
    const rng = new Rng(o.seed).fork();
    this.fc = new Linear(
      backend,
      F,
      o.outputSize,
      o.dtype,
      rng,
      take,
      (n) => this.rnn.ones(n),
      slabScope(member, 'fc'),
    );
    if (this.ownArena && !this.ownArena.complete)
      throw new Error('internal: the model took fewer parameters than planned');
  }

  /** The lengths of a model's parameter buffers, in the order it takes them from an arena. */
  static parameterLengths(
    o: Pick<
      SequenceModelOptions,
      'cell' | 'inputSize' | 'hiddenSize' | 'numLayers' | 'bidirectional' | 'outputSize'
    >,
  ): number[] {
    const { cell, inputSize, hiddenSize, numLayers, bidirectional, outputSize } = { ...MODEL_DEFAULTS, ...o };
    const F = (bidirectional ? 2 : 1) * hiddenSize;
    const rnn = rnnParamLengths(cellSpec(cell), inputSize, hiddenSize, numLayers, bidirectional);
    return [...rnn, outputSize * F, outputSize];
  }

  parameters() {
    return [
      ...this.rnn.parameters().map((p) => ({ ...p, name: `rnn.${p.name}` })),
      ...this.fc.parameters().map((p) => ({ ...p, name: `fc.${p.name}` })),
    ];
  }

  /** Named parameters in torch layout. */
  async getParameters(): Promise<Record<string, HostTensor>> {
    return this.namedFrom(await this.rnn.getParameters(), await this.fc.getParameters());
  }

  async getGradients(): Promise<Record<string, HostTensor>> {
    return this.namedFrom(await this.rnn.getGradients(), await this.fc.getParameters(true));
  }

  private namedFrom(rnn: Record<string, HostTensor>, fc: Record<string, HostTensor>) {
    const out: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(rnn)) out[`rnn.${k}`] = v;
    for (const [k, v] of Object.entries(fc)) out[`fc.${k}`] = v;
    return out;
  }

  setParameters(named: Record<string, TensorInput>): void {
    const rnn: Record<string, TensorLike> = {};
    const fc: Record<string, TensorLike> = {};
    for (const [k, v] of Object.entries(named)) {
      if (k.startsWith('rnn.')) rnn[k.slice(4)] = hostView(k, v);
      else if (k.startsWith('fc.')) fc[k.slice(3)] = hostView(k, v);
      else throw new InputError(`unknown parameter '${k}' (expected rnn.* or fc.*)`);
    }
    this.rnn.setParameters(rnn);
    this.fc.setParameters(fc);
  }

  /**
   * Outputs before any sigmoid: [B, out] ('last') or [B, T, out] ('sequence'). A tf.Tensor in
   * gives a new tf.Tensor out (see TensorInput), which the caller disposes.
   */
  async predict<X extends TensorInput>(x: X): Promise<TensorOutput<X>> {
    return returnLike(x, await this.predictHost(hostView('input', x)));
  }

  private async predictHost(x: TensorLike): Promise<HostTensor> {
    const split = this.splitFor(x);
    if (split) return this.predictInParts(x, split.T, split.plan, () => {});
    const { T, B } = await this.rnn.forwardDevice(x);
    return this.readPredictions(T, B);
  }

  /**
   * The largest device buffer one pass over `rows` rows of T steps allocates: its name and length
   * in elements (every pass buffer grows linearly with the rows).
   */
  largestBuffer(T: number, rows: number): { name: string; length: number } {
    const o = this.options;
    const N = o.readout === 'last' ? rows : T * rows;
    const lengths: Record<string, number> = { dy: N * o.outputSize };
    for (const [k, n] of Object.entries(this.rnn.bufferLengths(T, rows))) lengths[`rnn.${k}`] = n;
    const parts = Array.from({ length: this.rnn.nd }, () => o.hiddenSize);
    for (const [k, n] of Object.entries(this.fc.bufferLengths(N, parts))) lengths[`fc.${k}`] = n;
    return largest(lengths);
  }

  /**
   * How a batch of B rows of T steps is run: `passes` micro-batches of `rows` rows (1 pass of B
   * rows when it needs no split). Throws an InputError when even one row exceeds the backend's
   * largest buffer.
   */
  microBatchPlan(B: number, T: number): MicroBatchPlan {
    let maxRows = this.options.microBatch ?? B;
    const limit = this.backend.maxBufferBytes;
    if (limit !== undefined) {
      const fit = rowsWithin(this.largestBuffer(T, 1), this.options.dtype, limit, {
        backend: this.backend.name,
        T,
      });
      maxRows = Math.min(maxRows, fit);
    }
    return planMicroBatches(B, maxRows);
  }

  /** The plan when a well-formed input needs several passes; null otherwise (bad input included). */
  private splitFor(x: TensorLike): { T: number; plan: MicroBatchPlan } | null {
    const s = x?.shape;
    if (!Array.isArray(s) || s.length !== 3 || !s.every((d) => Number.isInteger(d) && d > 0)) return null;
    const [B, T] = s;
    const plan = this.microBatchPlan(B, T);
    if (plan.passes === 1) return null;
    checkTensor('input', x, [-1, -1, this.options.inputSize]);
    return { T, plan };
  }

  /**
   * Forward passes over the micro-batches of `plan`, each followed by `after` (its backward);
   * returns the predictions of all rows in their order.
   */
  private async predictInParts(
    x: TensorLike,
    T: number,
    plan: MicroBatchPlan,
    after: (pred: HostArray, r0: number, r1: number, pass: number) => Promise<void> | void,
  ): Promise<HostTensor> {
    const { B, rows, passes } = plan;
    const o = this.options;
    const perRow = o.readout === 'last' ? o.outputSize : T * o.outputSize;
    const out = this.hostArray(B * perRow);
    const padded = () => this.scratch('x', rows * T * o.inputSize);
    for (let i = 0; i < passes; i++) {
      const r0 = i * rows;
      const r1 = Math.min(B, r0 + rows);
      await this.rnn.forwardDevice(sliceRows(x, r0, r1, rows, padded));
      const pred = (await this.readPredictions(T, rows)).data;
      out.set(pred.subarray(0, (r1 - r0) * perRow), r0 * perRow);
      await after(pred, r0, r1, i);
    }
    return { shape: o.readout === 'last' ? [B, o.outputSize] : [B, T, o.outputSize], data: out };
  }

  /** The readout's outputs on the device: [B, out] ('last') or time-major [T·B, out] ('sequence'). */
  private predictionBuffer(T: number, B: number): DeviceBuffer {
    return this.options.readout === 'last'
      ? this.fc.forward(this.rnn.finalStates(), B)
      : this.fc.forward(this.rnn.layerOutputs(this.rnn.numLayers - 1, B), T * B);
  }

  private async readPredictions(T: number, B: number, y = this.predictionBuffer(T, B)): Promise<HostTensor> {
    const O = this.options.outputSize;
    if (this.options.readout === 'last') return { shape: [B, O], data: await this.backend.read(y, 0, B * O) };
    const tm = await this.backend.read(y, 0, T * B * O);
    return { shape: [B, T, O], data: swapLeadingAxes(tm, tm.slice() as HostArray, T, B, O) };
  }

  /** The loss of a batch (no gradients). */
  async evaluate<X extends TensorInput>(
    x: X,
    target: TensorInput,
  ): Promise<{ loss: number; predictions: TensorOutput<X> }> {
    const y = hostView('target', target);
    const predictions = await this.predictHost(hostView('input', x));
    checkTensor('target', y, predictions.shape);
    const loss =
      this.options.loss === 'mse'
        ? mseLoss(predictions.data, y.data)
        : bceWithLogitsLoss(predictions.data, y.data);
    return { loss, predictions: returnLike(x, predictions) };
  }

  /**
   * Forward, loss and backward: fills every gradient and returns the loss (before any update).
   * Split into micro-batches (see `microBatch`), the model's device state afterwards (final
   * states, layer outputs) is the last micro-batch's.
   */
  async lossAndGradients<X extends TensorInput>(
    x: X,
    y: TensorInput,
  ): Promise<{ loss: number; predictions: TensorOutput<X> }> {
    const r = await this.lossAndGradientsHost(hostView('input', x), hostView('target', y));
    return { loss: r.loss, predictions: returnLike(x, r.predictions) };
  }

  private async lossAndGradientsHost(
    x: TensorLike,
    y: TensorLike,
    later?: GemmArgs[],
  ): Promise<{ loss: number; predictions: HostTensor }> {
    const split = this.splitFor(x);
    // micro-batches add into the same gradients pass after pass: their GEMMs run pass by pass
    if (split) return this.lossAndGradientsInParts(x, y, split.T, split.plan);
    const { T, B } = await this.rnn.forwardDevice(x);
    const predictions = await this.readPredictions(T, B);
    checkTensor('target', y, predictions.shape);
    const n = predictions.data.length;
    const g = this.scratch('grad', n);
    const loss =
      this.options.loss === 'mse'
        ? mseLoss(predictions.data, y.data, g)
        : bceWithLogitsLoss(predictions.data, y.data, g);
    await this.backwardFrom(g, T, B, false, later);
    return { loss, predictions };
  }

  private async lossAndGradientsInParts(
    x: TensorLike,
    y: TensorLike,
    T: number,
    plan: MicroBatchPlan,
  ): Promise<{ loss: number; predictions: HostTensor }> {
    const o = this.options;
    const shape = o.readout === 'last' ? [plan.B, o.outputSize] : [plan.B, T, o.outputSize];
    // every check before the first backward, so that a bad target leaves the gradients untouched
    checkTensor('target', y, shape);
    if (o.loss === 'bce') checkBceTargets(y.data);
    const perRow = shape.slice(1).reduce((a, b) => a * b, 1);
    const n = plan.B * perRow;
    const lossOf = o.loss === 'mse' ? mseLoss : bceWithLogitsLoss;
    const predictions = await this.predictInParts(x, T, plan, async (pred, r0, r1, pass) => {
      const real = (r1 - r0) * perRow;
      const g = this.scratch('grad', plan.rows * perRow);
      // the whole batch's mean: each element's gradient is divided by n, as in one pass
      lossOf(pred.subarray(0, real), elements(y.data, r0 * perRow, r1 * perRow), g, n);
      g.fill(0, real);
      await this.backwardFrom(g, T, plan.rows, pass > 0);
    });
    return { loss: lossOf(predictions.data, y.data), predictions };
  }

  /** Backward from the loss gradient `g` on B rows' predictions (batch-first, on the host). */
  private async backwardFrom(
    g: HostArray,
    T: number,
    B: number,
    accumulateGrads: boolean,
    later?: GemmArgs[],
  ): Promise<void> {
    const dyBuf = this.deviceScratch('dy', g.length);
    const O = this.options.outputSize;
    this.backend.write(
      dyBuf,
      this.options.readout === 'last' ? g : swapLeadingAxes(g, this.scratch('tm', g.length), B, T, O),
    );
    await this.backwardOnDevice(dyBuf, accumulateGrads, undefined, later);
  }

  /**
   * Backward from the loss gradient on the predictions, already on the device in their layout.
   * `dInput`: the readout's input gradient, already written (Linear.forwardLoss). Where the
   * backend batches GEMMs (gemmMany) every weight gradient's GEMM is queued and runs at the end,
   * together, or is appended to `later` for the caller; elsewhere each runs as its layer ends.
   */
  private async backwardOnDevice(
    dyBuf: DeviceBuffer,
    accumulateGrads: boolean,
    dInput?: DeviceBuffer[],
    queue?: GemmArgs[],
  ): Promise<void> {
    const { queue: later, flush } = gemmQueue(this.backend, queue);
    let d: DeviceBuffer[];
    if (dInput) {
      this.fc.weightGradients(dyBuf, accumulateGrads, later);
      d = dInput;
    } else d = this.fc.backward(dyBuf, accumulateGrads, later);
    const common = { inputGrad: false, accumulateGrads, stateGrads: false, later };
    if (this.options.readout === 'last') await this.rnn.backwardDevice({ dFinal: d, ...common });
    else await this.rnn.backwardDevice({ dOut: d, ...common });
    flush();
  }

  /**
   * One training step: forward, loss, backward and `optimizer.step()`; returns the loss and the
   * predictions from before the update, as lossAndGradients does. On a backend with a device loss
   * gradient (`lossGradient`), every kernel of the step is recorded before anything waits for the
   * device: the predictions are read back last, instead of in the middle of the step, where a GPU
   * would sit idle while the host records the backward.
   */
  async trainStep<X extends TensorInput>(
    input: X,
    target: TensorInput,
    optimizer: Optimizer,
  ): Promise<{ loss: number; predictions: TensorOutput<X> }> {
    const r = await this.trainStepHost(hostView('input', input), hostView('target', target), optimizer);
    return { loss: r.loss, predictions: returnLike(input, r.predictions) };
  }

  private async trainStepHost(
    x: TensorLike,
    y: TensorLike,
    optimizer: Optimizer,
  ): Promise<{ loss: number; predictions: HostTensor }> {
    // recordStep runs every weight GEMM before it returns (the backward flushes its own queue)
    const finish = await this.recordStep(x, y);
    await optimizer.step();
    return finish();
  }

  /**
   * A training step up to its update: forward, loss and backward, with the weight gradients'
   * GEMMs appended to `later` when given (the caller runs them, then the optimizer). Returns what gives the
   * loss and the predictions afterwards: on a backend with a device loss gradient they are read
   * back only then, so nothing waits for the device before the update is recorded. An Ensemble
   * records its members' steps into one `later`. A batch split into micro-batches runs its GEMMs
   * itself, pass by pass, and leaves `later` as it was.
   */
  async recordStep(
    x: TensorLike,
    y: TensorLike,
    later?: GemmArgs[],
  ): Promise<() => Promise<{ loss: number; predictions: HostTensor }>> {
    if (!this.backend.lossGradient || this.splitFor(x)) {
      const r = await this.lossAndGradientsHost(x, y, later);
      return async () => r;
    }
    const o = this.options;
    const { T, B } = await this.rnn.forwardDevice(x);
    const shape = o.readout === 'last' ? [B, o.outputSize] : [B, T, o.outputSize];
    checkTensor('target', y, shape);
    if (o.loss === 'bce') checkBceTargets(y.data);
    const n = shape.reduce((a, b) => a * b, 1);
    const target = this.deviceScratch('target', n);
    const grad = this.deviceScratch('dy', n);
    this.backend.write(
      target,
      o.readout === 'last' ? y.data : swapLeadingAxes(y.data, this.scratch('tm', n), B, T, o.outputSize),
    );
    // the readout, its loss gradient and its input gradient in one pass where the backend fuses them
    const fused =
      o.readout === 'last'
        ? await this.fc.forwardLoss(
            this.rnn.finalStates(),
            B,
            { kind: o.loss, target, dy: grad, count: n },
            this.runReadout,
          )
        : null;
    const pred = fused?.y ?? this.predictionBuffer(T, B);
    if (!fused) this.backend.lossGradient({ kind: o.loss, pred, target, grad, n, count: n });
    await this.backwardOnDevice(grad, false, fused ? [fused.dx] : undefined, later);
    return async () => {
      const predictions = await this.readPredictions(T, B, pred);
      const loss =
        o.loss === 'mse' ? mseLoss(predictions.data, y.data) : bceWithLogitsLoss(predictions.data, y.data);
      return { loss, predictions };
    };
  }

  private deviceScratch(name: string, n: number): DeviceBuffer {
    return this.ws.get(name, n);
  }
  private hostArray(n: number): HostArray {
    return this.options.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }
  /** Host arrays reused across calls, by name. */
  private readonly host = new Map<string, HostArray>();
  private scratch(name: string, n: number): HostArray {
    let a = this.host.get(name);
    if (!a || a.length !== n) {
      a = this.hostArray(n);
      this.host.set(name, a);
    }
    return a;
  }

  dispose(): void {
    this.rnn.dispose();
    this.fc.dispose();
    this.ownArena?.dispose();
    this.ws.dispose();
  }
}
