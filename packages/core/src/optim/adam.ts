import { InputError } from '../backend/errors.js';
import type { Backend, DeviceBuffer, HostArray } from '../backend/types.js';
import { arenaOffset, wholeArena } from '../params/arena.js';
import { adamHost } from './adam-math.js';
import { checkLearningRate } from './learning-rate.js';
import type { Optimizer, OptimizerState, ParameterSource } from './optimizer.js';

/** Adam's settings; torch's defaults (lr 1e-3, betas [0.9, 0.999], eps 1e-8, no weight decay). */
export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/**
 * Adam over every parameter of the given sources, torch's defaults and update. Moments stay on
 * the backend when it has a fused `adam`; otherwise the update runs on the host.
 *
 * @example
 * ```ts
 * import { Adam, getBackend, type HostTensor, SequenceModel } from '@bistable/core';
 *
 * declare const x: HostTensor; // [B, T, 1]
 * declare const y: HostTensor; // [B, 1]
 *
 * const backend = await getBackend('auto');
 * const model = new SequenceModel(backend, {
 *   cell: 'GRU', inputSize: 1, hiddenSize: 16, readout: 'last', loss: 'mse', seed: 1,
 * });
 * const adam = new Adam(backend, [model], { lr: 0.01, betas: [0.9, 0.999], weightDecay: 0 });
 *
 * await model.lossAndGradients(x, y); // fills every parameter's gradient
 * await adam.step(); // updates every parameter of `model`
 * adam.setLearningRate(0.005); // a schedule by hand (fit's `schedule` does this for you)
 * console.log(adam.stepCount, adam.lr);
 * ```
 */
export class Adam implements Optimizer {
  private rate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly params: {
    name: string;
    value: DeviceBuffer;
    grad: DeviceBuffer;
    m: DeviceBuffer;
    v: DeviceBuffer;
  }[];

  constructor(
    readonly backend: Backend,
    sources: ParameterSource[],
    opts: AdamOptions = {},
  ) {
    this.rate = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(this.lr > 0)) throw new InputError(`Adam learning rate must be positive, got ${this.lr}`);
    for (const b of [this.beta1, this.beta2]) {
      if (!(b >= 0 && b < 1)) throw new InputError(`Adam betas must be in [0, 1), got ${b}`);
    }
    const params = sources.flatMap((s) => s.parameters());
    // parameters that fill one arena are updated in one pass over its whole buffers; the moments
    // then live in two whole buffers too, and each parameter's are views of them
    const arena = wholeArena(params);
    if (arena?.values && arena.grads && backend.view) {
      const n = arena.values.length;
      const whole = {
        param: arena.values,
        grad: arena.grads,
        m: backend.alloc(n, arena.dtype),
        v: backend.alloc(n, arena.dtype),
      };
      this.whole = whole;
      const part = (buf: DeviceBuffer, p: DeviceBuffer) =>
        p.length > 0 ? backend.view!(buf, arenaOffset(p), p.length) : backend.alloc(0, p.dtype);
      this.params = params.map((p) => ({ ...p, m: part(whole.m, p.value), v: part(whole.v, p.value) }));
    } else {
      this.params = params.map((p) => ({
        ...p,
        m: backend.alloc(p.value.length, p.value.dtype),
        v: backend.alloc(p.value.length, p.value.dtype),
      }));
    }
  }

  /** The four whole buffers of an arena the parameters fill, or null (one update per parameter). */
  private readonly whole: {
    param: DeviceBuffer;
    grad: DeviceBuffer;
    m: DeviceBuffer;
    v: DeviceBuffer;
  } | null = null;

  get stepCount(): number {
    return this.t;
  }

  /** The learning rate of the next step. */
  get lr(): number {
    return this.rate;
  }

  /** Sets the learning rate of the steps that follow (a schedule); the moments are kept. */
  setLearningRate(lr: number): void {
    this.rate = checkLearningRate('Adam', lr);
  }

  async step(): Promise<void> {
    this.t++;
    const hyper = {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      step: this.t,
    };
    const be = this.backend;
    const groups = this.whole ? [{ value: this.whole.param, ...this.whole }] : this.params;
    for (const p of groups) {
      if (be.adam) {
        be.adam({ param: p.value, grad: p.grad, m: p.m, v: p.v, ...hyper });
        continue;
      }
      const [param, grad, m, v] = await Promise.all([
        be.read(p.value),
        be.read(p.grad),
        be.read(p.m),
        be.read(p.v),
      ]);
      adamHost({ param, grad, m, v, ...hyper });
      be.write(p.value, param);
      be.write(p.m, m);
      be.write(p.v, v);
    }
  }

  async state(): Promise<OptimizerState> {
    const slots: Record<string, HostArray> = {};
    for (const p of this.params) {
      slots[`${p.name}.m`] = await this.backend.read(p.m);
      slots[`${p.name}.v`] = await this.backend.read(p.v);
    }
    return {
      kind: 'adam',
      step: this.t,
      hyper: {
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.weightDecay,
      },
      slots,
    };
  }

  loadState(s: OptimizerState): void {
    if (s.kind !== 'adam') throw new InputError(`optimizer state is '${s.kind}', expected 'adam'`);
    for (const p of this.params) {
      for (const which of ['m', 'v'] as const) {
        const data = s.slots[`${p.name}.${which}`];
        if (!data) throw new InputError(`optimizer state lacks '${p.name}.${which}'`);
        if (data.length !== p[which].length) {
          throw new InputError(
            `optimizer state '${p.name}.${which}' has ${data.length} values, expected ${p[which].length}`,
          );
        }
        this.backend.write(p[which], data);
      }
    }
    this.t = s.step;
  }

  dispose(): void {
    for (const p of this.params) {
      this.backend.dispose(p.m);
      this.backend.dispose(p.v);
    }
    if (this.whole) {
      this.backend.dispose(this.whole.m);
      this.backend.dispose(this.whole.v);
    }
  }
}
