import { InputError } from '../backend/errors.js';
import type { Backend, DeviceBuffer, HostArray } from '../backend/types.js';
import { checkLearningRate } from './learning-rate.js';
import type { Optimizer, OptimizerState, ParameterSource } from './optimizer.js';

/** SGD's learning rate and (torch-style) momentum. */
export interface SGDOptions {
  lr: number;
  momentum?: number;
}

/** Plain SGD with optional (torch-style) momentum: buf ← μ·buf + g; p ← p − lr·buf. */
export class SGD implements Optimizer {
  private rate: number;
  readonly momentum: number;
  private t = 0;
  private readonly params: { name: string; value: DeviceBuffer; grad: DeviceBuffer; buf: DeviceBuffer }[];

  constructor(
    readonly backend: Backend,
    sources: ParameterSource[],
    opts: SGDOptions,
  ) {
    this.rate = opts.lr;
    this.momentum = opts.momentum ?? 0;
    if (!(this.lr > 0)) throw new InputError(`SGD learning rate must be positive, got ${this.lr}`);
    this.params = sources.flatMap((s) =>
      s.parameters().map((p) => ({ ...p, buf: backend.alloc(p.value.length, p.value.dtype) })),
    );
  }

  /** The learning rate of the next step. */
  get lr(): number {
    return this.rate;
  }

  /** Sets the learning rate of the steps that follow (a schedule); the momentum buffers are kept. */
  setLearningRate(lr: number): void {
    this.rate = checkLearningRate('SGD', lr);
  }

  async step(): Promise<void> {
    this.t++;
    const be = this.backend;
    for (const p of this.params) {
      const [param, grad] = await Promise.all([be.read(p.value), be.read(p.grad)]);
      let dir: HostArray = grad;
      if (this.momentum !== 0) {
        const buf = await be.read(p.buf);
        for (let i = 0; i < buf.length; i++)
          buf[i] = this.t === 1 ? grad[i] : this.momentum * buf[i] + grad[i];
        be.write(p.buf, buf);
        dir = buf;
      }
      for (let i = 0; i < param.length; i++) param[i] -= this.lr * dir[i];
      be.write(p.value, param);
    }
  }

  async state(): Promise<OptimizerState> {
    const slots: Record<string, HostArray> = {};
    for (const p of this.params) slots[`${p.name}.momentum`] = await this.backend.read(p.buf);
    return { kind: 'sgd', step: this.t, hyper: { lr: this.lr, momentum: this.momentum }, slots };
  }

  loadState(s: OptimizerState): void {
    if (s.kind !== 'sgd') throw new InputError(`optimizer state is '${s.kind}', expected 'sgd'`);
    for (const p of this.params) {
      const data = s.slots[`${p.name}.momentum`];
      if (!data || data.length !== p.buf.length)
        throw new InputError(`optimizer state lacks '${p.name}.momentum'`);
      this.backend.write(p.buf, data);
    }
    this.t = s.step;
  }

  dispose(): void {
    for (const p of this.params) this.backend.dispose(p.buf);
  }
}
