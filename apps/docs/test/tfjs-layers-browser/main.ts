// Bundled by ../tfjs-layers-browser.e2e.test.ts with Vite and run in headless Chromium: trains a
// bidirectional nBRC model and a bidirectional BRC model with model.fit, saves them with tfjs's own
// browser handlers (IndexedDB, localStorage), loads them back with tf.loadLayersModel and leaves
// what it found on window.__result.
import { BRC, bistableLayers, NBRC } from '@bistable/backend-tfjs/layers';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const T = 6;
const N = 64;

export interface RoundTrip {
  url: string;
  /** Loss per epoch of model.fit. */
  losses: number[];
  /** What tf.io.listModels reports under the URL after model.save. */
  stored: { modelTopologyBytes?: number; weightDataBytes?: number } | null;
  /** getClassName() of each layer of the loaded model, the wrapped layer's right after Bidirectional. */
  classNames: string[];
  /** The loaded Bidirectional's two directions: their classes and whether they are the package's. */
  directions: { forward: string; backward: string; packageClass: boolean };
  /** Every weight of the loaded model equals the trained one's, bit for bit. */
  weightsIdentical: boolean;
  /** The loaded model's predictions equal the trained model's, bit for bit. */
  identical: boolean;
  maxAbsDiff: number;
  predictions: number;
}

export interface PageResult {
  backend: string;
  roundTrips: RoundTrip[];
  error?: string;
}

declare global {
  interface Window {
    __result?: PageResult;
  }
}

/** The same float32 bit patterns (so -0 ≠ 0 and NaN = NaN of the same payload). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

function model(cell: 'brc' | 'nbrc'): tfl.Sequential {
  const m = tfl.sequential({
    layers: [
      tfl.layers.bidirectional({
        layer: bistableLayers[cell]({ units: 8, seed: 1 }),
        inputShape: [T, 1],
      }),
      tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  return m;
}

async function roundTrip(cell: 'brc' | 'nbrc', url: string, x: tf.Tensor, y: tf.Tensor): Promise<RoundTrip> {
  const trained = model(cell);
  const history = await trained.fit(x, y, { epochs: 12, batchSize: 16, shuffle: false, verbose: 0 });
  await trained.save(url);
  const stored = (await tf.io.listModels())[url] ?? null;
  const loaded = await tfl.loadLayersModel(url);

  const before = (trained.predict(x) as tf.Tensor).dataSync() as Float32Array;
  const after = (loaded.predict(x) as tf.Tensor).dataSync() as Float32Array;
  let maxAbsDiff = 0;
  for (let i = 0; i < before.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(before[i] - after[i]));
  const w0 = trained.getWeights();
  const w1 = loaded.getWeights();
  const weightsIdentical =
    w0.length === w1.length &&
    w0.every((w, i) => sameBits(w.dataSync() as Float32Array, w1[i].dataSync() as Float32Array));

  const classNames: string[] = [];
  for (const layer of loaded.layers) {
    classNames.push(layer.getClassName());
    const inner = (layer.getConfig() as { layer?: { className?: string } }).layer;
    if (inner?.className) classNames.push(inner.className);
  }
  // the directions are private fields of tfjs's Bidirectional
  const bidi = loaded.layers[0] as unknown as {
    forwardLayer: tfl.layers.Layer;
    backwardLayer: tfl.layers.Layer;
  };
  const cls = cell === 'nbrc' ? NBRC : BRC;
  return {
    url,
    losses: history.history.loss as number[],
    stored: stored && {
      modelTopologyBytes: stored.modelTopologyBytes,
      weightDataBytes: stored.weightDataBytes,
    },
    classNames,
    directions: {
      forward: bidi.forwardLayer.getClassName(),
      backward: bidi.backwardLayer.getClassName(),
      packageClass: bidi.forwardLayer instanceof cls && bidi.backwardLayer instanceof cls,
    },
    weightsIdentical,
    identical: sameBits(before, after),
    maxAbsDiff,
    predictions: before.length,
  };
}

async function main(): Promise<PageResult> {
  await tf.setBackend('cpu');
  // copy-first-input: T draws from N(0, 1), the target is the first (made here rather than with
  // @bistable/tasks's CopyFirstInput, whose entry reaches an import('node:fs/promises'))
  const x = tf.randomNormal([N, T, 1], 0, 1, 'float32', 2021);
  const y = tf.reshape(tf.slice(x, [0, 0, 0], [N, 1, 1]), [N, 1]);
  // a fresh browser context starts empty; this makes sure the listing below shows this run's saves
  for (const url of Object.keys(await tf.io.listModels())) await tf.io.removeModel(url);
  return {
    backend: tf.getBackend(),
    roundTrips: [
      await roundTrip('nbrc', 'indexeddb://bistable-nbrc', x, y),
      await roundTrip('brc', 'localstorage://bistable-brc', x, y),
    ],
  };
}

main().then(
  (result) => {
    window.__result = result;
    document.getElementById('status')!.textContent = 'done';
  },
  (err: unknown) => {
    console.error(err);
    window.__result = { backend: '', roundTrips: [], error: String((err as Error)?.stack ?? err) };
    document.getElementById('status')!.textContent = 'failed';
  },
);
