// A tfjs user's script, run by pack-check in a project that installed @tensorflow/tfjs and the
// packed tarballs, nothing else: bistable's layers inside the user's own tfjs, trained with
// model.fit, saved and loaded back through tfjs's handlers and bistable's file handler; the same
// model with tf.layers.gru beside it; core's API with tf.Tensors. Exits non-zero on any failure.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBackend, SequenceModel } from '@bistable/core';
import '@bistable/backend-tfjs';
import { bistableLayers } from '@bistable/backend-tfjs/layers';
import { fileIO } from '@bistable/backend-tfjs/node';
import { CopyFirstInput } from '@bistable/tasks';
import * as tf from '@tensorflow/tfjs';

const fail = (msg) => {
  throw new Error(`tfjs-user: ${msg}`);
};

// one tfjs in the install: a second copy would not know the layer classes bistable registers
const copies = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (p.endsWith(join('@tensorflow', 'tfjs-core'))) copies.push(p);
    else walk(p);
  }
};
walk('node_modules');
if (copies.length !== 1)
  fail(`expected one @tensorflow/tfjs-core, found ${copies.length}: ${copies.join(', ')}`);

await tf.setBackend('cpu');
const T = 8;
const N = 256;
const { x, y } = new CopyFirstInput(7, T, N).batch([...Array(N).keys()]);
const xs = tf.tensor3d(x.data, x.shape);
const ys = tf.tensor2d(y.data, y.shape);
const dir = mkdtempSync(join(tmpdir(), 'bistable-tfjs-user-'));

const identical = (a, b, what) => {
  const [u, v] = [a.dataSync(), b.dataSync()];
  if (u.length !== v.length || u.some((val, i) => val !== v[i]))
    fail(`${what}: predictions differ after reload`);
};

async function trainSaveLoad(name, layer) {
  const model = tf.sequential({ layers: [layer, tf.layers.dense({ units: 1 })] });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const t0 = performance.now();
  const history = await model.fit(xs, ys, { epochs: 12, batchSize: 32, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const loss = history.history.loss;
  if (!(loss[loss.length - 1] < 0.8 * loss[0]))
    fail(`${name}: the loss did not fall (${loss[0]} -> ${loss.at(-1)})`);
  const before = model.predict(xs);

  // tfjs's own handlers: artifacts in memory and back
  let artifacts;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const fromMemory = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  identical(before, fromMemory.predict(xs), `${name} (tf.io.fromMemory)`);

  // model.json + weights.bin in a folder
  const folder = join(dir, name.replace(/\W+/g, '-'));
  await model.save(fileIO(folder));
  const fromFiles = await tf.loadLayersModel(fileIO(folder));
  identical(before, fromFiles.predict(xs), `${name} (fileIO)`);
  console.log(
    `${name}: mse ${loss[0].toFixed(4)} -> ${loss.at(-1).toFixed(4)} in ${loss.length} epochs (${seconds.toFixed(1)} s); reloaded from memory and from files: identical predictions`,
  );
  return loss.at(-1);
}

try {
  const opts = { inputShape: [T, 1] };
  await trainSaveLoad(
    'bidirectional nBRC',
    tf.layers.bidirectional({ layer: bistableLayers.nbrc({ units: 16, seed: 1 }), ...opts }),
  );
  await trainSaveLoad(
    'bidirectional BRC',
    tf.layers.bidirectional({ layer: bistableLayers.brc({ units: 16, seed: 1 }), ...opts }),
  );
  await trainSaveLoad(
    'bidirectional GRU (tf.layers.gru)',
    tf.layers.bidirectional({ layer: tf.layers.gru({ units: 16 }), ...opts }),
  );

  // core's models take and return tf.Tensors; the user's active tfjs backend stays 'cpu'
  const model = new SequenceModel(await getBackend('cpu'), {
    cell: 'nBRC',
    inputSize: 1,
    hiddenSize: 8,
    readout: 'last',
    loss: 'mse',
    seed: 1,
  });
  const out = await model.predict(xs);
  if (!(out instanceof tf.Tensor) || out.shape.join() !== `${N},1`)
    fail('SequenceModel.predict did not return a tf.Tensor [N, 1]');
  await getBackend('tfjs-cpu');
  if (tf.getBackend() !== 'cpu') fail(`the user's tfjs backend changed to ${tf.getBackend()}`);
  // an optional peer the user did not install: its backend says what to add
  const wasm = await getBackend('tfjs-wasm').then(
    () => null,
    (err) => err.message,
  );
  if (wasm !== null && !wasm.includes('@tensorflow/tfjs-backend-wasm is not installed'))
    fail(`tfjs-wasm: ${wasm}`);
  console.log(`core with tf.Tensors: ok; tfjs-wasm without its package: ${wasm ?? 'available'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
