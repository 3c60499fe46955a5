import { type CellSpec, initParam, type ParamSpec, Rng } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  type Constraint,
  type ConstraintOption,
  type Regularizer,
  type RegularizerOption,
  rejectUnsupported,
  serialize,
  show,
  toConstraint,
  toRate,
  toRegularizer,
} from './options.js';
import { recipeForward } from './recipe-step.js';

/** What every tfjs-layers layer's constructor takes (name, trainable, inputShape, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
/** The keyword arguments of a layer's call (training, mask, initialState). */
export type Kwargs = Parameters<InstanceType<typeof tfl.layers.Layer>['call']>[1];
type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** Makes a dropout mask from a tensor of ones (tfjs's `dropoutFunc`; tf.dropout by default). */
export type DropoutFunc = (ones: tf.Tensor, rate: number) => tf.Tensor;

export interface BistableCellArgs extends LayerArgs {
  /** Hidden size H (the state and the output have H units). */
  units: number;
  /** Seeds the initial weights (kernels and nBRC's orthogonal memories); random when absent. Under tf.layers.bidirectional both directions share it. */
  seed?: number;
  /** Applied to kernelz, kernelr and kernelh after every update. */
  kernelConstraint?: ConstraintOption;
  /** Applied to the memories memoryz and memoryr after every update. */
  recurrentConstraint?: ConstraintOption;
  /** Applied to the biases bz and br after every update. */
  biasConstraint?: ConstraintOption;
}

/**
 * What the layers (bistableLayers.brc / .nbrc) give their own cell. A bare cell refuses them:
 * tf.layers.rnn renews no cell's dropout masks and collects no cell's regularisation losses.
 */
export interface BistableCellLayerOptions {
  /** Fraction of the input's units dropped in training, one mask per sequence. */
  dropout?: number;
  /** Fraction of the state's units dropped where the state enters the gates and the candidate, in training. */
  recurrentDropout?: number;
  /** Makes a mask from ones (tf.dropout by default); not saved with the model, as in tfjs. */
  dropoutFunc?: DropoutFunc;
  /** Penalty on kernelz, kernelr, kernelh. */
  kernelRegularizer?: RegularizerOption;
  /** Penalty on the memories memoryz, memoryr. */
  recurrentRegularizer?: RegularizerOption;
  /** Penalty on the biases bz, br. */
  biasRegularizer?: RegularizerOption;
}

/** Passed by the layers to the cell they build; not exported from the package. */
export const OWNED_BY_LAYER: unique symbol = Symbol('a bistable layer builds this cell');

const LAYER_ONLY = [
  'dropout',
  'recurrentDropout',
  'dropoutFunc',
  'kernelRegularizer',
  'recurrentRegularizer',
  'biasRegularizer',
  'activityRegularizer',
] as const;

/** Which of the cell's options (regulariser, constraint) a parameter takes, by its packed slot. */
const ROLE: Readonly<Record<ParamSpec['slot'], 'kernel' | 'recurrent' | 'bias'>> = {
  wx: 'kernel',
  wh: 'recurrent',
  pw: 'recurrent',
  bx: 'bias',
  bh: 'bias',
};

/**
 * Makes every assignment to the weight's variable — the optimiser's updates, setWeights,
 * loading — store the constrained value. tfjs-layers applies a weight's constraint only in
 * LayerVariable.write, which model.fit's optimiser never calls.
 */
function constrainAssignments(weight: tfl.LayerVariable, constraint: Constraint): void {
  const variable = weight.read() as tf.Variable;
  const assign = variable.assign.bind(variable);
  variable.assign = (value: tf.Tensor) => {
    const projected = tf.tidy(() => constraint.apply(value));
    assign(projected);
    if (projected !== value) projected.dispose();
  };
}

/**
 * What BRC and nBRC share, as a tfjs-layers RNN cell: the weights are the recipe's parameters
 * (core's cells/brc.ts, cells/nbrc.ts: names, torch shapes, initialisation) and one step runs
 * the recipe's forward program as tfjs ops, so the math is core's, written once:
 *   z  = σ(x @ kernelz + mz(h) + bz)
 *   a  = tanh(x @ kernelr + mr(h) + br) + 1
 *   h' = z ⊙ h + (1 − z) ⊙ tanh(x @ kernelh + a ⊙ h)
 * where the memory terms mz, mr are h ⊙ memory (BRC, vectors) or h @ memory (nBRC, matrices).
 * The candidate has no bias. Gradients come from tfjs's autodiff.
 *
 * With dropout (inside the layers only), in training x is multiplied by one mask and h, where it
 * enters the gates and the candidate, by another; the carry z ⊙ h keeps the undropped h.
 */
export abstract class BistableCellBase extends tfl.layers.RNNCell {
  readonly units: number;
  readonly seed: number | undefined;
  stateSize: number;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly dropoutFunc: DropoutFunc | undefined;
  readonly kernelRegularizer: Regularizer | null;
  readonly recurrentRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  readonly kernelConstraint: Constraint | null;
  readonly recurrentConstraint: Constraint | null;
  readonly biasConstraint: Constraint | null;
  private readonly ownedByLayer: boolean;
  /** The recipe's parameters as layer weights, in its (torch's named_parameters()) order. */
  private params: tfl.LayerVariable[] = [];
  /** The cell's recipe (core's BRC or nBRC): its parameters and its math. */
  protected abstract readonly recipe: CellSpec;

  constructor(args: BistableCellArgs, owner?: typeof OWNED_BY_LAYER) {
    super(args);
    const name = (new.target as { className?: string }).className ?? new.target.name;
    if (!Number.isInteger(args?.units) || args.units <= 0) {
      throw new Error(`${name}: units must be a positive whole number, got ${args?.units}`);
    }
    rejectUnsupported(name, args, false);
    const extra = args as BistableCellArgs & BistableCellLayerOptions & Record<string, unknown>;
    this.ownedByLayer = owner === OWNED_BY_LAYER;
    if (!this.ownedByLayer) {
      for (const option of LAYER_ONLY) {
        const value = extra[option];
        if (value != null && value !== 0) {
          throw new Error(
            `${name}: option '${option}' (got ${show(value)}) works only in the layers bistableLayers.brc / bistableLayers.nbrc: tf.layers.rnn neither renews a cell's dropout masks for each sequence nor collects a cell's regularisation losses`,
          );
        }
      }
    }
    if (args.seed != null && !Number.isInteger(args.seed)) {
      throw new Error(`${name}: option 'seed' must be a whole number, got ${show(args.seed)}`);
    }
    this.units = args.units;
    this.seed = args.seed ?? undefined;
    this.stateSize = args.units;
    this.dropout = toRate(name, 'dropout', extra.dropout);
    this.recurrentDropout = toRate(name, 'recurrentDropout', extra.recurrentDropout);
    if (extra.dropoutFunc != null && typeof extra.dropoutFunc !== 'function') {
      throw new Error(`${name}: option 'dropoutFunc' must be a function`);
    }
    this.dropoutFunc = extra.dropoutFunc ?? undefined;
    this.kernelRegularizer = toRegularizer(name, 'kernelRegularizer', extra.kernelRegularizer);
    this.recurrentRegularizer = toRegularizer(name, 'recurrentRegularizer', extra.recurrentRegularizer);
    this.biasRegularizer = toRegularizer(name, 'biasRegularizer', extra.biasRegularizer);
    this.kernelConstraint = toConstraint(name, 'kernelConstraint', args.kernelConstraint);
    this.recurrentConstraint = toConstraint(name, 'recurrentConstraint', args.recurrentConstraint);
    this.biasConstraint = toConstraint(name, 'biasConstraint', args.biasConstraint);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inputDim = shape[shape.length - 1];
    if (inputDim == null) throw new Error(`${this.getClassName()}: the last input dimension must be known`);
    const H = this.units;
    // weights in torch's named_parameters() order, so setWeights takes brc_pytorch's list as is
    // core's initialisers (torch's), on the host: seeded, and free of tfjs's chained-op methods
    // (tfjs-layers' orthogonal initializer needs them, and tfjs-core alone does not install them)
    const rng = new Rng(this.seed ?? Math.floor(Math.random() * 2 ** 32));
    const options = {
      kernel: [this.kernelRegularizer, this.kernelConstraint],
      recurrent: [this.recurrentRegularizer, this.recurrentConstraint],
      bias: [this.biasRegularizer, this.biasConstraint],
    } as const;
    this.params = this.recipe.params.map((p) => {
      const shape = p.shape(inputDim, H);
      const [regularizer, constraint] = options[ROLE[p.slot]];
      // called by addWeight unless tfjs is loading a model (its fast init then writes zeros)
      const initializer = {
        apply: () => tf.tensor(Float32Array.from(initParam(p.init, shape, H, rng)), shape, 'float32'),
      } as unknown as Initializer;
      const w = this.addWeight(p.name, shape, 'float32', initializer, regularizer ?? undefined, true);
      if (constraint) constrainAssignments(w, constraint);
      return w;
    });
    this.built = true;
  }

  // dropoutMask and recurrentDropoutMask (RNNCell's fields, as tfjs's GRUCell uses them): the masks
  // of the current sequence, made at its first step in training, null otherwise

  /** Drops this sequence's masks; the layers call it before each sequence, as tfjs's GRU does. */
  resetDropoutMasks(): void {
    for (const mask of [this.dropoutMask, this.recurrentDropoutMask]) if (mask != null) tf.dispose(mask);
    this.dropoutMask = null as unknown as tf.Tensor;
    this.recurrentDropoutMask = null as unknown as tf.Tensor;
  }

  private mask(like: tf.Tensor, rate: number): tf.Tensor {
    return tf.keep(
      tf.tidy(() => {
        const ones = tf.onesLike(like);
        return this.dropoutFunc ? this.dropoutFunc(ones, rate) : tf.dropout(ones, rate);
      }),
    );
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const list = inputs as tf.Tensor[];
      if (!Array.isArray(list) || list.length !== 2) {
        throw new Error(
          `${this.getClassName()} expects [input, state], got ${Array.isArray(list) ? list.length : 1} tensors`,
        );
      }
      let x = list[0] as tf.Tensor2D;
      const h = list[1] as tf.Tensor2D;
      let hIn = h;
      // masks made at a sequence's first step and kept for all its steps (tfjs's GRUCell does the same)
      if (kwargs?.training === true) {
        if (this.dropout > 0) {
          this.dropoutMask ??= this.mask(x, this.dropout);
          x = tf.mul(x, this.dropoutMask as tf.Tensor);
        }
        if (this.recurrentDropout > 0) {
          this.recurrentDropoutMask ??= this.mask(h, this.recurrentDropout);
          hIn = tf.mul(h, this.recurrentDropoutMask as tf.Tensor);
        }
      }
      const weights = this.params.map((w) => w.read());
      const hNext = recipeForward(this.recipe, weights, x, h, hIn);
      return [hNext, hNext];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), units: this.units };
    if (this.seed !== undefined) config.seed = this.seed;
    // a bare cell writes only what is set, so its saved models read as before
    const options: [string, tf.serialization.ConfigDictValue][] = [
      ['dropout', this.dropout],
      ['recurrentDropout', this.recurrentDropout],
      ['kernelRegularizer', serialize(this.kernelRegularizer)],
      ['recurrentRegularizer', serialize(this.recurrentRegularizer)],
      ['biasRegularizer', serialize(this.biasRegularizer)],
      ['kernelConstraint', serialize(this.kernelConstraint)],
      ['recurrentConstraint', serialize(this.recurrentConstraint)],
      ['biasConstraint', serialize(this.biasConstraint)],
    ];
    for (const [key, value] of options) {
      if (this.ownedByLayer || (value != null && value !== 0)) config[key] = value;
    }
    return config;
  }
}
