import { InputError } from '../backend/errors.js';
import type { Backend, CellName, DeviceBuffer, DType, HostArray, KernelLevel } from '../backend/types.js';
import { Rng } from '../init/rng.js';
import { bceWithLogitsLoss } from '../loss/bce.js';
import { mseLoss } from '../loss/mse.js';
import type { HostTensor } from '../params/named.js';
import { checkTensor, type TensorLike } from '../params/validate.js';
import { MultiLayerRNN } from '../runner/multilayer-rnn.js';
import { Linear } from './linear.js';

export type Readout = 'last' | 'sequence';
export type LossKind = 'mse' | 'bce';

export interface SequenceModelOptions {
  cell: CellName;
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  outputSize?: number;
  /**
   * 'last': the seed's copy-first-input model, Linear on the last layer's final state → [B, out].
   * 'sequence': the binary-addition model, Linear on every step's output → [B, T, out].
   */
  readout: Readout;
  /** 'mse' on the raw outputs, or 'bce' on sigmoid(outputs) (computed stably from the logits). */
  loss: LossKind;
  dtype?: DType;
  seed?: number;
  maxLevel?: KernelLevel;
}

/**
 * An RNN with a Linear readout and a loss: the two models of the seed's validation studies.
 * Parameters are named as the seed's ModuleDict: `rnn.cells.k.*`, `fc.weight`, `fc.bias`.
 * The forward and backward stay on the backend; only the predictions come to the host.
 */
export class SequenceModel {
  readonly rnn: MultiLayerRNN;
  readonly fc: Linear;
  readonly options: Required<Omit<SequenceModelOptions, 'maxLevel'>> & { maxLevel?: KernelLevel };
  private gradHost: HostArray | null = null;

  constructor(
    readonly backend: Backend,
    opts: SequenceModelOptions,
  ) {
    this.options = {
      numLayers: 1,
      bidirectional: false,
      outputSize: 1,
      dtype: 'float32',
      seed: 0,
      ...opts,
    };
    const o = this.options;
    if (o.readout !== 'last' && o.readout !== 'sequence')
      throw new InputError(`unknown readout '${o.readout}'`);
    if (o.loss !== 'mse' && o.loss !== 'bce') throw new InputError(`unknown loss '${o.loss}'`);
    this.rnn = new MultiLayerRNN(backend, {
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
    });
    const rng = new Rng(o.seed).fork();
    this.fc = new Linear(backend, this.rnn.nd * o.hiddenSize, o.outputSize, o.dtype, rng);
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

  setParameters(named: Record<string, TensorLike>): void {
    const rnn: Record<string, TensorLike> = {};
    const fc: Record<string, TensorLike> = {};
    for (const [k, v] of Object.entries(named)) {
      if (k.startsWith('rnn.')) rnn[k.slice(4)] = v;
      else if (k.startsWith('fc.')) fc[k.slice(3)] = v;
      else throw new InputError(`unknown parameter '${k}' (expected rnn.* or fc.*)`);
    }
    this.rnn.setParameters(rnn);
    this.fc.setParameters(fc);
  }

  /** Outputs before any sigmoid: [B, out] ('last') or [B, T, out] ('sequence'). */
  async predict(x: TensorLike): Promise<HostTensor> {
    const { T, B } = await this.rnn.forwardDevice(x);
    return this.readPredictions(T, B);
  }

  private async readPredictions(T: number, B: number): Promise<HostTensor> {
    const O = this.options.outputSize;
    if (this.options.readout === 'last') {
      const y = this.fc.forward(this.rnn.finalStates(), B);
      return { shape: [B, O], data: await this.backend.read(y, 0, B * O) };
    }
    const y = this.fc.forward(this.rnn.layerOutputs(this.rnn.numLayers - 1, B), T * B);
    const tm = await this.backend.read(y, 0, T * B * O);
    const data = tm.slice() as HostArray;
    for (let s = 0; s < T; s++) {
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < O; o++) data[(b * T + s) * O + o] = tm[(s * B + b) * O + o];
      }
    }
    return { shape: [B, T, O], data };
  }

  /** The loss of a batch (no gradients). */
  async evaluate(x: TensorLike, y: TensorLike): Promise<{ loss: number; predictions: HostTensor }> {
    const predictions = await this.predict(x);
    checkTensor('target', y, predictions.shape);
    const loss =
      this.options.loss === 'mse'
        ? mseLoss(predictions.data, y.data)
        : bceWithLogitsLoss(predictions.data, y.data);
    return { loss, predictions };
  }

  /** Forward, loss and backward: fills every gradient and returns the loss (before any update). */
  async lossAndGradients(x: TensorLike, y: TensorLike): Promise<{ loss: number; predictions: HostTensor }> {
    const { T, B } = await this.rnn.forwardDevice(x);
    const predictions = await this.readPredictions(T, B);
    checkTensor('target', y, predictions.shape);
    const n = predictions.data.length;
    if (!this.gradHost || this.gradHost.length !== n) {
      this.gradHost = this.options.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    }
    const g = this.gradHost;
    const loss =
      this.options.loss === 'mse'
        ? mseLoss(predictions.data, y.data, g)
        : bceWithLogitsLoss(predictions.data, y.data, g);
    const O = this.options.outputSize;
    const dyBuf = this.dyBuffer(n);
    if (this.options.readout === 'last') {
      this.backend.write(dyBuf, g);
      const dFinal = this.fc.backward(dyBuf);
      await this.rnn.backwardDevice({ dFinal, inputGrad: false });
    } else {
      // back to time-major [T·B, O]
      const tm = this.tmScratch(n);
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          for (let o = 0; o < O; o++) tm[(s * B + b) * O + o] = g[(b * T + s) * O + o];
        }
      }
      this.backend.write(dyBuf, tm);
      const dOut = this.fc.backward(dyBuf);
      await this.rnn.backwardDevice({ dOut, inputGrad: false });
    }
    return { loss, predictions };
  }

  private dyBuf: { buf: DeviceBuffer; n: number } | null = null;
  private dyBuffer(n: number) {
    if (!this.dyBuf || this.dyBuf.n !== n) {
      if (this.dyBuf) this.backend.dispose(this.dyBuf.buf);
      this.dyBuf = { buf: this.backend.alloc(n, this.options.dtype), n };
    }
    return this.dyBuf.buf;
  }
  private tm: HostArray | null = null;
  private tmScratch(n: number): HostArray {
    if (!this.tm || this.tm.length !== n)
      this.tm = this.options.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    return this.tm;
  }

  dispose(): void {
    this.rnn.dispose();
    this.fc.dispose();
    if (this.dyBuf) this.backend.dispose(this.dyBuf.buf);
  }
}
