import {
  Adam,
  defineCell,
  getBackend,
  KERNEL_LEVEL,
  kernelLevels,
  cellParams as p,
  probeBackend,
  registerCell,
  registeredBackends,
  SequenceModel,
} from '@bistable/core';
import { CopyFirstInput, mean } from '@bistable/tasks';
import '@bistable/backend-tfjs'; // registers tfjs-cpu, tfjs-wasm, tfjs-webgpu, …
import '@bistable/backend-gpujs'; // registers gpujs-cpu, gpujs-webasm, gpujs-headlessgl, gpujs-webgpu

// nBRC with a learned per-unit gain g on the state that feeds the candidate:
//   z = σ(x@kz + h@mz + bz),  a = 1 + tanh(x@kr + h@mr + br),  n = tanh(x@kh + a·g·h)
//   h' = z·h + (1 − z)·n
const GainNBRC = defineCell({
  name: 'GainNBRC',
  params: [
    // where each parameter sits: slot wx (P), wh (R), bx (input biases) or pw (M), and at
    // which block of H columns; each builder brings its slot's shape and torch's initialisation
    p.input('kernelz', 0),
    p.input('kernelr', 1),
    p.input('kernelh', 2),
    p.recurrent('memoryz', 0),
    p.recurrent('memoryr', 1),
    p.inputBias('bz', 0),
    p.inputBias('br', 1),
    p.pointwise('gain', 0),
  ],
  // one step of one hidden unit: P[k] = x@wx's block k (+ bias), R[k] = h@wh's block k, M[k] = pw's
  step: ({ P, R, M, h, sigmoid, tanh }) => {
    const z = sigmoid(P[0].add(R[0]));
    const a = tanh(P[1].add(R[1])).add(1);
    const n = tanh(P[2].add(a.mul(M[0].mul(h))));
    // the cache holds what the derived backward reads: z, a and n
    return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, a, n] };
  },
});
// known by name from now on: configs and checkpoints refer to it as 'GainNBRC'
registerCell(GainNBRC);

const [B, T, steps] = [16, 8, 30];
const data = new CopyFirstInput(7, T, B * steps);
// 'host', 'step' or 'sequence' by level number
const levelName = Object.fromEntries(Object.entries(KERNEL_LEVEL).map(([k, v]) => [v, k]));

for (const { name } of registeredBackends()) {
  const probe = await probeBackend(name);
  if (!probe.ok) {
    console.log(`${name}: does not start here (${probe.reason.split('\n')[0]})`);
    continue;
  }
  const backend = await getBackend(name);
  const model = new SequenceModel(backend, {
    cell: 'GainNBRC',
    inputSize: 1,
    hiddenSize: 16,
    readout: 'last',
    loss: 'mse',
    seed: 1,
  });
  const adam = new Adam(backend, [model], { lr: 0.01 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { x, y } = data.batch(Array.from({ length: B }, (_, b) => s * B + b));
    losses.push((await model.trainStep(x, y, adam)).loss);
  }
  model.dispose();
  // the highest kernel level the backend runs the cell at: 'sequence' or 'step' where it
  // renders the recipe into its own kernels, 'host' where core runs the math around its GEMM
  const top = levelName[Math.max(...kernelLevels(backend, GainNBRC))];
  console.log(
    `${name}: loss ${mean(losses.slice(0, 5)).toFixed(4)} → ${mean(losses.slice(-5)).toFixed(4)} (${top} kernels)`,
  );
}
