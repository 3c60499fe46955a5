import { Adam, fit, getBackend, SequenceModel } from '@bistable/core';
import { CopyFirstInput } from '@bistable/tasks';

// recall the first of T = 20 inputs: 1 600 training sequences, 400 more for the test
const T = 20;
const backend = await getBackend('auto');
const model = new SequenceModel(backend, {
  cell: 'nBRC',
  inputSize: 1,
  hiddenSize: 32,
  numLayers: 2,
  readout: 'last',
  loss: 'mse',
  seed: 1,
});
const history = await fit(model, new Adam(backend, [model], { lr: 3e-3 }), new CopyFirstInput(1, T, 1600), {
  epochs: 6,
  batchSize: 50,
  validationData: new CopyFirstInput(1, T, 400, 1600),
});
console.log(`${backend.name}: test MSE per epoch`, history.validLoss.map((l) => l.toFixed(3)).join(' '));
model.dispose();
