#!/usr/bin/env node
// Times one training step (forward, MSE on the last state's readout, backward, Adam) of the
// copy-first-input model on every gpu.js mode that initialises here. Not a test: run it by hand
// after `pnpm --filter @bistable/backend-gpujs build`.
//   node scripts/bench-train-step.mjs [--cells nBRC,GRU] [--B 100] [--H 100] [--T 100] [--layers 2]
//        [--steps 3] [--backends gpujs-cpu,...] [--levels 2,3] [--golden FILE] [--json]
// --golden FILE also runs core's conformance kit (float32, every registered level) on each backend.
import { parseArgs } from 'node:util';
import { Adam, getBackend, kernelLevels, probeBackend, Rng, SequenceModel } from '@bistable/core';
import { loadGolden, runConformance } from '@bistable/core/testing';
import { GPUJS_VARIANTS } from '../dist/index.js';

const { values: o } = parseArgs({
  options: {
    cells: { type: 'string', default: 'nBRC,GRU' },
    B: { type: 'string', default: '100' },
    H: { type: 'string', default: '100' },
    T: { type: 'string', default: '100' },
    layers: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    backends: { type: 'string', default: [...GPUJS_VARIANTS.map((v) => v.name), 'reference'].join(',') },
    levels: { type: 'string', default: '' },
    golden: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const [B, H, T, L, steps] = [o.B, o.H, o.T, o.layers, o.steps].map(Number);
const rng = new Rng(7);
const x = { shape: [B, T, 1], data: Float32Array.from({ length: B * T }, () => rng.uniformIn(-1, 1)) };
const y = { shape: [B, 1], data: Float32Array.from({ length: B }, (_, b) => x.data[b * T]) };

const rows = [];
for (const name of o.backends.split(',')) {
  const probe = await probeBackend(name);
  if (!probe.ok) {
    rows.push({ backend: name, skipped: probe.reason });
    if (!o.json) console.log(`${name}: skipped (${probe.reason})`);
    continue;
  }
  const be = await getBackend(name);
  if (o.golden) {
    const t0 = performance.now();
    const results = await runConformance(await loadGolden(o.golden), be, 'float32');
    const failed = results.filter((r) => !r.passed);
    const worst = Math.max(...results.map((r) => Math.max(r.forwardError, r.gradientError)));
    const line = `${results.length - failed.length}/${results.length} conformance cases pass, worst error ${worst.toExponential(2)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
    rows.push({
      backend: name,
      conformance: line,
      failed: failed.map((r) => `${r.id} L${r.level}: ${r.worst}`),
    });
    if (!o.json)
      console.log(
        `${name}: ${line}${failed.length ? `; failed: ${failed.map((r) => `${r.id} L${r.level}`).join(', ')}` : ''}`,
      );
  }
  for (const cell of o.cells.split(',')) {
    const offered = kernelLevels(be, cell);
    const levels = o.levels ? o.levels.split(',').map(Number) : [Math.max(...offered)];
    for (const level of levels) {
      if (!offered.includes(level)) continue;
      const model = new SequenceModel(be, {
        cell,
        inputSize: 1,
        hiddenSize: H,
        numLayers: L,
        readout: 'last',
        loss: 'mse',
        dtype: 'float32',
        seed: 1,
        maxLevel: level,
      });
      const opt = new Adam(be, [model]);
      const times = [];
      let loss = Number.NaN;
      let launches = 0;
      for (let s = 0; s <= steps; s++) {
        const l0 = be.kernelLaunches ?? 0;
        const t0 = performance.now();
        ({ loss } = await model.lossAndGradients(x, y));
        await opt.step();
        await be.sync?.();
        await be.read(model.fc.bias); // the update has landed
        times.push(performance.now() - t0);
        launches = (be.kernelLaunches ?? 0) - l0;
      }
      // the first step compiles kernels; later ones are timed (median: GC pauses make the mean noisy)
      const warm = times.slice(1).sort((a, b) => a - b);
      const median = warm[Math.floor(warm.length / 2)];
      const row = {
        backend: name,
        cell,
        level,
        B,
        H,
        T,
        layers: L,
        firstStepMs: +times[0].toFixed(1),
        medianStepMs: +median.toFixed(1),
        minStepMs: +warm[0].toFixed(1),
        launchesPerStep: launches,
        loss,
      };
      rows.push(row);
      if (!o.json) {
        console.log(
          `${name} ${cell} level ${level}: first step ${row.firstStepMs} ms, then median ${row.medianStepMs} ms/step (min ${row.minStepMs}, ${warm.length} steps; ${launches} kernel launches per step; loss ${loss.toFixed(4)})`,
        );
      }
      model.dispose();
    }
  }
}
if (o.json) console.log(JSON.stringify(rows, null, 2));
process.exit(0);
