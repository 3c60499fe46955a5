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

type Entry = { name: string; value: DeviceBuffer; grad: DeviceBuffer; m: DeviceBuffer; v: DeviceBuffer };

/** One source's parameters, its own step count, and its element range in the arena (whole mode). */
interface Source {
  params: Entry[];
  t: number;
  start: number;
  end: number;
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
  private readonly params: Entry[];
  private readonly sources: Source[];
  /** Source indices in arena order, when their ranges are disjoint (whole mode): what may coalesce. */
  private readonly arenaOrder: number[] | null = null;
  /** Views of the whole buffers over a run of sources, kept between steps; keyed `start:end`. */
  private readonly rangeViews = new Map<string, Omit<Entry, 'name'>>();

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
    const perSource = sources.map((s) => s.parameters());
    const params = perSource.flat();
    // parameters that fill one arena are updated in one pass over its whole buffers; the moments
    // then live in two whole buffers too, and each parameter's are views of them
    const arena = wholeArena(params);
    let entry: (p: (typeof params)[number]) => Entry;
    if (arena?.values && arena.grads && backend.view) {
      const n = arena.values.length;
      const whole = {
        value: arena.values,
        grad: arena.grads,
        m: backend.alloc(n, arena.dtype),
        v: backend.alloc(n, arena.dtype),
      };
      this.whole = whole;
      const part = (buf: DeviceBuffer, p: DeviceBuffer) =>
        p.length > 0 ? backend.view!(buf, arenaOffset(p), p.length) : backend.alloc(0, p.dtype);
      entry = (p) => ({ ...p, m: part(whole.m, p.value), v: part(whole.v, p.value) });
    } else {
      entry = (p) => ({
        ...p,
        m: backend.alloc(p.value.length, p.value.dtype),
        v: backend.alloc(p.value.length, p.value.dtype),
      });
    }
    this.sources = perSource.map((list) => {
      const ps = list.map(entry);
      const used = ps.filter((p) => p.value.length > 0);
      const start = Math.min(...used.map((p) => arenaOffset(p.value)));
      const end = Math.max(...used.map((p) => arenaOffset(p.value) + p.value.length));
      return { params: ps, t: 0, start: used.length ? start : 0, end: used.length ? end : 0 };
    });
    this.params = this.sources.flatMap((s) => s.params);
    if (this.whole) {
      const order = this.sources
        .map((_, i) => i)
        .sort((a, b) => this.sources[a].start - this.sources[b].start);
      const disjoint = order.every(
        (s, k) => k === 0 || this.sources[order[k - 1]].end <= this.sources[s].start,
      );
      this.arenaOrder = disjoint ? order : null;
      const filled = order.map((i) => this.sources[i]).filter((src) => src.end > src.start);
      this.wholeSpan = { first: filled[0], last: filled[filled.length - 1] };
    }
  }

  /** The four whole buffers of an arena the parameters fill, or null (one update per parameter). */
  private readonly whole: Omit<Entry, 'name'> | null = null;
  /** The first and last source in the arena that hold values: a run of both is the whole buffers. */
  private readonly wholeSpan: { first: Source; last: Source } | null = null;

  /** Steps taken (the most of any source's, where `stepSources` stepped some and not others). */
  get stepCount(): number {
    return Math.max(0, ...this.sources.map((s) => s.t));
  }

  /** Steps taken by source `i` (the i-th of the constructor's sources). */
  sourceStepCount(i: number): number {
    return this.source(i, 'sourceStepCount').t;
  }

  /** The learning rate of the next step. */
  get lr(): number {
    return this.rate;
  }

  /** Sets the learning rate of the steps that follow (a schedule); the moments are kept. */
  setLearningRate(lr: number): void {
    this.rate = checkLearningRate('Adam', lr);
  }

  /** Updates every parameter of every source. */
  step(): Promise<void> {
    this.everySource ??= this.sources.map((_, i) => i);
    return this.stepSources(this.everySource);
  }
  /** The indices of all sources, for `step` (made once). */
  private everySource: number[] | null = null;

  /**
   * Updates the parameters of the sources at these indices only (members of an ensemble that still
   * train), each with its own step count. Sources that sit side by side in one arena and have
   * taken equally many steps are updated in one pass over their joint range.
   */
  async stepSources(indices: readonly number[]): Promise<void> {
    const chosen = new Set<number>();
    for (const i of indices) {
      this.source(i, 'stepSources');
      if (chosen.has(i)) throw new InputError(`stepSources lists source ${i} twice`);
      chosen.add(i);
    }
    for (const i of chosen) this.sources[i].t++;
    const hyper = {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
    };
    for (const { group, step } of this.groups(chosen)) await this.update(group, { ...hyper, step });
  }

  /** What one update pass covers: whole-arena ranges of adjacent equal-step sources, else parameters. */
  private groups(chosen: Set<number>): { group: Omit<Entry, 'name'>; step: number }[] {
    const w = this.whole;
    if (!w || !this.arenaOrder) {
      return [...chosen].flatMap((i) =>
        this.sources[i].params.map((group) => ({ group, step: this.sources[i].t })),
      );
    }
    const runs: { first: Source; last: Source }[] = [];
    let open: { first: Source; last: Source } | null = null;
    for (const i of this.arenaOrder) {
      const s = this.sources[i];
      if (!chosen.has(i)) {
        open = null;
        continue;
      }
      if (s.end === s.start) continue;
      if (open && open.last.t === s.t) open.last = s;
      else {
        open = { first: s, last: s };
        runs.push(open);
      }
    }
    const span = this.wholeSpan;
    return runs.map(({ first, last }) => ({
      // a run over every source is the whole buffers themselves (the padding after the last included)
      group: first === span?.first && last === span.last ? w : this.rangeView(w, first.start, last.end),
      step: first.t,
    }));
  }

  private rangeView(w: Omit<Entry, 'name'>, start: number, end: number): Omit<Entry, 'name'> {
    const key = `${start}:${end}`;
    let hit = this.rangeViews.get(key);
    if (!hit) {
      const view = (b: DeviceBuffer) => this.backend.view!(b, start, end - start);
      hit = { value: view(w.value), grad: view(w.grad), m: view(w.m), v: view(w.v) };
      this.rangeViews.set(key, hit);
    }
    return hit;
  }

  private async update(
    p: Omit<Entry, 'name'>,
    hyper: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number },
  ): Promise<void> {
    const be = this.backend;
    if (p.value.length === 0) return;
    if (be.adam) {
      be.adam({ param: p.value, grad: p.grad, m: p.m, v: p.v, ...hyper });
      return;
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

  private source(i: number, where: string): Source {
    if (!Number.isInteger(i) || i < 0 || i >= this.sources.length) {
      throw new InputError(
        `${where}: source ${String(i)} does not exist (this Adam has ${this.sources.length})`,
      );
    }
    return this.sources[i];
  }

  /**
   * The moments and step count of every parameter. With several sources whose parameter names
   * repeat (the members of an ensemble), each source's state is saved on its own (sourceState).
   */
  async state(): Promise<OptimizerState> {
    const names = this.params.map((p) => p.name);
    if (new Set(names).size !== names.length) {
      throw new InputError(
        "this Adam's sources repeat parameter names (an ensemble's members): save each one's state with sourceState(i)",
      );
    }
    const steps = new Set(this.sources.map((s) => s.t));
    if (steps.size > 1) {
      throw new InputError(
        `this Adam's sources have taken different numbers of steps (${[...steps].join(', ')}): save each one's state with sourceState(i)`,
      );
    }
    return this.stateOf(this.params, this.stepCount);
  }

  /** The state of source `i` alone: its parameters' moments and its step count. */
  sourceState(i: number): Promise<OptimizerState> {
    const s = this.source(i, 'sourceState');
    return this.stateOf(s.params, s.t);
  }

  private async stateOf(params: Entry[], step: number): Promise<OptimizerState> {
    const slots: Record<string, HostArray> = {};
    for (const p of params) {
      slots[`${p.name}.m`] = await this.backend.read(p.m);
      slots[`${p.name}.v`] = await this.backend.read(p.v);
    }
    return {
      kind: 'adam',
      step,
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
    this.loadInto(this.params, s);
    for (const src of this.sources) src.t = s.step;
  }

  /** Loads source `i`'s moments and step count (what sourceState saved). */
  loadSourceState(i: number, s: OptimizerState): void {
    const src = this.source(i, 'loadSourceState');
    this.loadInto(src.params, s);
    src.t = s.step;
  }

  private loadInto(params: Entry[], s: OptimizerState): void {
    if (s.kind !== 'adam') throw new InputError(`optimizer state is '${s.kind}', expected 'adam'`);
    // every slot is checked before any is written, so a bad state leaves the moments as they were
    const data = params.map((p) =>
      (['m', 'v'] as const).map((which) => {
        const d = s.slots[`${p.name}.${which}`];
        if (!d) throw new InputError(`optimizer state lacks '${p.name}.${which}'`);
        if (d.length !== p[which].length) {
          throw new InputError(
            `optimizer state '${p.name}.${which}' has ${d.length} values, expected ${p[which].length}`,
          );
        }
        return d;
      }),
    );
    if (!Number.isInteger(s.step) || s.step < 0) {
      throw new InputError(`optimizer state's step must be a non-negative integer, got ${String(s.step)}`);
    }
    params.forEach((p, k) => {
      this.backend.write(p.m, data[k][0]);
      this.backend.write(p.v, data[k][1]);
    });
  }

  dispose(): void {
    for (const p of this.params) {
      this.backend.dispose(p.m);
      this.backend.dispose(p.v);
    }
    for (const r of this.rangeViews.values()) for (const b of Object.values(r)) this.backend.dispose(b);
    this.rangeViews.clear();
    if (this.whole) {
      this.backend.dispose(this.whole.m);
      this.backend.dispose(this.whole.v);
    }
  }
}
