import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledGoldenPath, type GoldenTensor, loadGolden, worstError } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BistableRecurrentCell, NeuromodulatedBistableRecurrentCell } from '../src/layers/index.js';
import { fileIO } from '../src/layers/node.js';

const golden = await loadGolden(bundledGoldenPath());
const tensor = (t: GoldenTensor) => tf.tensor(t.data, t.shape, 'float32');
const makeCell = (kind: string, units: number) =>
  kind === 'BRC' ? new BistableRecurrentCell({ units }) : new NeuromodulatedBistableRecurrentCell({ units });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('BRC and nBRC as tfjs-layers cells reproduce the oracle', () => {
  for (const id of ['BRC_1', 'BRC_2', 'nBRC_1', 'nBRC_2']) {
    it(`${id}: h_seq of tf.layers.rnn with the oracle's weights`, () => {
      const g = golden.cells.find((c) => c.id === id)!;
      const layer = tfl.layers.rnn({ cell: makeCell(g.cell, g.hidden_size), returnSequences: true });
      const x = tensor(g.x);
      const h0 = tensor(g.h0);
      tf.dispose(layer.apply(x, { initialState: [h0] }) as tf.Tensor); // builds the weights
      layer.setWeights(g.param_names.map((n) => tensor(g.params[n])));
      const out = layer.apply(x, { initialState: [h0] }) as tf.Tensor;
      expect(out.shape).toEqual(g.h_seq.shape);
      expect(worstError(out.dataSync(), g.h_seq.data)).toBeLessThan(1e-5);
      tf.dispose([x, h0, out]);
    });
  }

  it('MLB_BRC_2layer: two BRC cells in tf.layers.stackedRNNCells match the two-layer oracle', () => {
    const g = golden.multilayer.find((c) => c.id === 'MLB_BRC_2layer')!;
    const H = g.hidden_size;
    const cell = tfl.layers.stackedRNNCells({ cells: [makeCell('BRC', H), makeCell('BRC', H)] });
    const layer = tfl.layers.rnn({ cell, returnSequences: true });
    const x = tensor(g.x);
    const [h0a, h0b] = tf.unstack(tensor(g.h0));
    // stacked cells keep their states last cell first
    const state = { initialState: [h0b, h0a] };
    tf.dispose(layer.apply(x, state) as tf.Tensor);
    layer.setWeights(g.param_names.map((n) => tensor(g.params[n])));
    const out = layer.apply(x, state) as tf.Tensor;
    expect(worstError(out.dataSync(), g.output.data)).toBeLessThan(1e-5);
  });
});

/** Copy-first-input: the target is the first step of the sequence. */
function copyFirstInput(n: number, T: number) {
  const x = tf.randomUniform([n, T, 1], -1, 1, 'float32', 42);
  const y = tf.reshape(tf.slice(x, [0, 0, 0], [n, 1, 1]), [n, 1]);
  return { x, y };
}

function model(T: number) {
  const m = tfl.sequential({
    layers: [
      tfl.layers.rnn({
        cell: tfl.layers.stackedRNNCells({
          cells: [
            new BistableRecurrentCell({ units: 8, seed: 1 }),
            new NeuromodulatedBistableRecurrentCell({ units: 8, seed: 2 }),
          ],
        }),
        inputShape: [T, 1],
      }),
      // seeded, so that the fit below is the same run every time
      tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  return m;
}

describe('training and saving', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bistable-layers-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('model.fit lowers the loss on copy-first-input; save and load give the same predictions', async () => {
    const T = 5;
    const { x, y } = copyFirstInput(64, T);
    const m = model(T);
    const history = await m.fit(x, y, { epochs: 40, batchSize: 16, verbose: 0, shuffle: false });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.3);

    const saved = await m.save(fileIO(join(dir, 'cfi')));
    expect(saved.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
    expect((await readdir(join(dir, 'cfi'))).sort()).toEqual(['model.json', 'weights.bin']);

    const loaded = await tfl.loadLayersModel(fileIO(join(dir, 'cfi')));
    const cellConfig = (loaded.layers[0].getConfig().cell as tf.serialization.ConfigDict).config as {
      cells: { className: string; config: { units: number } }[];
    };
    expect(cellConfig.cells.map((c) => c.className)).toEqual([
      'BistableRecurrentCell',
      'NeuromodulatedBistableRecurrentCell',
    ]);
    expect(cellConfig.cells.map((c) => c.config.units)).toEqual([8, 8]);
    const a = (m.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('loading a directory without a model says so', async () => {
    await expect(tfl.loadLayersModel(fileIO(join(dir, 'nothing-here')))).rejects.toThrow(
      /cannot read model .*ENOENT/,
    );
  });
});
