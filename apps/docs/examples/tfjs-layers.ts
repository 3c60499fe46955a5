import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bistableLayers } from '@bistable/backend-tfjs/layers';
import { fileIO } from '@bistable/backend-tfjs/node';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

await tf.setBackend('cpu');
const T = 5;

// copy-first-input: the target is the first of T random steps
const xs = tf.randomUniform([128, T, 1], -1, 1, 'float32', 2021);
const ys = tf.reshape(tf.slice(xs, [0, 0, 0], [128, 1, 1]), [128, 1]);

// a bidirectional nBRC layer inside an ordinary tfjs-layers model, trained with model.fit
const model = tfl.sequential({
  layers: [
    tfl.layers.bidirectional({
      layer: bistableLayers.nbrc({ units: 16, seed: 1, recurrentDropout: 0.1 }),
      mergeMode: 'concat',
      inputShape: [T, 1],
    }),
    tfl.layers.dense({ units: 1 }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });

const history = await model.fit(xs, ys, { epochs: 20, batchSize: 32, verbose: 0 });
const loss = history.history.loss as number[];
console.log(`loss: epoch 1 ${loss[0].toFixed(4)}, epoch ${loss.length} ${loss[loss.length - 1].toFixed(4)}`);

// model.json + weights.bin in a folder (in a browser: model.save('indexeddb://nbrc-model'));
// importing the layers registers their classes with tfjs, so tf.loadLayersModel finds them
const dir = join(mkdtempSync(join(tmpdir(), 'bistable-')), 'nbrc-model');
await model.save(fileIO(dir));
const loaded = await tfl.loadLayersModel(fileIO(dir));

const fresh = tf.randomUniform([4, T, 1], -1, 1, 'float32', 7);
const before = (model.predict(fresh) as tf.Tensor).dataSync();
const after = (loaded.predict(fresh) as tf.Tensor).dataSync();
console.log(
  'reloaded model predicts the same:',
  after.every((v, i) => v === before[i]),
);
