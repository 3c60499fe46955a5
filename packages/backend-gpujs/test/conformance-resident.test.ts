import { getBackend, kernelLevels } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { CPU_RESIDENT } from './helpers.js';

const golden = await loadGolden(bundledGoldenPath());
const name = CPU_RESIDENT.name;

// the headlessgl/webgpu code path (ropes of immutable arrays, fused level 3) checked on the cpu mode
describe(`conformance on ${name} (float32)`, () => {
  it('offers levels 1, 2 and 3 for every cell', () => {
    for (const cell of ['BRC', 'nBRC', 'GRU', 'LSTM'] as const)
      expect(kernelLevels(name, cell)).toEqual([1, 2, 3]);
  });
  for (const c of conformanceCases(golden, name)) {
    it(`${c.id} at level ${c.level}`, async () => {
      const be = await getBackend(name);
      const r = await c.run(be, 'float32');
      expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
    });
  }
});
