import { kernelLevels } from '../backend/cell-kernels.js';
import type { Backend, CellName, DType, KernelLevel } from '../backend/types.js';
import { SequenceModel } from '../models/sequence-model.js';
import { Adam } from '../optim/adam.js';
import type { HostTensor } from '../params/named.js';
import { MultiLayerRNN } from '../runner/multilayer-rnn.js';
import type {
  GoldenCellCase,
  GoldenFile,
  GoldenMultiLayerCase,
  GoldenTensor,
  GoldenTrainingStepCase,
} from './golden-schema.js';
import { toleranceFor, worstError } from './tolerance.js';

/** What a conformance case runs: one cell step, a multi-layer RNN, or a training step. */
export type CaseKind = 'cell' | 'multilayer' | 'training_step';

/** One check of a backend against a reference vector at one kernel level. */
export interface ConformanceCase {
  id: string;
  kind: CaseKind;
  cell: CellName;
  level: KernelLevel;
  run(backend: Backend, dtype: DType): Promise<CaseResult>;
}

/** How one conformance case went: its worst errors against the tolerance, and whether it passed. */
export interface CaseResult {
  id: string;
  kind: CaseKind;
  cell: CellName;
  level: KernelLevel;
  dtype: DType;
  /** Worst error over forward values (outputs, states, losses). */
  forwardError: number;
  /** Worst error over gradients (and, for training steps, updated parameters). */
  gradientError: number;
  forwardTolerance: number;
  gradientTolerance: number;
  passed: boolean;
  /** The quantity with the worst error, to point at what is wrong. */
  worst: string;
}

class Errors {
  fwd = 0;
  grad = 0;
  worstName = '';
  private worstVal = -1;
  add(
    kind: 'fwd' | 'grad',
    name: string,
    actual: ArrayLike<number>,
    expected: ArrayLike<number>,
    tol: number,
  ) {
    const e = worstError(actual, expected);
    if (kind === 'fwd') this.fwd = Math.max(this.fwd, e);
    else this.grad = Math.max(this.grad, e);
    if (e / tol > this.worstVal) {
      this.worstVal = e / tol;
      this.worstName = name;
    }
  }
}

const cast = (t: GoldenTensor) => ({ shape: t.shape, data: t.data });
const at = (t: HostTensor | undefined | null) => t?.data ?? new Float64Array(0);

function finish(
  c: { id: string; kind: CaseKind; cell: CellName; level: KernelLevel },
  dtype: DType,
  e: Errors,
): CaseResult {
  const tol = toleranceFor(dtype);
  return {
    ...c,
    dtype,
    forwardError: e.fwd,
    gradientError: e.grad,
    forwardTolerance: tol.forward,
    gradientTolerance: tol.gradient,
    passed: e.fwd <= tol.forward && e.grad <= tol.gradient,
    worst: e.worstName,
  };
}

/** Last time step of a [B, T, H] tensor. */
function lastStep(t: GoldenTensor): number[] {
  const [B, T, H] = t.shape;
  const out: number[] = [];
  for (let b = 0; b < B; b++) out.push(...t.data.slice((b * T + T - 1) * H, (b * T + T) * H));
  return out;
}

async function runCell(
  g: GoldenCellCase,
  be: Backend,
  dtype: DType,
  level: KernelLevel,
): Promise<CaseResult> {
  const tol = toleranceFor(dtype);
  const e = new Errors();
  const rnn = new MultiLayerRNN(be, {
    cell: g.cell,
    inputSize: g.input_size,
    hiddenSize: g.hidden_size,
    dtype,
    maxLevel: level,
  });
  try {
    const named: Record<string, ReturnType<typeof cast>> = {};
    for (const [k, v] of Object.entries(g.params)) named[`cells.0.${k}`] = cast(v);
    rnn.setParameters(named);
    const H = g.hidden_size;
    const B = g.batch;
    const out = await rnn.forward(cast(g.x), {
      h: { shape: [1, B, H], data: g.h0.data },
      c: g.c0 ? { shape: [1, B, H], data: g.c0.data } : undefined,
    });
    e.add('fwd', 'h_seq', out.output.data, g.h_seq.data, tol.forward);
    if (g.c_seq) e.add('fwd', 'c_seq[last]', at(out.cN), lastStep(g.c_seq), tol.forward);
    let loss = 0;
    for (let i = 0; i < g.coef.data.length; i++) loss += out.output.data[i] * g.coef.data[i];
    e.add('fwd', 'loss', [loss], [g.loss], tol.forward);
    const gr = await rnn.backward({ output: cast(g.coef) });
    e.add('grad', 'grad x', at(gr.x), g.grads.x.data, tol.gradient);
    e.add('grad', 'grad h0', gr.h0.data, g.grads.h0.data, tol.gradient);
    if (g.grads.c0) e.add('grad', 'grad c0', at(gr.c0), g.grads.c0.data, tol.gradient);
    const grads = await rnn.getGradients();
    for (const [k, v] of Object.entries(g.grads.params))
      e.add('grad', `grad ${k}`, at(grads[`cells.0.${k}`]), v.data, tol.gradient);
  } finally {
    rnn.dispose();
  }
  return finish({ id: g.id, kind: 'cell', cell: g.cell, level }, dtype, e);
}

async function runMultiLayer(
  g: GoldenMultiLayerCase,
  be: Backend,
  dtype: DType,
  level: KernelLevel,
): Promise<CaseResult> {
  const tol = toleranceFor(dtype);
  const e = new Errors();
  const make = (returnSequences: boolean) =>
    new MultiLayerRNN(be, {
      cell: g.mode,
      inputSize: g.input_size,
      hiddenSize: g.hidden_size,
      numLayers: g.layers,
      bidirectional: g.bidirectional,
      batchFirst: g.batch_first,
      returnSequences,
      dtype,
      maxLevel: level,
    });
  const params: Record<string, ReturnType<typeof cast>> = {};
  for (const [k, v] of Object.entries(g.params)) params[k] = cast(v);
  const state = { h: cast(g.h0), c: g.c0 ? cast(g.c0) : undefined };
  const rnn = make(true);
  const last = make(false);
  try {
    rnn.setParameters(params);
    const out = await rnn.forward(cast(g.x), state);
    e.add('fwd', 'output', out.output.data, g.output.data, tol.forward);
    e.add('fwd', 'h_n', out.hN.data, g.h_n.data, tol.forward);
    if (g.c_n) e.add('fwd', 'c_n', at(out.cN), g.c_n.data, tol.forward);
    const gr = await rnn.backward({ output: cast(g.coef) });
    e.add('grad', 'grad x', at(gr.x), g.grads.x.data, tol.gradient);
    e.add('grad', 'grad h0', gr.h0.data, g.grads.h0.data, tol.gradient);
    if (g.grads.c0) e.add('grad', 'grad c0', at(gr.c0), g.grads.c0.data, tol.gradient);
    const grads = await rnn.getGradients();
    for (const [k, v] of Object.entries(g.grads.params))
      e.add('grad', `grad ${k}`, at(grads[k]), v.data, tol.gradient);

    last.setParameters(params);
    const lo = await last.forward(cast(g.x), state);
    const wantH = g.last_only ?? g.last_only_h;
    if (wantH) e.add('fwd', 'last_only', lo.output.data, wantH.data, tol.forward);
    if (g.last_only_c) {
      const nd = g.bidirectional ? 2 : 1;
      const cN = at(lo.cN);
      e.add(
        'fwd',
        'last_only_c',
        cN.slice(cN.length - nd * g.batch * g.hidden_size),
        g.last_only_c.data,
        tol.forward,
      );
    }
  } finally {
    rnn.dispose();
    last.dispose();
  }
  return finish({ id: g.id, kind: 'multilayer', cell: g.mode, level }, dtype, e);
}

async function runTrainingStep(
  g: GoldenTrainingStepCase,
  be: Backend,
  dtype: DType,
  level: KernelLevel,
): Promise<CaseResult> {
  const tol = toleranceFor(dtype);
  const e = new Errors();
  const model = new SequenceModel(be, {
    cell: g.mode,
    inputSize: g.x.shape[2],
    hiddenSize: g.hidden_size,
    numLayers: g.layers,
    outputSize: g.y.shape[1],
    readout: 'last',
    loss: 'mse',
    dtype,
    maxLevel: level,
  });
  try {
    const init: Record<string, ReturnType<typeof cast>> = {};
    for (const [k, v] of Object.entries(g.params_initial)) init[k] = cast(v);
    model.setParameters(init);
    const opt = new Adam(be, [model], {
      lr: g.adam.lr,
      betas: g.adam.betas,
      eps: g.adam.eps,
      weightDecay: g.adam.weight_decay,
    });
    for (let s = 0; s < g.losses.length; s++) {
      const { loss } = await model.lossAndGradients(cast(g.x), cast(g.y));
      e.add('fwd', `loss[${s}]`, [loss], [g.losses[s]], tol.forward);
      const grads = await model.getGradients();
      for (const [k, v] of Object.entries(g.grads[s]))
        e.add('grad', `grad[${s}] ${k}`, at(grads[k]), v.data, tol.gradient);
      await opt.step();
      const after = await model.getParameters();
      for (const [k, v] of Object.entries(g.params_after_step[s])) {
        e.add('grad', `params_after_step[${s}] ${k}`, at(after[k]), v.data, tol.gradient);
      }
    }
  } finally {
    model.dispose();
  }
  return finish({ id: g.id, kind: 'training_step', cell: g.mode, level }, dtype, e);
}

/**
 * Every case of an oracle file at every kernel level the backend offers for its cell (or at
 * the given levels only). Each case builds its own model, so cases are independent.
 */
export function conformanceCases(
  golden: GoldenFile,
  backend: Backend,
  levels?: KernelLevel[],
): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const levelsFor = (cell: CellName) =>
    kernelLevels(backend, cell).filter((l) => !levels || levels.includes(l));
  for (const g of golden.cells) {
    for (const level of levelsFor(g.cell)) {
      out.push({ id: g.id, kind: 'cell', cell: g.cell, level, run: (be, dt) => runCell(g, be, dt, level) });
    }
  }
  for (const g of golden.multilayer) {
    for (const level of levelsFor(g.mode)) {
      out.push({
        id: g.id,
        kind: 'multilayer',
        cell: g.mode,
        level,
        run: (be, dt) => runMultiLayer(g, be, dt, level),
      });
    }
  }
  for (const g of golden.training_step) {
    for (const level of levelsFor(g.mode)) {
      out.push({
        id: g.id,
        kind: 'training_step',
        cell: g.mode,
        level,
        run: (be, dt) => runTrainingStep(g, be, dt, level),
      });
    }
  }
  return out;
}

/** Runs every case; never throws for a numerical failure, only reports it. */
export async function runConformance(
  golden: GoldenFile,
  backend: Backend,
  dtype: DType,
  levels?: KernelLevel[],
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of conformanceCases(golden, backend, levels)) results.push(await c.run(backend, dtype));
  return results;
}
