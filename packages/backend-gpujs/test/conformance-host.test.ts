import { CELL_NAMES, getBackend, KERNEL_LEVEL, kernelLevels } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const golden = await loadGolden(bundledGoldenPath());
const { host, step } = KERNEL_LEVEL;

// every oracle case (cells, multi-layer, Adam training steps) at every level the backend offers
for (const name of ['gpujs-cpu', 'gpujs-webasm']) {
  const be = await getBackend(name);
  describe(`conformance on ${name} (float32)`, () => {
    it('offers the host and step levels for every cell', () => {
      for (const cell of CELL_NAMES) expect(kernelLevels(be, cell)).toEqual([host, step]);
    });
    for (const c of conformanceCases(golden, be)) {
      it(`${c.id} at level ${c.level}`, async () => {
        const r = await c.run(be, 'float32');
        expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
      });
    }
  });
}
