import { getBackend, kernelLevels } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const golden = await loadGolden(bundledGoldenPath());

// every oracle case (cells, multi-layer, Adam training steps) at every level registered there
for (const name of ['gpujs-cpu', 'gpujs-webasm']) {
  describe(`conformance on ${name} (float32)`, () => {
    it('offers levels 1 and 2 for every cell', () => {
      for (const cell of ['BRC', 'nBRC', 'GRU', 'LSTM'] as const)
        expect(kernelLevels(name, cell)).toEqual([1, 2]);
    });
    for (const c of conformanceCases(golden, name)) {
      it(`${c.id} at level ${c.level}`, async () => {
        const be = await getBackend(name);
        const r = await c.run(be, 'float32');
        expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
      });
    }
  });
}
