import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bistableLayers } from '../src/layers/index.js';
import { fileIO } from '../src/layers/node.js';

const values = (t: tf.Tensor | tf.Tensor[] | tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
  Array.from((t as tf.Tensor).dataSync());

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'bistable-bidi-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Copy-first-input: the target is the first step of the sequence. */
function copyFirstInput(n: number, T: number) {
  const x = tf.randomUniform([n, T, 1], -1, 1, 'float32', 42);
  const y = tf.reshape(tf.slice(x, [0, 0, 0], [n, 1, 1]), [n, 1]);
  return { x, y };
}

function bidirectionalModel(T: number, args: Partial<Parameters<typeof bistableLayers.nbrc>[0]> = {}) {
  const m = tfl.sequential({
    layers: [
      tfl.layers.bidirectional({
        layer: bistableLayers.nbrc({ units: 8, seed: 7, ...args }),
        mergeMode: 'concat',
        inputShape: [T, 1],
      }),
      // seeded, so that the fit below is the same run every time
      tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  return m;
}

/** Every layer's config, as JSON holds it. */
const configs = (m: tfl.LayersModel) => JSON.parse(JSON.stringify(m.layers.map((l) => l.getConfig())));

describe('tf.layers.bidirectional over bistableLayers.nbrc', () => {
  const T = 6;
  const { x, y } = copyFirstInput(64, T);
  let model: tfl.Sequential;

  it('model.fit lowers the loss', async () => {
    model = bidirectionalModel(T);
    expect(model.outputs[0].shape).toEqual([null, 1]);
    // two directions, 7 weights each, in torch's order
    expect(model.layers[0].getWeights()).toHaveLength(14);
    const history = await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.3);
  });

  it('model.save → tf.loadLayersModel through tf.io.withSaveHandler / tf.io.fromMemory', async () => {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      }),
    );
    const topology = JSON.stringify(artifacts!.modelTopology);
    expect(topology).toContain('"class_name":"Bidirectional"');
    expect(topology).toContain('"class_name":"NBRC"');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(configs(loaded)).toEqual(configs(model));
    expect(values(loaded.predict(x))).toEqual(values(model.predict(x)));
  });

  it('model.save → tf.loadLayersModel through fileIO', async () => {
    await model.save(fileIO(join(dir, 'bidi')));
    expect((await readdir(join(dir, 'bidi'))).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(dir, 'bidi', 'model.json'), 'utf8'));
    const names = json.weightsManifest[0].weights.map((w: { name: string }) =>
      w.name.split('/').slice(-2).join('/'),
    );
    expect(names.slice(0, 7)).toEqual(
      ['kernelz', 'kernelr', 'kernelh', 'memoryz', 'memoryr', 'bz', 'br'].map(
        (n) => `${names[0].split('/')[0]}/${n}`,
      ),
    );
    const loaded = await tfl.loadLayersModel(fileIO(join(dir, 'bidi')));
    expect(configs(loaded)).toEqual(configs(model));
    expect(values(loaded.predict(x))).toEqual(values(model.predict(x)));
    // and it trains on after loading
    loaded.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
    const h = await loaded.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0, shuffle: false });
    expect(Number.isFinite((h.history.loss as number[])[0])).toBe(true);
  });

  it('each merge mode combines the forward layer and a goBackwards copy of it', () => {
    const xs = tf.randomUniform([3, 5, 2], -1, 1, 'float32', 3);
    for (const mergeMode of ['concat', 'sum', 'mul', 'ave', undefined] as const) {
      for (const returnSequences of [false, true]) {
        const bidi = tfl.layers.bidirectional({
          layer: bistableLayers.brc({ units: 4, returnSequences }),
          mergeMode: mergeMode ?? null,
        } as Parameters<typeof tfl.layers.bidirectional>[0]);
        const out = bidi.apply(xs) as tf.Tensor | tf.Tensor[];
        const weights = bidi.getWeights();
        const forward = bistableLayers.brc({ units: 4, returnSequences });
        const backward = bistableLayers.brc({ units: 4, returnSequences, goBackwards: true });
        tf.dispose([forward.apply(xs), backward.apply(xs)] as tf.Tensor[]);
        forward.setWeights(weights.slice(0, 7));
        backward.setWeights(weights.slice(7));
        const f = forward.apply(xs) as tf.Tensor;
        // the backward layer's sequence comes out in its reading order: bidirectional reverses it
        const b = returnSequences
          ? tf.reverse(backward.apply(xs) as tf.Tensor, 1)
          : (backward.apply(xs) as tf.Tensor);
        const expected =
          mergeMode === 'concat'
            ? tf.concat([f, b], -1)
            : mergeMode === 'sum'
              ? tf.add(f, b)
              : mergeMode === 'mul'
                ? tf.mul(f, b)
                : mergeMode === 'ave'
                  ? tf.mul(0.5, tf.add(f, b))
                  : null;
        if (expected) {
          expect(values(out as tf.Tensor)).toEqual(values(expected));
        } else {
          const [o1, o2] = out as tf.Tensor[];
          expect(values(o1)).toEqual(values(f));
          expect(values(o2)).toEqual(values(b));
        }
      }
    }
  });

  it('passes training to both directions (dropout acts in training only)', () => {
    const xs = tf.randomUniform([4, 5, 3], -1, 1, 'float32', 8);
    const bidi = tfl.layers.bidirectional({
      layer: bistableLayers.nbrc({ units: 4, dropout: 0.5, recurrentDropout: 0.5 }),
    }) as tfl.layers.Layer;
    const inference = values(bidi.apply(xs) as tf.Tensor);
    expect(values(bidi.apply(xs, { training: false }) as tf.Tensor)).toEqual(inference);
    expect(values(bidi.apply(xs, { training: true }) as tf.Tensor)).not.toEqual(inference);
  });
});
