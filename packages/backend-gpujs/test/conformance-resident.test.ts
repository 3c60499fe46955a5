import { CELL_NAMES, getBackend, KERNEL_LEVEL, kernelLevels } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { CPU_RESIDENT } from './helpers.js';

const golden = await loadGolden(bundledGoldenPath());
const be = await getBackend(CPU_RESIDENT.name);
const { host, step, sequence } = KERNEL_LEVEL;

// the headlessgl/webgpu code path (ropes of immutable arrays, fused level 3) checked on the cpu mode
describe(`conformance on ${be.name} (float32)`, () => {
  it('offers every level for every cell', () => {
    for (const cell of CELL_NAMES) expect(kernelLevels(be, cell)).toEqual([host, step, sequence]);
  });
  for (const c of conformanceCases(golden, be)) {
    it(`${c.id} at level ${c.level}`, async () => {
      const r = await c.run(be, 'float32');
      expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
    });
  }
});
