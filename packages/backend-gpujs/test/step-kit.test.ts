import { CELL_NAMES, getBackend, probeBackend } from '@bistable/core';
import { formatStepKitResult, runStepKit, STEP_KIT_CELL, type StepKitResult } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { GPUJS_VARIANTS } from '../src/index.js';
import { CPU_RESIDENT } from './helpers.js';
import { PEEPHOLE } from './recipe-cell.js';

/**
 * Core's step kit on every gpu.js variant that starts here: each step (and, on the resident
 * variants, sequence) kernel rendered from a recipe against core's host functions in float64, on
 * random shapes, for the four cells, the kit's user-style cell and this package's peephole cell.
 */
const names = [CPU_RESIDENT.name, ...GPUJS_VARIANTS.map((v) => v.name)];
const cells = [...CELL_NAMES, STEP_KIT_CELL.name, PEEPHOLE.name];

for (const name of names) {
  const probe = await probeBackend(name);
  describe.skipIf(!probe.ok)(`the step kit on ${name} (float32)`, () => {
    let results: Promise<Map<string, StepKitResult[]>> | null = null;
    const of = async (cell: string) => {
      results ??= (async () => {
        const byCell = new Map<string, StepKitResult[]>();
        const be = await getBackend(name);
        for (const r of await runStepKit(be, { dtype: 'float32', extraCells: [PEEPHOLE] }))
          byCell.set(r.cell, [...(byCell.get(r.cell) ?? []), r]);
        return byCell;
      })();
      return (await results).get(cell) ?? [];
    };

    it.each(cells)('%s: every offered kernel matches', async (cell) => {
      const got = await of(cell);
      expect(got.length).toBeGreaterThan(0);
      expect(got.map((r) => r.kernels)).toContain('step');
      const failed = got.filter((r) => !r.passed).map(formatStepKitResult);
      expect(failed, failed.join('\n')).toEqual([]);
    });
  });
}
