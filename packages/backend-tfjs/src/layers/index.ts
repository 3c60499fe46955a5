/**
 * tfjs-layers building blocks for BRC and nBRC, browser-safe (nothing here imports Node's
 * modules; the Node file handler is `fileIO` in `@bistable/backend-tfjs/node`):
 *
 * - layers like tf.layers.gru: `bistableLayers.brc({ units })`, `bistableLayers.nbrc({ units })`
 *   (classes BRC, NBRC), serialisable, usable in tf.layers.bidirectional, with dropout,
 *   regularisers and constraints;
 * - the bare cells for tf.layers.rnn and tf.layers.stackedRNNCells.
 */
export {
  type BistableCellArgs,
  BistableCellBase,
  type DropoutFunc,
} from './bistable-cell.js';
export { BistableRecurrentCell, brcCell, NeuromodulatedBistableRecurrentCell, nbrcCell } from './cells.js';
export type { Constraint, ConstraintOption, Regularizer, RegularizerOption } from './options.js';
export { type BistableLayerArgs, BistableLayerBase, BRC, bistableLayers, NBRC } from './rnn-layers.js';
