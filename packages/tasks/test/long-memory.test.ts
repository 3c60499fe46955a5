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
    // The target is N(0, 1): predicting 0 gives 1. GRU stays at 1.03. nBRC is falling fast here,
    // so where it stands after 300 steps depends on float32 rounding: cpu backend, 2026-12-05,
    // 0.820 under Node 20 and 0.676 under Node 24 (fused multiply-adds); it goes on falling in both
    // (0.651 and 0.662 after 600 and 400 steps). The bounds leave room for that spread.
    expect(final.get('GRU')!).toBeGreaterThan(0.9);
    expect(final.get('nBRC')!).toBeLessThan(0.85);
    expect(final.get('GRU')! - final.get('nBRC')!).toBeGreaterThan(0.15);
  }, 240_000);
});
