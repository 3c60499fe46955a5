import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  type BistableCellArgs,
  type BistableCellBase,
  type BistableCellLayerOptions,
  type Kwargs,
  OWNED_BY_LAYER,
} from './bistable-cell.js';
import { BistableRecurrentCell, NeuromodulatedBistableRecurrentCell } from './cells.js';
import {
  type Regularizer,
  type RegularizerOption,
  rejectUnsupported,
  serialize,
  toRegularizer,
} from './options.js';

type RegularizerFn = () => tf.Scalar;

let zero: tf.Scalar | null = null;
/** The penalty before any training call: one kept scalar, not a new one each time losses are read. */
const zeroPenalty = (): tf.Scalar => {
  if (!zero || zero.isDisposed) zero = tf.keep(tf.scalar(0));
  return zero;
};

/** Options of bistableLayers.brc / bistableLayers.nbrc: tf.layers.gru's, less those refused. */
export interface BistableLayerArgs extends BistableCellArgs, BistableCellLayerOptions {
  /** Penalty on the layer's output (the sequence when returnSequences), divided by the batch size as in Keras. */
  activityRegularizer?: RegularizerOption;
  /** Output every step ([batch, time, H]) instead of the last ([batch, H]). */
  returnSequences?: boolean;
  /** Also output the final state. */
  returnState?: boolean;
  /** Read the sequence backwards (and with returnSequences output it in that order). */
  goBackwards?: boolean;
  /** Carry the final state of a batch over to the next one (needs batchInputShape). */
  stateful?: boolean;
  /** Size of each step's input; with inputLength, an alternative to inputShape. */
  inputDim?: number;
  /** Sequence length, with inputDim. */
  inputLength?: number;
}

type CellClass = new (
  args: BistableCellArgs & BistableCellLayerOptions,
  owner: typeof OWNED_BY_LAYER,
) => BistableCellBase;

/** The layer's options that belong to its cell, handed on as they are. */
const CELL_OPTIONS = [
  'units',
  'seed',
  'dropout',
  'recurrentDropout',
  'dropoutFunc',
  'kernelRegularizer',
  'recurrentRegularizer',
  'biasRegularizer',
  'kernelConstraint',
  'recurrentConstraint',
  'biasConstraint',
] as const;

// Bidirectional builds its two layers from one getConfig() of the layer it is given, which it
// keeps but never builds, and asks that layer for the losses: this key in the config object
// (absent from its JSON) lets those two layers tell the template about themselves.
const TEMPLATE: unique symbol = Symbol('bistable layer template');

/**
 * An RNN layer over a BRC or nBRC cell, as tf.layers.gru is one over GRUCell: serialisable, usable
 * in tf.layers.bidirectional, with dropout, regularisers and constraints.
 */
export abstract class BistableLayerBase extends tfl.RNN {
  private readonly activityRegularizer_: Regularizer | null;
  /** The activity penalty of the last call in training (kept: it is part of that step's graph). */
  private activityPenalty: tf.Scalar | null = null;
  /** Layers built from this one's config while it was unbuilt (tf.layers.bidirectional's two). */
  private readonly copies: BistableLayerBase[] = [];
  private readonly activityLoss: RegularizerFn | null;

  constructor(args: BistableLayerArgs, Cell: CellClass, className: string) {
    if (args == null || typeof args !== 'object')
      throw new Error(`${className}: options required ({ units })`);
    rejectUnsupported(className, args, true);
    const cellArgs = Object.fromEntries(
      CELL_OPTIONS.map((k) => [k, args[k]]),
    ) as unknown as BistableCellArgs & BistableCellLayerOptions;
    const cell = new Cell(cellArgs, OWNED_BY_LAYER);
    let layerArgs: BistableLayerArgs & { cell: BistableCellBase } = { ...args, cell };
    if (args.inputShape == null && args.batchInputShape == null && args.inputDim != null) {
      // tfjs-layers' RNN takes inputDim / inputLength but does not use them
      layerArgs = { ...layerArgs, inputShape: [args.inputLength ?? null, args.inputDim] };
    }
    super(layerArgs);
    const regularizer = toRegularizer(className, 'activityRegularizer', args.activityRegularizer);
    // not tfjs's own activityRegularizer field: Layer.apply refuses any layer that sets it
    this.activityRegularizer_ = regularizer;
    // computed in call, while the output exists (under Bidirectional it is gone by the time
    // model.fit asks for the losses), so that the gradient reaches the weights through it
    this.activityLoss = regularizer
      ? () =>
          this.activityPenalty && !this.activityPenalty.isDisposed ? this.activityPenalty : zeroPenalty()
      : null;
    const template = (args as { [TEMPLATE]?: unknown })[TEMPLATE];
    if (template instanceof BistableLayerBase) template.copies.push(this);
  }

  /** The BRC or nBRC cell this layer runs. */
  get bistableCell(): BistableCellBase {
    return this.cell as BistableCellBase;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      // a new sequence: new dropout masks (what tfjs's GRU layer does)
      this.bistableCell.resetDropoutMasks();
      const output = super.call(inputs, {
        mask: kwargs?.mask,
        training: kwargs?.training,
        initialState: kwargs?.initialState,
      }) as tf.Tensor | tf.Tensor[];
      if (this.activityRegularizer_ && kwargs?.training === true) {
        const y = Array.isArray(output) ? output[0] : output;
        this.activityPenalty?.dispose();
        this.activityPenalty = tf.keep(
          tf.div(this.activityRegularizer_.apply(y), y.shape[0] ?? 1) as tf.Scalar,
        );
      }
      return output;
    });
  }

  /**
   * The regularisation penalties model.fit adds to the loss: the cell's weights' and the activity
   * penalty (tfjs's RNN layers leave the cell's out). Under tf.layers.bidirectional this (unbuilt)
   * layer is the one asked, and answers for both directions.
   */
  override get losses(): RegularizerFn[] {
    const losses = [...super.losses, ...this.cell.losses];
    // (Bidirectional builds its layers by calling build, which leaves their `built` false: ask the cell)
    if (this.cell.built) {
      if (this.activityLoss) losses.push(this.activityLoss);
    } else {
      for (const copy of this.copies) losses.push(...copy.losses);
    }
    return losses;
  }

  override dispose() {
    this.bistableCell.resetDropoutMasks();
    this.activityPenalty?.dispose();
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    // RNN's config: the cell's (units, seed, dropout, regularisers, constraints), the layer's, the RNN's
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      activityRegularizer: serialize(this.activityRegularizer_),
    };
    if (!this.cell.built) Object.defineProperty(config, TEMPLATE, { value: this, enumerable: false });
    return config;
  }

  /** Builds the layer from its getConfig() (a subclass of RNN has no `cell` entry to read). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config);
  }
}

/** BRC as a layer (brc_pytorch's BistableRecurrentCell over a sequence), like tf.layers.gru. */
export class BRC extends BistableLayerBase {
  static override className = 'BRC';
  constructor(args: BistableLayerArgs) {
    super(args, BistableRecurrentCell, BRC.className);
  }
}

/** nBRC as a layer (brc_pytorch's NeuromodulatedBistableRecurrentCell over a sequence), like tf.layers.gru. */
export class NBRC extends BistableLayerBase {
  static override className = 'NBRC';
  constructor(args: BistableLayerArgs) {
    super(args, NeuromodulatedBistableRecurrentCell, NBRC.className);
  }
}

// model.json names a layer by className; these make tf.loadLayersModel find them
tf.serialization.registerClass(BRC);
tf.serialization.registerClass(NBRC);

/**
 * Factories in the style of tf.layers: `bistableLayers.nbrc({ units: 32 })`.
 *
 * @example
 * ```ts
 * import { bistableLayers } from '@bistable/backend-tfjs/layers';
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as tfl from '@tensorflow/tfjs-layers';
 *
 * // a bidirectional nBRC layer in an ordinary tfjs-layers model, trained with model.fit
 * const model = tfl.sequential({
 *   layers: [
 *     tfl.layers.bidirectional({
 *       layer: bistableLayers.nbrc({ units: 16, seed: 1 }),
 *       inputShape: [5, 1],
 *     }),
 *     tfl.layers.dense({ units: 1 }),
 *   ],
 * });
 * model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
 * const xs = tf.randomUniform([128, 5, 1], -1, 1);
 * const ys = tf.reshape(tf.slice(xs, [0, 0, 0], [128, 1, 1]), [128, 1]);
 * await model.fit(xs, ys, { epochs: 20, batchSize: 32 });
 * ```
 */
export const bistableLayers = {
  /** A BRC layer (memories are per-unit vectors). */
  brc: (args: BistableLayerArgs): BRC => new BRC(args),
  /** An nBRC layer (memories are H×H matrices). */
  nbrc: (args: BistableLayerArgs): NBRC => new NBRC(args),
  /** A bare BRC cell for tf.layers.rnn / tf.layers.stackedRNNCells. */
  brcCell: (args: BistableCellArgs): BistableRecurrentCell => new BistableRecurrentCell(args),
  /** A bare nBRC cell for tf.layers.rnn / tf.layers.stackedRNNCells. */
  nbrcCell: (args: BistableCellArgs): NeuromodulatedBistableRecurrentCell =>
    new NeuromodulatedBistableRecurrentCell(args),
};
