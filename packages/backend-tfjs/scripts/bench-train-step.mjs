// Times one full training step (forward, backward, Adam) of the copy-first-input model on the
// tfjs backends and on core's reference backend, float32. Not a test: run it by hand after
// `pnpm --filter @bistable/backend-tfjs build`:
//   node scripts/bench-train-step.mjs [--cell nBRC] [--backends tfjs-wasm,tfjs-cpu,reference]
//                                     [--B 100] [--H 100] [--T 100] [--layers 2] [--warmup 2] [--steps 5]
import { parseArgs } from 'node:util';
import { Adam, getBackend, Rng, SequenceModel } from '@bistable/core';
import '../dist/index.js';

const { values } = parseArgs({
  options: {
    cell: { type: 'string', default: 'nBRC' },
    backends: { type: 'string', default: 'tfjs-wasm,tfjs-cpu,reference' },
    B: { type: 'string', default: '100' },
    H: { type: 'string', default: '100' },
    T: { type: 'string', default: '100' },
    layers: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    steps: { type: 'string', default: '5' },
  },
});
const [B, H, T, L, warmup, steps] = ['B', 'H', 'T', 'layers', 'warmup', 'steps'].map((k) =>
  Number(values[k]),
);

const rng = new Rng(1);
const x = Float32Array.from({ length: B * T }, () => rng.uniform() * 2 - 1);
const y = Float32Array.from({ length: B }, (_, b) => x[b * T]);
const batch = { x: { shape: [B, T, 1], data: x }, y: { shape: [B, 1], data: y } };

const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(
  `training step, ${values.cell}, B=${B} H=${H} T=${T} layers=${L} input=1, readout last, mse, Adam, float32`,
);
for (const name of values.backends.split(',')) {
  const be = await getBackend(name);
  const model = new SequenceModel(be, {
    cell: values.cell,
    inputSize: 1,
    hiddenSize: H,
    numLayers: L,
    readout: 'last',
    loss: 'mse',
    dtype: 'float32',
    seed: 1,
  });
  const opt = new Adam(be, [model]);
  const times = [];
  const cpu = [];
  let loss = 0;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    loss = (await model.lossAndGradients(batch.x, batch.y)).loss;
    await opt.step();
    await be.sync?.();
    const c = process.cpuUsage(c0);
    if (i >= warmup) {
      times.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
  }
  model.dispose();
  // wall time suffers from other processes on a busy machine; CPU time of this process less so
  console.log(
    `${name.padEnd(12)} median wall ${median(times).toFixed(0).padStart(6)} ms/step, CPU ${median(cpu).toFixed(0).padStart(6)} ms/step` +
      `  (wall min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}; loss after ${warmup + steps} steps ${loss.toFixed(4)})`,
  );
}
