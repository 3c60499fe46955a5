import { CELL_NAMES, getBackend, KERNEL_LEVEL, kernelLevels } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const golden = await loadGolden(bundledGoldenPath());
const ALL_LEVELS = [KERNEL_LEVEL.host, KERNEL_LEVEL.step, KERNEL_LEVEL.sequence];

// every oracle case (cells, multi-layer, Adam training steps) at every level the backend offers
for (const name of ['tfjs-cpu', 'tfjs-wasm']) {
  const be = await getBackend(name);
  describe(`conformance on ${name} (float32)`, () => {
    it('offers every level for every cell', () => {
      for (const cell of CELL_NAMES) expect(kernelLevels(be, cell)).toEqual(ALL_LEVELS);
    });
    for (const c of conformanceCases(golden, be)) {
      it(`${c.id} at level ${c.level}`, async () => {
        const r = await c.run(be, 'float32');
        expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
      });
    }
  });
}
