/**
 * tfjs-layers building blocks: BRC and nBRC as RNN cells for tf.layers.rnn and
 * tf.layers.stackedRNNCells (serialisable, trainable with model.fit), and a Node file handler
 * for model.save / tf.loadLayersModel.
 */
export { type BistableCellArgs, BistableCellBase } from './bistable-cell.js';
export { BistableRecurrentCell, brcCell, NeuromodulatedBistableRecurrentCell, nbrcCell } from './cells.js';
export { fileIO } from './file-io.js';
