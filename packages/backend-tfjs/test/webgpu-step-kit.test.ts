import { CELL_NAMES, getBackend } from '@bistable/core';
import { formatStepKitResult, runStepKit, STEP_KIT_CELL, type StepKitResult } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { logSkip, probe } from './webgpu-setup.js';

/**
 * Core's step kit on tfjs-webgpu: every WGSL step and whole-sequence kernel rendered from a
 * recipe against core's host functions in float64, on random shapes, for the four cells and the
 * kit's user-style cell. Needs a WebGPU adapter (lavapipe in CI).
 */
logSkip('step kit');

describe.skipIf(!probe.ok)('the step kit on tfjs-webgpu (float32)', () => {
  const cells = [...CELL_NAMES, STEP_KIT_CELL.name];
  let results: Promise<Map<string, StepKitResult[]>> | null = null;
  const of = async (cell: string) => {
    results ??= (async () => {
      const byCell = new Map<string, StepKitResult[]>();
      for (const r of await runStepKit(await getBackend('tfjs-webgpu'), { dtype: 'float32' }))
        byCell.set(r.cell, [...(byCell.get(r.cell) ?? []), r]);
      return byCell;
    })();
    return (await results).get(cell) ?? [];
  };

  it.each(cells)(
    '%s: step and sequence kernels match',
    async (cell) => {
      const got = await of(cell);
      expect([...new Set(got.map((r) => r.kernels))].sort()).toEqual(['sequence', 'step']);
      const failed = got.filter((r) => !r.passed).map(formatStepKitResult);
      expect(failed, failed.join('\n')).toEqual([]);
    },
    120_000,
  );
});
