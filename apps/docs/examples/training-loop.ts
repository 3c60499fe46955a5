import { Adam, captureCheckpoint, fit, getBackend, restoreCheckpoint, SequenceModel } from '@bistable/core';
import { CopyFirstInput } from '@bistable/tasks';

const backend = await getBackend('auto');
const T = 5;
// datasets make any batch from the samples' indices: nothing is held in memory
const train = new CopyFirstInput(2021, T, 1024); // seed, sequence length, samples
const valid = new CopyFirstInput(2021, T, 256, 1024); // the same stream after the training samples

const options = {
  cell: 'nBRC',
  inputSize: 1,
  hiddenSize: 32,
  readout: 'last',
  loss: 'mse',
  dtype: 'float32',
} as const;
const model = new SequenceModel(backend, { ...options, seed: 1 });
const adam = new Adam(backend, [model], { lr: 0.01 });

let saved = await captureCheckpoint(model, adam, { epoch: -1 });
const history = await fit(model, adam, train, {
  epochs: 8,
  batchSize: 32,
  seed: 7, // the epoch orders: epochOrder(1024, 7, epoch)
  validationData: valid,
  schedule: { name: 'cosine', lr: 0.01, minLr: 0.001 }, // over all 8 × 32 steps
  clipNorm: 1, // rescale the gradients when their global L2 norm exceeds 1
  callbacks: {
    async onEpochEnd({ epoch, trainLoss, validLoss, lr }) {
      console.log(
        `epoch ${epoch}: lr ${lr.toFixed(5)} train ${trainLoss.toFixed(4)} valid ${validLoss?.toFixed(4)}`,
      );
      saved = await captureCheckpoint(model, adam, { epoch }); // or saveCheckpoint(path, …) in Node
      return validLoss !== undefined && validLoss < 0.05 ? 'stop' : undefined; // early stop
    },
  },
});
console.log(`${history.steps} steps, stopped early: ${history.stoppedEarly}`);
console.log(
  `valid loss: first ${history.validLoss[0].toFixed(4)}, last ${history.validLoss.at(-1)?.toFixed(4)}`,
);

// resume: restore the last epoch end's checkpoint into a fresh model, then start at the next epoch
const again = new SequenceModel(backend, { ...options, seed: 99 });
const againAdam = new Adam(backend, [again], { lr: 0.01 });
await restoreCheckpoint(saved, again, againAdam);
const lastEpoch = (saved.extra as { epoch: number }).epoch;
const rest = await fit(again, againAdam, train, {
  epochs: 10,
  initialEpoch: lastEpoch + 1,
  batchSize: 32,
  seed: 7,
  validationData: valid,
});
console.log(
  `resumed at epoch ${lastEpoch + 1}: ${rest.epochs.length} more epochs, ${rest.steps} steps in all`,
);
model.dispose();
again.dispose();
