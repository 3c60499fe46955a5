import { type Backend, getBackend, InputError } from '@bistable/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CopyFirstInputResult,
  planRuns,
  preset,
  RunAborted,
  runBinaryAddition,
  runCopyFirstInput,
} from '../src/index.js';
import { memoryCheckpointer, tinyBinary, tinyCopy } from './helpers.js';

let be: Backend;
beforeAll(async () => {
  // the fastest backend core offers here; the tasks never name one
  be = await getBackend('auto');
});

describe('copy-first-input protocol', () => {
  it('records every series of brc_pytorch, and the test loss averages all test batches', async () => {
    const r = await runCopyFirstInput(be, tinyCopy);
    expect(r.steps).toBe(40);
    expect(r.trainLoss).toHaveLength(40);
    expect(r.trainEpochLoss).toHaveLength(4);
    expect(r.validBatchLoss.map((b) => b.length)).toEqual([2, 2, 2, 2]);
    for (const [e, v] of r.validLoss.entries()) {
      expect(v).toBeCloseTo((r.validBatchLoss[e][0] + r.validBatchLoss[e][1]) / 2, 12);
    }
    r.trainEpochLoss.forEach((v, e) => {
      const steps = r.trainLoss.slice(e * 10, e * 10 + 10);
      expect(v).toBeCloseTo(steps.reduce((a, b) => a + b, 0) / 10, 12);
    });
    expect(r.finished).toBe(true);
    expect(r.solvedAtEpoch).toBeNull();
  });

  it('is deterministic for a seed', async () => {
    const a = await runCopyFirstInput(be, { ...tinyCopy, maxEpochs: 1 });
    const b = await runCopyFirstInput(be, { ...tinyCopy, maxEpochs: 1 });
    expect(b).toEqual(a);
    const c = await runCopyFirstInput(be, { ...tinyCopy, maxEpochs: 1, dataSeed: 99 });
    expect(c.trainLoss).not.toEqual(a.trainLoss);
  });

  it('resumes an aborted run from its last epoch checkpoint and ends exactly as an uninterrupted run', async () => {
    const whole = await runCopyFirstInput(be, tinyCopy);
    const ckpt = memoryCheckpointer();
    const ctl = new AbortController();
    await expect(
      runCopyFirstInput(be, tinyCopy, {
        checkpoints: ckpt,
        signal: ctl.signal,
        // abort in the middle of the third epoch: that epoch is lost, the first two are kept
        onStep: (s) => s.step === 25 && ctl.abort(),
      }),
    ).rejects.toBeInstanceOf(RunAborted);
    expect(ckpt.saves).toBe(2);
    const lines: string[] = [];
    const resumed = await runCopyFirstInput(be, tinyCopy, { checkpoints: ckpt, onLog: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/resumed after epoch 2/);
    expect(resumed).toEqual(whole);
  });

  it('refuses to resume a checkpoint saved with other settings', async () => {
    const ckpt = memoryCheckpointer();
    await runCopyFirstInput(be, { ...tinyCopy, maxEpochs: 1 }, { checkpoints: ckpt });
    await expect(
      runCopyFirstInput(be, { ...tinyCopy, maxEpochs: 1, dataSeed: 1 }, { checkpoints: ckpt }),
    ).rejects.toThrow(/other settings \(dataSeed was 5, now 1\)/);
  });

  it('resumes with another micro-batch (an execution setting) to the same losses up to rounding', async () => {
    const whole = await runCopyFirstInput(be, tinyCopy);
    const ckpt = memoryCheckpointer();
    const ctl = new AbortController();
    await expect(
      runCopyFirstInput(
        be,
        { ...tinyCopy, microBatch: 20 },
        {
          checkpoints: ckpt,
          signal: ctl.signal,
          onStep: (s) => s.step === 25 && ctl.abort(),
        },
      ),
    ).rejects.toBeInstanceOf(RunAborted);
    const resumed = await runCopyFirstInput(be, tinyCopy, { checkpoints: ckpt });
    expect(resumed.config).toEqual(tinyCopy);
    expect(resumed.steps).toBe(whole.steps);
    for (const [i, l] of resumed.trainLoss.entries())
      expect(Math.abs(l - whole.trainLoss[i])).toBeLessThan(1e-4);
    await expect(runCopyFirstInput(be, { ...tinyCopy, microBatch: 0 })).rejects.toThrow(
      /microBatch must be a positive integer/,
    );
  });

  it('rejects bad settings with a message naming them', async () => {
    await expect(runCopyFirstInput(be, { ...tinyCopy, length: 1 })).rejects.toThrow(/T >= 2/);
    await expect(runCopyFirstInput(be, { ...tinyCopy, hidden: 0 })).rejects.toThrow(
      /hidden must be a positive integer/,
    );
    await expect(runCopyFirstInput(be, { ...tinyCopy, testSamples: 600 })).rejects.toThrow(InputError);
    await expect(runCopyFirstInput(be, { ...tinyCopy, cell: 'RNN' as 'GRU' })).rejects.toThrow(
      /unknown cell 'RNN'/,
    );
  });

  it('quick preset, seed 0: nBRC and GRU solve T = 5 (test MSE < 0.1) within 300 steps', async () => {
    const study = preset('copy-first-input', 'quick');
    if (study.task !== 'copy-first-input') throw new Error('unreachable');
    study.lengths = [5];
    study.cells = ['nBRC', 'GRU'];
    const results: CopyFirstInputResult[] = [];
    for (const run of planRuns(study)) {
      if (run.task === 'copy-first-input') results.push(await runCopyFirstInput(be, run.config));
    }
    for (const r of results) {
      // measured: nBRC 0.069 after 300 steps, GRU 0.033 after 100 (PyTorch, 2 × 100: ≈0.07 and ≈0.003 at 300)
      expect(r.solvedAtStep, r.config.cell).not.toBeNull();
      expect(r.solvedAtStep!).toBeLessThanOrEqual(300);
      expect(r.validLoss.at(-1)!).toBeLessThan(0.1);
    }
  });
});

describe('binary addition protocol', () => {
  it('runs the curriculum with one optimiser, then tests every length', async () => {
    const r = await runBinaryAddition(be, tinyBinary);
    expect(r.epochs.map((e) => e.length)).toEqual([3, 3, 4, 4]);
    expect(r.steps).toBe(8);
    expect(r.trainLoss).toHaveLength(8);
    expect(r.test.map((t) => t.length)).toEqual([3, 4, 5, 6]);
    for (const e of r.epochs) {
      // 60 validation samples: accuracy is a multiple of 1/60 (all batches counted, not the last one)
      expect(Math.abs(e.validAccuracy * 60 - Math.round(e.validAccuracy * 60))).toBeLessThan(1e-9);
      expect(Math.abs(e.trainAccuracy * 100 - Math.round(e.trainAccuracy * 100))).toBeLessThan(1e-9);
    }
    expect(r.finished).toBe(true);
  });

  it('resumes exactly, from the curriculum and from the test phase', async () => {
    const whole = await runBinaryAddition(be, tinyBinary);
    for (const abortAt of ['epoch', 'test'] as const) {
      const ckpt = memoryCheckpointer();
      const ctl = new AbortController();
      const hooks = {
        checkpoints: ckpt,
        signal: ctl.signal,
        onEpoch: (e: { epoch: number }) => abortAt === 'epoch' && e.epoch === 1 && ctl.abort(),
        onLog: (l: string) => abortAt === 'test' && l.startsWith('test L=4') && ctl.abort(),
      };
      await expect(runBinaryAddition(be, tinyBinary, hooks)).rejects.toBeInstanceOf(RunAborted);
      expect(await runBinaryAddition(be, tinyBinary, { checkpoints: ckpt })).toEqual(whole);
    }
  });

  it('rejects L < 3 and inverted ranges', async () => {
    await expect(runBinaryAddition(be, { ...tinyBinary, trainMin: 2 })).rejects.toThrow(/L >= 3/);
    await expect(runBinaryAddition(be, { ...tinyBinary, testMax: 2 })).rejects.toThrow(/L >= 3/);
    await expect(runBinaryAddition(be, { ...tinyBinary, trainMax: 3, trainMin: 5 })).rejects.toThrow(/below/);
  });

  it('quick preset, seed 0: nBRC learns binary addition at the trained lengths and beyond', async () => {
    const study = preset('binary-addition', 'quick');
    if (study.task !== 'binary-addition') throw new Error('unreachable');
    study.cells = ['nBRC'];
    study.repeats = 1;
    study.testMax = 20;
    const [run] = planRuns(study);
    if (run.task !== 'binary-addition') throw new Error('unreachable');
    const r = await runBinaryAddition(be, run.config);
    // measured over 3 repeats: 1.000 at every trained length (3..10), >= 0.968 up to L = 20
    for (const t of r.test.filter((t) => t.length <= study.trainMax))
      expect(t.accuracy, `L=${t.length}`).toBeGreaterThanOrEqual(0.99);
    const beyond = r.test.filter((t) => t.length > study.trainMax);
    expect(beyond.reduce((s, t) => s + t.accuracy, 0) / beyond.length).toBeGreaterThanOrEqual(0.95);
  });
});
