import { InputError } from '../backend/errors.js';
import type { Backend, DeviceCounters, DType, HostArray } from '../backend/types.js';
import { cellSpec } from '../cells/index.js';
import type { CellRef } from '../cells/spec.js';
import { Rng } from '../init/rng.js';
import { Ensemble } from '../models/ensemble.js';
import { SequenceModel } from '../models/sequence-model.js';
import { Adam } from '../optim/adam.js';
import { checkPositiveInt } from '../params/validate.js';
import { MemoryPeak } from './memory.js';
import { summarize, type TimingStats } from './stats.js';
import { inferenceMultiplyAdds, trainingMultiplyAdds } from './work.js';

/** What a benchmark trains: the cell, sizes, precision and step counts. */
export interface BenchOptions {
  cell: CellRef;
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
  /** Most rows per forward/backward pass (SequenceModel's `microBatch`; default: what the backend's buffer limit allows). */
  microBatch?: number;
  /**
   * Models of this shape stepped per timed step (default 1): as one Ensemble (`together`), or
   * one after another, each with its own Adam. Their work counts in trainMultiplyAdds.
   */
  members?: number;
  together?: boolean;
  /** Called after each step, for progress displays. */
  onStep?: (phase: 'warmup' | 'train' | 'inference', index: number, ms: number, backend: string) => void;
}

/** A benchmark's timings, work and memory on one backend. */
export interface BenchResult {
  backend: string;
  /** The cell's name. */
  cell: string;
  seqLen: number;
  batch: number;
  hidden: number;
  layers: number;
  inputSize: number;
  dtype: DType;
  /** Rows per forward/backward pass: `batch` unless the batch was split into micro-batches. */
  microBatch: number;
  /** Passes per step (1: no split). */
  microBatches: number;
  /** Models stepped per timed step, and whether as one Ensemble (see BenchOptions.members). */
  members: number;
  together: boolean;
  /**
   * Whether the ensemble's members ran each sequence pass as one call (Ensemble.batch: where the
   * backend's kernels take several models at once); false apart or where they cannot.
   */
  passesBatched: boolean;
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
  /**
   * Device work per timed training step, on backends that count it (`Backend.counters`; absent
   * elsewhere). Counts are medians over the timed steps; `steady` says whether every step issued
   * the same counts.
   */
  device?: BenchDeviceCounts;
}

/** Device work per training step (see BenchResult.device). */
export interface BenchDeviceCounts {
  /** Compute dispatches per step, all kinds. */
  dispatches: number;
  /** Of those, the backend's fused kernels, and the rest (a library's own ops); absent where not told apart. */
  fusedDispatches?: number;
  libraryDispatches?: number;
  /** Command buffers submitted per step. */
  submits: number;
  /** Device-to-host readbacks per step. */
  readbacks: number;
  /**
   * Host time per step (ms): the step's wall time minus the time the host waited for the device
   * (readbacks, the final sync), i.e. the time the JavaScript thread spent recording the step.
   */
  hostMs: TimingStats;
  /** Whether every timed step issued the same dispatches, submits and readbacks. */
  steady: boolean;
}

/** One step's device work: counter differences, and its host time in ms. */
export interface StepCounts {
  dispatches: number;
  fusedDispatches?: number;
  submits: number;
  readbacks: number;
  hostMs: number;
}

function stepCounts(a: DeviceCounters, b: DeviceCounters, ms: number): StepCounts {
  const c: StepCounts = {
    dispatches: b.dispatches - a.dispatches,
    submits: b.submits - a.submits,
    readbacks: b.readbacks - a.readbacks,
    hostMs: ms - (b.waitMs - a.waitMs),
  };
  if (a.fusedDispatches !== undefined && b.fusedDispatches !== undefined)
    c.fusedDispatches = b.fusedDispatches - a.fusedDispatches;
  return c;
}

function deviceCounts(steps: readonly StepCounts[]): BenchDeviceCounts | undefined {
  if (steps.length === 0) return undefined;
  const med = (f: (c: StepCounts) => number) => summarize(steps.map(f)).median;
  const same = (f: (c: StepCounts) => number | undefined) => steps.every((c) => f(c) === f(steps[0]));
  const out: BenchDeviceCounts = {
    dispatches: med((c) => c.dispatches),
    submits: med((c) => c.submits),
    readbacks: med((c) => c.readbacks),
    hostMs: summarize(steps.map((c) => c.hostMs)),
    steady:
      same((c) => c.dispatches) &&
      same((c) => c.fusedDispatches) &&
      same((c) => c.submits) &&
      same((c) => c.readbacks),
  };
  if (steps.every((c) => c.fusedDispatches !== undefined)) {
    out.fusedDispatches = med((c) => c.fusedDispatches!);
    out.libraryDispatches = med((c) => c.dispatches - c.fusedDispatches!);
  }
  return out;
}

const now = (): number => globalThis.performance.now();

/**
 * The copy-first-input model (Vecoven et al., benchmark 1) on one backend, stepped on demand: a
 * stack of `layers` cells, a Linear readout of the last state, MSE against the first input, Adam.
 * Inputs are N(0, 1) at every step, as in the task, so that state magnitudes (and any denormals
 * they decay into) are those of real training. Every timed step ends with the backend synchronised.
 */
export class TrainingBench {
  private readonly model: SequenceModel;
  private readonly opt: Adam;
  /** With members > 1: the ensemble, or the other models and their Adams stepped after `model`. */
  private readonly ensemble: Ensemble | null = null;
  private readonly others: { model: SequenceModel; opt: Adam }[] = [];
  /** Every member's batch (the same one), built once. */
  private readonly ensembleBatches: { x: TrainingBench['xs']; y: TrainingBench['ys'] }[] = [];
  private readonly xs: { shape: number[]; data: HostArray };
  private readonly ys: { shape: number[]; data: HostArray };
  private readonly mem: MemoryPeak;
  private tracking = true;
  private readonly train: number[] = [];
  private readonly infer: number[] = [];
  /** Device work of each timed training step, on backends that count it. */
  readonly stepCounts: StepCounts[] = [];
  private readonly size: { T: number; B: number; H: number; L: number; I: number; dtype: DType };

  constructor(
    readonly backend: Backend,
    private readonly o: BenchOptions,
  ) {
    cellSpec(o.cell);
    const T = checkPositiveInt('seqLen', o.seqLen);
    const B = checkPositiveInt('batch', o.batch);
    const H = checkPositiveInt('hidden', o.hidden);
    const L = checkPositiveInt('layers', o.layers);
    const I = checkPositiveInt('inputSize', o.inputSize ?? 1);
    const dtype = o.dtype ?? 'float32';
    if (!backend.dtypes.includes(dtype)) {
      throw new InputError(
        `backend '${backend.name}' does not support ${dtype}; it supports ${backend.dtypes.join(', ')}`,
      );
    }
    this.size = { T, B, H, L, I, dtype };
    const rng = new Rng(o.seed ?? 1);
    const x = dtype === 'float64' ? new Float64Array(B * T * I) : new Float32Array(B * T * I);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const y = dtype === 'float64' ? new Float64Array(B * I) : new Float32Array(B * I);
    for (let b = 0; b < B; b++) for (let f = 0; f < I; f++) y[b * I + f] = x[b * T * I + f];
    this.xs = { shape: [B, T, I], data: x };
    this.ys = { shape: [B, I], data: y };
    this.mem = new MemoryPeak();
    const members = checkPositiveInt('members', o.members ?? 1);
    const options = {
      cell: o.cell,
      inputSize: I,
      hiddenSize: H,
      numLayers: L,
      outputSize: I,
      readout: 'last' as const,
      loss: 'mse' as const,
      dtype,
      microBatch: o.microBatch,
    };
    const seed = o.seed ?? 1;
    if (o.together && members > 1) {
      this.ensemble = new Ensemble(
        backend,
        options,
        Array.from({ length: members }, (_, i) => seed + i),
      );
      this.model = this.ensemble.members[0];
      this.opt = this.ensemble.optimizer;
      for (let i = 0; i < members; i++) this.ensembleBatches.push({ x: this.xs, y: this.ys });
    } else {
      this.model = new SequenceModel(backend, { ...options, seed });
      this.opt = new Adam(backend, [this.model]);
      for (let i = 1; i < members; i++) {
        const model = new SequenceModel(backend, { ...options, seed: seed + i });
        this.others.push({ model, opt: new Adam(backend, [model]) });
      }
    }
  }

  private sample(): void {
    if (this.tracking) this.mem.sample();
  }

  /** One full training step (forward, loss, backward, Adam); returns its time in ms. */
  async step(record = true): Promise<number> {
    const before = record ? this.backend.counters?.() : undefined;
    const t0 = now();
    if (this.ensemble) await this.ensemble.trainStep(this.ensembleBatches);
    else {
      await this.model.trainStep(this.xs, this.ys, this.opt);
      for (const m of this.others) await m.model.trainStep(this.xs, this.ys, m.opt);
    }
    await this.backend.sync?.();
    const ms = now() - t0;
    const after = before && this.backend.counters?.();
    this.sample();
    if (record) this.train.push(ms);
    if (before && after) this.stepCounts.push(stepCounts(before, after, ms));
    return ms;
  }

  /** One forward pass with the predictions back on the host; returns its time in ms. */
  async inference(): Promise<number> {
    const t0 = now();
    await this.model.predict(this.xs);
    await this.backend.sync?.();
    const ms = now() - t0;
    this.sample();
    this.infer.push(ms);
    return ms;
  }

  /** Stops attributing process memory to this model (another one is about to share the process). */
  stopMemoryTracking(): void {
    this.tracking = false;
  }

  result(): BenchResult {
    const { T, B, H, L, I, dtype } = this.size;
    const work = { cell: this.o.cell, inputSize: I, hidden: H, layers: L, batch: B, seqLen: T };
    const plan = this.model.microBatchPlan(B, T);
    const members = this.ensemble ? this.ensemble.members.length : 1 + this.others.length;
    return {
      backend: this.backend.name,
      cell: cellSpec(this.o.cell).name,
      seqLen: T,
      batch: B,
      hidden: H,
      layers: L,
      inputSize: I,
      dtype,
      microBatch: plan.rows,
      microBatches: plan.passes,
      members,
      together: this.ensemble !== null,
      // some call ran several members' passes at once
      passesBatched: (this.ensemble?.batch?.stats.passes ?? 0) > (this.ensemble?.batch?.stats.groups ?? 0),
      train: summarize(this.train),
      inference: this.infer.length > 0 ? summarize(this.infer) : null,
      trainMultiplyAdds: members * trainingMultiplyAdds(work),
      inferenceMultiplyAdds: inferenceMultiplyAdds(work),
      memory: this.mem.deltas(),
      ...(this.stepCounts.length > 0 ? { device: deviceCounts(this.stepCounts) } : {}),
    };
  }

  dispose(): void {
    if (this.ensemble) this.ensemble.dispose();
    else {
      this.model.dispose();
      this.opt.dispose();
    }
    for (const m of this.others) {
      m.model.dispose();
      m.opt.dispose();
    }
  }
}

function counts(o: BenchOptions): { steps: number; warmup: number; inferenceSteps: number } {
  const steps = checkPositiveInt('steps', o.steps ?? 5);
  const warmup = o.warmup ?? 2;
  const inferenceSteps = o.inferenceSteps ?? steps;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new InputError(`warmup must be a non-negative integer, got ${warmup}`);
  }
  if (!Number.isInteger(inferenceSteps) || inferenceSteps < 0) {
    throw new InputError(`inferenceSteps must be a non-negative integer, got ${inferenceSteps}`);
  }
  return { steps, warmup, inferenceSteps };
}

/** Times training steps, then forward passes, of the copy-first-input model on one backend. */
export async function benchTraining(backend: Backend, o: BenchOptions): Promise<BenchResult> {
  const { steps, warmup, inferenceSteps } = counts(o);
  const bench = new TrainingBench(backend, o);
  try {
    for (let i = 0; i < warmup; i++) {
      const ms = await bench.step(false);
      o.onStep?.('warmup', i, ms, backend.name);
    }
    for (let i = 0; i < steps; i++) {
      const ms = await bench.step();
      o.onStep?.('train', i, ms, backend.name);
    }
    for (let i = 0; i < inferenceSteps; i++) {
      const ms = await bench.inference();
      o.onStep?.('inference', i, ms, backend.name);
    }
    return bench.result();
  } finally {
    bench.dispose();
  }
}

/**
 * Two backends in one process, their timed steps alternating (a b, b a, a b, …) so that any
 * drift in the machine's load or clock affects both alike. Each model is built and warmed up
 * alone, and its memory is measured over that phase only (construction and warm-up: where a
 * backend allocates what it keeps).
 */
export async function benchSideBySide(
  a: Backend,
  b: Backend,
  o: BenchOptions,
): Promise<[BenchResult, BenchResult]> {
  const [ra, rb] = await benchAlternating([a, b], o);
  return [ra, rb];
}

/**
 * Benches built one at a time, each warmed up alone (its memory measured over that phase only:
 * construction and warm-up, where a backend allocates what it keeps), then `steps` rounds of
 * `phase`, one step on each bench per round, in turn forwards and backwards (a b c, c b a, …),
 * so that a drift in the machine's load weighs on all alike. Every step is taken whether or not
 * `onStep` listens.
 */
async function alternate(
  make: readonly (() => TrainingBench)[],
  o: BenchOptions,
  warmup: number,
  phases: readonly { phase: 'train' | 'inference'; steps: number }[],
): Promise<BenchResult[]> {
  const benches: TrainingBench[] = [];
  try {
    for (const m of make) {
      const bench = m();
      benches.push(bench);
      for (let i = 0; i < warmup; i++) {
        const ms = await bench.step(false);
        o.onStep?.('warmup', i, ms, bench.backend.name);
      }
      bench.stopMemoryTracking();
    }
    for (const { phase, steps } of phases) {
      for (let i = 0; i < steps; i++) {
        for (const bench of i % 2 === 0 ? benches : [...benches].reverse()) {
          const ms = phase === 'train' ? await bench.step() : await bench.inference();
          o.onStep?.(phase, i, ms, bench.backend.name);
        }
      }
    }
    return benches.map((b) => b.result());
  } finally {
    for (const bench of benches) bench.dispose();
  }
}

/**
 * Any number of backends in one process, as {@link benchSideBySide} does for two: each model is
 * built and warmed up alone, then every round times one step on each backend, in turn forwards
 * and backwards (a b c, c b a, …), so that a drift in the machine's load weighs on all alike.
 * Results come back in the order of `backends`.
 */
export async function benchAlternating(
  backends: readonly Backend[],
  o: BenchOptions,
): Promise<BenchResult[]> {
  if (backends.length === 0) throw new InputError('benchAlternating needs at least one backend');
  const { steps, warmup, inferenceSteps } = counts(o);
  return alternate(
    backends.map((be) => () => new TrainingBench(be, o)),
    o,
    warmup,
    [
      { phase: 'train', steps },
      { phase: 'inference', steps: inferenceSteps },
    ],
  );
}

/**
 * An Ensemble of `members` models against the same models trained one after another, on one
 * backend, timed steps alternating (together, apart; apart, together; …): what training a
 * study's repeats as one ensemble gains. Training steps only. Returns [together, apart].
 */
export async function benchEnsemble(
  backend: Backend,
  o: BenchOptions & { members: number },
): Promise<[BenchResult, BenchResult]> {
  const { steps, warmup } = counts({ ...o, inferenceSteps: 0 });
  checkPositiveInt('members', o.members);
  const [a, b] = await alternate(
    [true, false].map((together) => () => new TrainingBench(backend, { ...o, together })),
    o,
    warmup,
    [{ phase: 'train', steps }],
  );
  return [a, b];
}
