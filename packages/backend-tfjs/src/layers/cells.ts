import { BRC, nBRC } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { BistableCellBase } from './bistable-cell.js';

/**
 * BRC (brc_pytorch's BistableRecurrentCell; core's cells/brc.ts) for tf.layers.rnn and
 * tf.layers.stackedRNNCells: memories are per-unit vectors, initialised to ones.
 */
export class BistableRecurrentCell extends BistableCellBase {
  static className = 'BistableRecurrentCell';
  protected readonly recipe = BRC;
}

/**
 * nBRC (brc_pytorch's NeuromodulatedBistableRecurrentCell; core's cells/nbrc.ts): memories are
 * H×H matrices used as h @ M, initialised orthogonal.
 */
export class NeuromodulatedBistableRecurrentCell extends BistableCellBase {
  static className = 'NeuromodulatedBistableRecurrentCell';
  protected readonly recipe = nBRC;
}

// model.json names a cell by className; these make tf.loadLayersModel find them
tf.serialization.registerClass(BistableRecurrentCell);
tf.serialization.registerClass(NeuromodulatedBistableRecurrentCell);

/** Factory in the style of tf.layers.gruCell. */
export const brcCell = (args: { units: number } & ConstructorParameters<typeof BistableRecurrentCell>[0]) =>
  new BistableRecurrentCell(args);
/** Factory in the style of tf.layers.gruCell. */
export const nbrcCell = (
  args: { units: number } & ConstructorParameters<typeof NeuromodulatedBistableRecurrentCell>[0],
) => new NeuromodulatedBistableRecurrentCell(args);
