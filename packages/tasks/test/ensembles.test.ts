import { type Backend, getBackend } from '@bistable/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BinaryAdditionConfig,
  type BinaryAdditionStudy,
  type CopyFirstInputConfig,
  type CopyFirstInputStudy,
  ensembleGroups,
  planRuns,
  preset,
  RunAborted,
  runBinaryAddition,
  runBinaryAdditionEnsemble,
  runCopyFirstInput,
  runCopyFirstInputEnsemble,
  runEnsemble,
} from '../src/index.js';
import { memoryCheckpointer, tinyBinary, tinyCopy } from './helpers.js';

let be: Backend;
beforeAll(async () => {
  be = await getBackend('auto');
});

const copy: CopyFirstInputConfig = { ...tinyCopy, samples: 300, testSamples: 60, maxEpochs: 3, lr: 3e-3 };
// one shape, other lengths and seeds; run 1 stops after its first epoch (any MSE is below 10)
const copies: CopyFirstInputConfig[] = [
  copy,
  { ...copy, length: 6, dataSeed: 15, modelSeed: 16, threshold: 10 },
  { ...copy, length: 3, dataSeed: 25, modelSeed: 26 },
];

const binary: BinaryAdditionConfig = { ...tinyBinary, testMax: 5 };
const repeats: BinaryAdditionConfig[] = [0, 1, 2].map((r) => ({
  ...binary,
  dataSeed: binary.dataSeed + 10 * r,
  modelSeed: binary.modelSeed + 10 * r,
}));

describe('ensembles of study runs', () => {
  it('copy-first-input: every run of the ensemble ends as it does alone, early stops included', async () => {
    const got = await runCopyFirstInputEnsemble(be, copies);
    for (const [i, c] of copies.entries()) expect(got[i], `run ${i}`).toEqual(await runCopyFirstInput(be, c));
    expect(got[1].solvedAtEpoch).toBe(0);
    expect(got[0].epochs).toBe(3);
  });

  it('binary addition: every repeat of the ensemble ends as it does alone', async () => {
    const got = await runBinaryAdditionEnsemble(be, repeats);
    for (const [i, c] of repeats.entries())
      expect(got[i], `run ${i}`).toEqual(await runBinaryAddition(be, c));
  });

  it('resumes runs that were left at different points, each to its uninterrupted result', async () => {
    const whole = await Promise.all(repeats.map((c) => runBinaryAddition(be, c)));
    const ckpts = repeats.map(() => memoryCheckpointer());
    // run 0 stopped in the middle of L = 4 (three epochs saved), run 1 never started, run 2 finished
    const ctl = new AbortController();
    await expect(
      runBinaryAddition(be, repeats[0], {
        checkpoints: ckpts[0],
        signal: ctl.signal,
        onStep: (s) => s.step === 7 && ctl.abort(),
      }),
    ).rejects.toBeInstanceOf(RunAborted);
    expect(ckpts[0].saves).toBe(3);
    await runBinaryAddition(be, repeats[2], { checkpoints: ckpts[2] });
    const logs: string[][] = repeats.map(() => []);
    const got = await runBinaryAdditionEnsemble(
      be,
      repeats,
      ckpts.map((checkpoints, i) => ({ checkpoints, onLog: (l: string) => logs[i].push(l) })),
    );
    expect(got).toEqual(whole);
    expect(logs[0][0]).toMatch(/resumed after epoch 3/);
    expect(logs[2][0]).toMatch(/resumed after epoch 4 and 3 test lengths/);
  });

  it('an aborted ensemble keeps every run resumable from its own last checkpoint', async () => {
    const whole = await Promise.all(copies.map((c) => runCopyFirstInput(be, c)));
    const ckpts = copies.map(() => memoryCheckpointer());
    const ctl = new AbortController();
    await expect(
      runCopyFirstInputEnsemble(
        be,
        copies,
        ckpts.map((checkpoints, i) => ({
          checkpoints,
          signal: ctl.signal,
          onStep: (s: { step: number }) => i === 0 && s.step === 7 && ctl.abort(),
        })),
      ),
    ).rejects.toBeInstanceOf(RunAborted);
    expect(ckpts.map((c) => c.saves)).toEqual([1, 1, 1]);
    expect(
      await runCopyFirstInputEnsemble(
        be,
        copies,
        ckpts.map((checkpoints) => ({ checkpoints })),
      ),
    ).toEqual(whole);
  });

  it('refuses runs of different shapes or learning rates, naming what differs', async () => {
    await expect(runCopyFirstInputEnsemble(be, [copy, { ...copy, hidden: 9 }])).rejects.toThrow(
      'runs of one ensemble must train models of one shape; run 1 has hiddenSize 9, run 0 8',
    );
    await expect(runBinaryAdditionEnsemble(be, [binary, { ...binary, lr: 0.01 }])).rejects.toThrow(
      'share one Adam and so one learning rate; run 1 has lr 0.01, run 0 0.001',
    );
    const runs = planRuns({
      ...(preset('binary-addition', 'quick') as BinaryAdditionStudy),
      cells: ['GRU', 'nBRC'],
      repeats: 2,
    });
    await expect(runEnsemble(be, runs)).rejects.toThrow(
      "runs 'GRU-1L-r0' and 'nBRC-1L-r0' cannot train as one ensemble",
    );
  });

  it("groups a study's runs by shape: a cell's repeats, or a cell's lengths, at most maxMembers each", () => {
    const binaryRuns = planRuns({
      ...(preset('binary-addition', 'quick') as BinaryAdditionStudy),
      cells: ['GRU', 'nBRC'],
      layers: [1, 2],
      repeats: 3,
    });
    const ids = (groups: { id: string }[][]) => groups.map((g) => g.map((r) => r.id));
    expect(ids(ensembleGroups(binaryRuns))).toEqual([
      ['GRU-1L-r0', 'GRU-1L-r1', 'GRU-1L-r2'],
      ['nBRC-1L-r0', 'nBRC-1L-r1', 'nBRC-1L-r2'],
      ['GRU-2L-r0', 'GRU-2L-r1', 'GRU-2L-r2'],
      ['nBRC-2L-r0', 'nBRC-2L-r1', 'nBRC-2L-r2'],
    ]);
    const pairs = ids(ensembleGroups(binaryRuns, 2));
    expect(pairs.map((g) => g.length)).toEqual([2, 2, 2, 2, 1, 1, 1, 1]);
    expect(pairs[0]).toEqual(['GRU-1L-r0', 'GRU-1L-r1']);
    expect(pairs[4]).toEqual(['GRU-1L-r2']);
    const copyRuns = planRuns({
      ...(preset('copy-first-input', 'quick') as CopyFirstInputStudy),
      cells: ['BRC'],
      lengths: [5, 20],
      layers: [1],
    });
    expect(ids(ensembleGroups(copyRuns))).toEqual([['BRC-T5-1L', 'BRC-T20-1L']]);
    expect(() => ensembleGroups(copyRuns, 0)).toThrow('ensemble size');
  });
});
