import { getBackend, kernelLevels } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { it } from 'vitest';
import { registerGpujsBackend } from '../src/index.js';
registerGpujsBackend({ name: 'gpujs-cpu-resident', mode: 'cpu', priority: -1, storage: 'resident', sequenceKernels: true, description: 'test' });
it('print', async () => {
  const golden = await loadGolden(bundledGoldenPath());
  for (const name of (process.env.BES ?? 'gpujs-cpu-resident').split(',')) {
    const be = await getBackend(name);
    console.log(name, kernelLevels(name, 'GRU'));
    for (const c of conformanceCases(golden, name)) {
      const t0 = performance.now();
      let r;
      try { r = await c.run(be, 'float32'); } catch (e) { console.log(name, c.id, c.level, 'ERROR', (e as Error).message); continue; }
      console.log(name, c.id, c.level, r.passed, r.forwardError.toExponential(2), r.gradientError.toExponential(2), r.worst, (performance.now() - t0).toFixed(0) + 'ms');
    }
    const b = be as unknown as { compiledKernels: number; store: { liveArrays(): number } };
    console.log('kernels', b.compiledKernels, 'live arrays', b.store.liveArrays());
  }
}, 600000);
