import { orthogonal, type Rng } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { BistableCellBase } from './bistable-cell.js';

/**
 * BRC (brc_pytorch's BistableRecurrentCell; core's cells/brc.ts) for tf.layers.rnn and
 * tf.layers.stackedRNNCells: memories are per-unit vectors, initialised to ones.
 */
export class BistableRecurrentCell extends BistableCellBase {
  static className = 'BistableRecurrentCell';

  protected memoryWeight() {
    return { shape: [this.units], init: (shape: number[]) => tf.ones(shape) };
  }

  protected memoryTerm(h: tf.Tensor2D, memory: tf.Tensor): tf.Tensor2D {
    return tf.mul(h, memory);
  }
}

/**
 * nBRC (brc_pytorch's NeuromodulatedBistableRecurrentCell; core's cells/nbrc.ts): memories are
 * H×H matrices used as h @ M, initialised orthogonal.
 */
export class NeuromodulatedBistableRecurrentCell extends BistableCellBase {
  static className = 'NeuromodulatedBistableRecurrentCell';

  protected memoryWeight() {
    return {
      shape: [this.units, this.units],
      init: (shape: number[], rng: Rng) =>
        tf.tensor(Float32Array.from(orthogonal(shape, rng)), shape, 'float32'),
    };
  }

  protected memoryTerm(h: tf.Tensor2D, memory: tf.Tensor): tf.Tensor2D {
    return tf.matMul(h, memory as tf.Tensor2D);
  }
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
