import { InputError } from '../backend/errors.js';
import type { Backend, CellName, DType } from '../backend/types.js';
import { cellSpec } from '../cells/index.js';
import { Rng } from '../init/rng.js';
import { SequenceModel } from '../models/sequence-model.js';
import { Adam } from '../optim/adam.js';
import { checkPositiveInt } from '../params/validate.js';
import { MemoryPeak } from './memory.js';
import { summarize, type TimingStats } from './stats.js';
import { inferenceMultiplyAdds, trainingMultiplyAdds } from './work.js';

export interface BenchOptions {
  cell: CellName;
  seqLen: number;
  batch: number;
  hidden: number;
  layers: number;
  /** Input features per step (the copy-first-input task has 1). */
  inputSize?: number;
  dtype?: DType;
  /** Timed training steps (default 5). */
  steps?: number;
  /** Untimed training steps before timing (default 2): JIT tier-up, first-touch memory, caches. */
  warmup?: number;
  /** Timed forward-only passes (default: as many as `steps`; 0 skips inference). */
  inferenceSteps?: number;
  seed?: number;
  /** Called after each timed step, for progress displays. */
  onStep?: (phase: 'warmup' | 'train' | 'inference', index: number, ms: number) => void;
}

export interface BenchResult {
  backend: string;
  cell: CellName;
  seqLen: number;
  batch: number;
  hidden: number;
  layers: number;
  inputSize: number;
  dtype: DType;
  /** One full training step: forward, loss, backward, Adam update (ms). */
  train: TimingStats;
  /** Forward pass and predictions only (ms); null when skipped. */
  inference: TimingStats | null;
  /** Dense multiply-adds per training step and per inference (see trainingMultiplyAdds). */
  trainMultiplyAdds: number;
  inferenceMultiplyAdds: number;
  /**
   * Peak process memory during the run minus its value before the model was built, in bytes
   * (Node's process.memoryUsage); null where the platform does not report it.
   */
  memory: { rssDelta: number | null; arrayBuffersDelta: number | null; peakRss: number | null };
}

const now = (): number => globalThis.performance.now();

/**
 * Times the copy-first-input model (Vecoven et al., benchmark 1) on any backend: a stack of
 * `layers` cells, a Linear readout of the last state, MSE against the first input, Adam. Inputs
 * are N(0, 1) at every step, as in the task, so that state magnitudes (and any denormals they
 * decay into) are those of real training. Every timed step ends with the backend synchronised.
 */
export async function benchTraining(backend: Backend, o: BenchOptions): Promise<BenchResult> {
  cellSpec(o.cell);
  const T = checkPositiveInt('seqLen', o.seqLen);
  const B = checkPositiveInt('batch', o.batch);
  const H = checkPositiveInt('hidden', o.hidden);
  const L = checkPositiveInt('layers', o.layers);
  const I = checkPositiveInt('inputSize', o.inputSize ?? 1);
  const steps = checkPositiveInt('steps', o.steps ?? 5);
  const warmup = o.warmup ?? 2;
  const inferenceSteps = o.inferenceSteps ?? steps;
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new InputError(`warmup must be a non-negative integer, got ${warmup}`);
  if (!Number.isInteger(inferenceSteps) || inferenceSteps < 0) {
    throw new InputError(`inferenceSteps must be a non-negative integer, got ${inferenceSteps}`);
  }
  const dtype = o.dtype ?? 'float32';
  if (!backend.dtypes.includes(dtype)) {
    throw new InputError(
      `backend '${backend.name}' does not support ${dtype}; it supports ${backend.dtypes.join(', ')}`,
    );
  }

  const rng = new Rng(o.seed ?? 1);
  const x = dtype === 'float64' ? new Float64Array(B * T * I) : new Float32Array(B * T * I);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = dtype === 'float64' ? new Float64Array(B * I) : new Float32Array(B * I);
  for (let b = 0; b < B; b++) for (let f = 0; f < I; f++) y[b * I + f] = x[b * T * I + f];
  const xs = { shape: [B, T, I], data: x };
  const ys = { shape: [B, I], data: y };

  const mem = new MemoryPeak();
  const model = new SequenceModel(backend, {
    cell: o.cell,
    inputSize: I,
    hiddenSize: H,
    numLayers: L,
    outputSize: I,
    readout: 'last',
    loss: 'mse',
    dtype,
    seed: o.seed ?? 1,
  });
  try {
    const opt = new Adam(backend, [model]);
    const step = async (): Promise<number> => {
      const t0 = now();
      await model.lossAndGradients(xs, ys);
      await opt.step();
      await backend.sync?.();
      const ms = now() - t0;
      mem.sample();
      return ms;
    };
    for (let i = 0; i < warmup; i++) o.onStep?.('warmup', i, await step());
    const train: number[] = [];
    for (let i = 0; i < steps; i++) {
      train.push(await step());
      o.onStep?.('train', i, train[i]);
    }
    const infer: number[] = [];
    for (let i = 0; i < inferenceSteps; i++) {
      const t0 = now();
      await model.predict(xs);
      await backend.sync?.();
      infer.push(now() - t0);
      mem.sample();
      o.onStep?.('inference', i, infer[i]);
    }
    const work = { cell: o.cell, inputSize: I, hidden: H, layers: L, batch: B, seqLen: T };
    return {
      backend: backend.name,
      cell: o.cell,
      seqLen: T,
      batch: B,
      hidden: H,
      layers: L,
      inputSize: I,
      dtype,
      train: summarize(train),
      inference: infer.length > 0 ? summarize(infer) : null,
      trainMultiplyAdds: trainingMultiplyAdds(work),
      inferenceMultiplyAdds: inferenceMultiplyAdds(work),
      memory: mem.deltas(),
    };
  } finally {
    model.dispose();
  }
}
