import { getBackend, MultiLayerRNN } from '@bistable/core';

const backend = await getBackend('reference');
const rnn = new MultiLayerRNN(backend, {
  cell: 'BRC',
  inputSize: 3,
  hiddenSize: 8,
  numLayers: 2,
  bidirectional: true,
  dtype: 'float64',
  seed: 1,
});

const [B, T] = [4, 12];
const x = { shape: [B, T, 3], data: Float64Array.from({ length: B * T * 3 }, (_, i) => Math.cos(i)) };

// batch-first by default: output [B, T, 2·8], hN [layers·2, B, 8]; the state defaults to zeros
const { output, hN } = await rnn.forward(x);
console.log('output', output.shape, 'hN', hN.shape);

// backpropagation through time from a gradient on the output (here: d(sum of outputs)/d output)
const grads = await rnn.backward({
  output: { shape: output.shape, data: new Float64Array(output.data.length).fill(1) },
});
console.log('dL/dx', grads.x?.shape, 'dL/dh0', grads.h0.shape);

// parameter gradients in torch's layout and names: cells.{k}.{name}, k = 2·layer + direction
const g = await rnn.getGradients();
console.log(Object.keys(g).slice(0, 7));
rnn.dispose();
