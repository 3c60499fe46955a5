import { Adam, getBackend, SequenceModel } from '@bistable/core';
import { CopyFirstInput, mean } from '@bistable/tasks';

const backend = await getBackend('auto'); // the fastest registered backend that starts here
const [B, T, steps] = [32, 10, 200];
const data = new CopyFirstInput(2021, T, B * steps); // seed, sequence length, samples

// the paper's copy-first-input model: RNN, then a Linear readout of the last state, MSE loss
const model = new SequenceModel(backend, {
  cell: 'nBRC',
  inputSize: 1,
  hiddenSize: 32,
  numLayers: 1,
  readout: 'last',
  loss: 'mse',
  dtype: 'float32',
  seed: 1,
});
const adam = new Adam(backend, [model], { lr: 0.01 });

const losses: number[] = [];
for (let step = 0; step < steps; step++) {
  const indices = Array.from({ length: B }, (_, b) => step * B + b);
  const { x, y } = data.batch(indices);
  const { loss } = await model.trainStep(x, y, adam);
  losses.push(loss);
  if (step % 50 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}
console.log(
  `first 20 steps ${mean(losses.slice(0, 20)).toFixed(4)}, last 20 ${mean(losses.slice(-20)).toFixed(4)}`,
);
model.dispose();
