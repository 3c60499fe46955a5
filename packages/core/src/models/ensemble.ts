import { cellKernels } from '../backend/cell-kernels.js';
import { InputError } from '../backend/errors.js';
import { type Backend, type GemmArgs, KERNEL_LEVEL } from '../backend/types.js';
import { cellSpec } from '../cells/index.js';
import { Adam, type AdamOptions } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ParamArena } from '../params/arena.js';
import { hostView, returnLike, type TensorInput, type TensorOutput } from '../params/foreign-tensor.js';
import { DEFAULT_DTYPE } from '../params/validate.js';
import { gemmAll } from '../runner/gemm-helpers.js';
import { MemberBatch } from '../runner/member-batch.js';
import { MemberSlabs } from '../runner/member-slabs.js';
import { SequenceModel, type SequenceModelOptions } from './sequence-model.js';

/**
 * Several models of one shape that differ only in their seed, trained together: the members'
 * parameters, gradients and Adam moments are views of one buffer each (on backends with views),
 * so a training step of all members records every member's forward and backward, then runs all
 * their weight-gradient GEMMs together (`gemmMany`) and one Adam pass over every member. Where
 * the backend's sequence kernels take several models at once (SequenceKernels.forwardMany:
 * tfjs-webgpu), the members' workspaces are views of shared buffers too and they record their
 * steps side by side, so each layer's forward and backward of all members is one call (one
 * dispatch where their batches share a shape): `batch` counts them. Each member trains exactly
 * as it would alone (same seed, same data, same Adam settings): its numbers are its solo run's.
 * A member is a plain `SequenceModel` (predict, evaluate, getParameters, checkpoints work on it as
 * on any model).
 *
 * @example
 * ```ts
 * import { Ensemble, getBackend } from '@bistable/core';
 *
 * const backend = await getBackend('cpu');
 * const ensemble = new Ensemble(
 *   backend,
 *   { cell: 'nBRC', inputSize: 1, hiddenSize: 16, numLayers: 2, readout: 'last', loss: 'mse' },
 *   [1, 2, 3], // one member per seed
 *   { lr: 1e-3 },
 * );
 * const x = { shape: [4, 5, 1], data: new Float32Array(20).fill(0.5) };
 * const y = { shape: [4, 1], data: new Float32Array(4).fill(0.5) };
 * const steps = await ensemble.trainStep([{ x, y }, { x, y }, { x, y }]);
 * console.log(steps.map((s) => s?.loss));
 * ensemble.dispose();
 * ```
 */
export class Ensemble {
  readonly members: SequenceModel[];
  /**
   * One Adam over every member: where the backend has views, one pass per run of neighbouring
   * members that have taken equally many steps (one for all while none sits out).
   */
  readonly optimizer: Adam;
  /**
   * Runs the members' sequence passes at each unit together, where the backend can batch them
   * (SequenceKernels.forwardMany; null elsewhere): its stats count the groups run.
   */
  readonly batch: MemberBatch | null;
  private readonly arena: ParamArena;
  /** The members' shared workspace buffers, where their passes run together. */
  private readonly slabs: MemberSlabs | null;

  /**
   * `batchPasses` (default true): where the backend's sequence kernels run several models at once
   * (SequenceKernels.forwardMany, with views), the members' workspaces share buffers and their
   * passes at each unit run as one call; false keeps every member's passes apart (to compare).
   */
  constructor(
    readonly backend: Backend,
    options: Omit<SequenceModelOptions, 'seed'>,
    seeds: readonly number[],
    adam: AdamOptions = {},
    { batchPasses = true }: { batchPasses?: boolean } = {},
  ) {
    if (seeds.length === 0) throw new InputError('an ensemble needs at least one member (one seed each)');
    const one = SequenceModel.parameterLengths(options);
    const dtype = options.dtype ?? DEFAULT_DTYPE;
    this.arena = new ParamArena(
      backend,
      dtype,
      seeds.flatMap(() => one),
    );
    // the kernels the members' units will run (RecurrentUnit's choice) take several models at once
    const kernels = cellKernels(
      backend,
      cellSpec(options.cell),
      options.maxLevel ?? KERNEL_LEVEL.sequence,
      options.hiddenSize,
      dtype,
    );
    const shared =
      batchPasses && seeds.length > 1 && backend.view && kernels.forwardMany
        ? {
            slabs: new MemberSlabs(backend as Backend & { view: Backend['view'] & {} }, dtype, seeds.length),
            batch: new MemberBatch(),
          }
        : null;
    this.slabs = shared?.slabs ?? null;
    this.batch = shared?.batch ?? null;
    try {
      this.members = seeds.map(
        (seed, index) =>
          new SequenceModel(
            backend,
            { ...options, seed },
            this.arena,
            shared ? { ...shared, index } : undefined,
          ),
      );
    } catch (e) {
      this.slabs?.dispose();
      this.arena.dispose();
      throw e;
    }
    this.optimizer = new Adam(backend, this.members, adam);
  }

  /**
   * One training step of every member that is given a batch, member i on `batches[i]`: forward,
   * loss and backward of each, then every weight gradient and one update for all of them. A
   * member whose batch is null sits the step out (it stopped early): its parameters and Adam state
   * stay as they are. Returns each member's loss and predictions from before the update, as
   * SequenceModel.trainStep does, and null for a member that sat out.
   */
  async trainStep<X extends TensorInput>(
    batches: readonly ({ x: X; y: TensorInput } | null)[],
  ): Promise<({ loss: number; predictions: TensorOutput<X> } | null)[]> {
    if (!Array.isArray(batches) || batches.length !== this.members.length) {
      throw new InputError(
        `an ensemble of ${this.members.length} members needs ${this.members.length} batches (null for a member that sits out), got ${Array.isArray(batches) ? batches.length : String(batches)}`,
      );
    }
    const active = batches.flatMap((b, i) => (b ? [i] : []));
    if (active.length === 0) throw new InputError('an ensemble step needs a batch for at least one member');
    const views = batches.map((b, i) =>
      b ? { x: hostView(`input of member ${i}`, b.x), y: hostView(`target of member ${i}`, b.y) } : null,
    );
    const later: GemmArgs[] = [];
    const finish = new Map<number, Awaited<ReturnType<SequenceModel['recordStep']>>>();
    this.slabs?.nextStep();
    const record = (i: number) => this.members[i].recordStep(views[i]!.x, views[i]!.y, later);
    if (this.batch) {
      // side by side, so that each unit's passes of all members run as one call
      const done = await this.batch.all(active.map((i) => [i, () => record(i)] as const));
      for (const [k, i] of active.entries()) finish.set(i, done[k]);
    } else for (const i of active) finish.set(i, await record(i));
    gemmAll(this.backend, later);
    await this.optimizer.stepSources(active);
    const out: ({ loss: number; predictions: TensorOutput<X> } | null)[] = batches.map(() => null);
    for (const [i, f] of finish) {
      const r = await f();
      out[i] = { loss: r.loss, predictions: returnLike(batches[i]!.x, r.predictions) };
    }
    return out;
  }

  /**
   * Member i's share of the ensemble's Adam, as an Optimizer for checkpoints: its state is that
   * member's moments and step count, and loading one restores only that member. It does not step
   * on its own (members step with their ensemble, in trainStep).
   */
  memberOptimizer(i: number): Optimizer {
    if (!Number.isInteger(i) || i < 0 || i >= this.members.length) {
      throw new InputError(`member ${String(i)} does not exist (the ensemble has ${this.members.length})`);
    }
    const adam = this.optimizer;
    return {
      backend: this.backend,
      get lr() {
        return adam.lr;
      },
      step: async () => {
        throw new InputError("an ensemble's member steps with the ensemble: use ensemble.trainStep");
      },
      state: () => adam.sourceState(i),
      loadState: (s) => adam.loadSourceState(i, s),
      // the moments are the ensemble's, freed with it
      dispose: () => {},
    };
  }

  dispose(): void {
    for (const m of this.members) m.dispose();
    this.optimizer.dispose();
    this.slabs?.dispose();
    this.arena.dispose();
  }
}
