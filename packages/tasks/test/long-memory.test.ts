import { type Backend, getBackend } from '@bistable/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CopyFirstInputResult, planRuns, preset, runCopyFirstInput } from '../src/index.js';

let be: Backend;
beforeAll(async () => {
  be = await getBackend('auto');
});

/**
 * The paper's point, at a size CI can afford: the quick preset's T = 100 runs (the same data and
 * initial weights as `pnpm run main`), cut to their first 3 epochs (300 steps).
 */
describe('copy-first-input at T = 100 (quick preset, first 300 steps)', () => {
  it('nBRC falls clearly below the MSE of predicting 0 while GRU stays near 1', async () => {
    const study = preset('copy-first-input', 'quick');
    if (study.task !== 'copy-first-input') throw new Error('unreachable');
    study.lengths = [100];
    study.cells = ['GRU', 'nBRC'];
    study.maxEpochs = 3;
    const final = new Map<string, number>();
    for (const run of planRuns(study)) {
      if (run.task !== 'copy-first-input') continue;
      const r: CopyFirstInputResult = await runCopyFirstInput(be, run.config);
      expect(r.steps).toBe(300);
      final.set(r.config.cell, r.validLoss.at(-1)!);
    }
    // measured on the cpu backend: nBRC 0.698, GRU 1.03 (the target is N(0, 1): predicting 0 gives 1)
    expect(final.get('GRU')!).toBeGreaterThan(0.9);
    expect(final.get('nBRC')!).toBeLessThan(0.8);
    expect(final.get('GRU')! - final.get('nBRC')!).toBeGreaterThan(0.15);
  }, 240_000);
});
