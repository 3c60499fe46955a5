import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, getBackend, loadCheckpoint, SequenceModel, saveCheckpoint } from '@bistable/core';
import { CopyFirstInput } from '@bistable/tasks';

const backend = await getBackend('reference');
const options = {
  cell: 'BRC',
  inputSize: 1,
  hiddenSize: 16,
  readout: 'last',
  loss: 'mse',
  dtype: 'float32',
} as const;
const data = new CopyFirstInput(7, 8, 64);
const { x, y } = data.batch(Array.from({ length: 16 }, (_, i) => i));

const model = new SequenceModel(backend, { ...options, seed: 1 });
const adam = new Adam(backend, [model], { lr: 0.01 });
for (let step = 0; step < 5; step++) {
  await model.lossAndGradients(x, y);
  await adam.step();
}

// one safetensors file: parameters, Adam's moments and step, and anything JSON you add
const path = join(mkdtempSync(join(tmpdir(), 'bistable-')), 'brc.safetensors');
await saveCheckpoint(path, model, adam, { epoch: 1 });

// a model of the same configuration (any seed) picks up exactly where the first one stopped
const resumed = new SequenceModel(backend, { ...options, seed: 99 });
const resumedAdam = new Adam(backend, [resumed], { lr: 0.01 });
const saved = await loadCheckpoint(path, resumed, resumedAdam);
console.log('extra', saved.extra, 'optimizer step', resumedAdam.stepCount);

const before = await model.predict(x);
const after = await resumed.predict(x);
console.log(
  'same predictions:',
  before.data.every((v, i) => v === after.data[i]),
);
