import {
  Adam,
  defineCell,
  getBackend,
  KERNEL_LEVEL,
  kernelLevels,
  type ParamSpec,
  probeBackend,
  registerCell,
  registeredBackends,
  SequenceModel,
} from '@bistable/core';
import { CopyFirstInput, mean } from '@bistable/tasks';
import '@bistable/backend-tfjs'; // registers tfjs-cpu, tfjs-wasm, tfjs-webgpu, …
import '@bistable/backend-gpujs'; // registers gpujs-cpu, gpujs-webasm, gpujs-headlessgl, gpujs-webgpu

// where each parameter sits in the packed buffers: wx (input weights), wh (recurrent weights),
// bx (input biases) or pw (per-unit vectors), and at which block of H columns
const kernel = (name: string, col: number): ParamSpec => ({
  name,
  shape: (inputSize, hiddenSize) => [inputSize, hiddenSize],
  init: { kind: 'xavierUniform' },
  slot: 'wx',
  col,
  transposed: false,
});
const memory = (name: string, col: number): ParamSpec => ({
  name,
  shape: (_inputSize, hiddenSize) => [hiddenSize, hiddenSize],
  init: { kind: 'orthogonal' },
  slot: 'wh',
  col,
  transposed: false,
});
const vector = (name: string, slot: 'bx' | 'pw', col: number, init: ParamSpec['init']): ParamSpec => ({
  name,
  shape: (_inputSize, hiddenSize) => [hiddenSize],
  init,
  slot,
  col,
  transposed: false,
});

// nBRC with a learned per-unit gain g on the state that feeds the candidate:
//   z = σ(x@kz + h@mz + bz),  a = 1 + tanh(x@kr + h@mr + br),  n = tanh(x@kh + a·g·h)
//   h' = z·h + (1 − z)·n
const GainNBRC = defineCell({
  name: 'GainNBRC',
  params: [
    kernel('kernelz', 0),
    kernel('kernelr', 1),
    kernel('kernelh', 2),
    memory('memoryz', 0),
    memory('memoryr', 1),
    vector('bz', 'bx', 0, { kind: 'zeros' }),
    vector('br', 'bx', 1, { kind: 'zeros' }),
    vector('gain', 'pw', 0, { kind: 'ones' }),
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
