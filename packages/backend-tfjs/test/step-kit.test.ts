import { type Backend, CELL_NAMES, getBackend } from '@bistable/core';
import { formatStepKitResult, runStepKit, STEP_KIT_CELL, type StepKitResult } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TfjsBackend } from '../src/backend.js';
import '../src/index.js';
import { tfjsOpKernels } from '../src/kernels/index.js';

/** The tfjs-op kernels (tfjs-node, tfjs-webgl) on tfjs-cpu, since neither runs here. */
async function genericOps(): Promise<Backend> {
  await tf.setBackend('cpu');
  const be = new TfjsBackend('tfjs-cpu-op-kernels', 'cpu');
  be.kernelSource = tfjsOpKernels;
  return be;
}

const runs: [string, () => Promise<Backend>][] = [
  ['tfjs-cpu', () => getBackend('tfjs-cpu')],
  ['tfjs-wasm', () => getBackend('tfjs-wasm')],
  ['the tfjs-op kernels', genericOps],
];

// every step and sequence kernel against core's host functions in float64, on random shapes,
// for the four cells and the kit's user-style cell
describe.each(runs)('the step kit on %s (float32)', (_, make) => {
  const cells = [...CELL_NAMES, STEP_KIT_CELL.name];
  let results: Promise<Map<string, StepKitResult[]>> | null = null;
  const of = async (cell: string) => {
    results ??= (async () => {
      const byCell = new Map<string, StepKitResult[]>();
      for (const r of await runStepKit(await make(), { dtype: 'float32' }))
        byCell.set(r.cell, [...(byCell.get(r.cell) ?? []), r]);
      return byCell;
    })();
    return (await results).get(cell) ?? [];
  };

  it.each(cells)('%s: both kernel pairs match', async (cell) => {
    const got = await of(cell);
    expect([...new Set(got.map((r) => r.kernels))].sort()).toEqual(['sequence', 'step']);
    const failed = got.filter((r) => !r.passed).map(formatStepKitResult);
    expect(failed, failed.join('\n')).toEqual([]);
  });
});
