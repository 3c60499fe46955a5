import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeuromodulatedBistableRecurrentCell } from '@bistable/backend-tfjs/layers';
import { fileIO } from '@bistable/backend-tfjs/node';
import { CopyFirstInput } from '@bistable/tasks';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

await tf.setBackend('cpu');
const T = 5;

// an nBRC layer inside an ordinary tfjs-layers model, trained with model.fit
const model = tfl.sequential({
  layers: [
    tfl.layers.rnn({
      cell: new NeuromodulatedBistableRecurrentCell({ units: 16, seed: 1 }),
      inputShape: [T, 1],
    }),
    tfl.layers.dense({ units: 1 }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });

const { x, y } = new CopyFirstInput(2021, T, 128).batch(Array.from({ length: 128 }, (_, i) => i));
const xs = tf.tensor(x.data, x.shape);
const ys = tf.tensor(y.data, y.shape);
const history = await model.fit(xs, ys, { epochs: 30, batchSize: 32, verbose: 0 });
const loss = history.history.loss as number[];
console.log(`loss: epoch 1 ${loss[0].toFixed(4)}, epoch ${loss.length} ${loss[loss.length - 1].toFixed(4)}`);

// model.json + weights.bin in a folder; the cell classes are registered with tfjs, so they load back
const dir = join(mkdtempSync(join(tmpdir(), 'bistable-')), 'nbrc-model');
await model.save(fileIO(dir));
const loaded = await tfl.loadLayersModel(fileIO(dir));
const same = (model.predict(xs) as tf.Tensor)
  .dataSync()
  .every((v, i) => v === (loaded.predict(xs) as tf.Tensor).dataSync()[i]);
console.log('reloaded model predicts the same:', same);
