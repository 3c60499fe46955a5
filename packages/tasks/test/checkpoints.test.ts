import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, getBackend, SequenceModel, saveCheckpoint } from '@bistable/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BinaryAdditionConfig,
  fileCheckpointer,
  RunAborted,
  readProgress,
  runBinaryAddition,
} from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), 'bistable-tasks-'));
  dirs.push(d);
  return d;
}

const config: BinaryAdditionConfig = {
  cell: 'nBRC',
  layers: 2,
  hidden: 6,
  trainMin: 3,
  trainMax: 5,
  epochsPerLength: 1,
  trainSamples: 80,
  validSamples: 40,
  batchSize: 40,
  testMin: 3,
  testMax: 5,
  testSamples: 40,
  lr: 1e-3,
  dtype: 'float32',
  dataSeed: 1,
  modelSeed: 2,
};

describe('fileCheckpointer', () => {
  it('keeps the last epoch on disk, atomically, and a run resumed from the file ends as an uninterrupted one', async () => {
    const be = await getBackend('auto');
    const whole = await runBinaryAddition(be, config);
    const dir = await tempDir();
    const paths = { last: join(dir, 'last.safetensors'), best: join(dir, 'best.safetensors') };
    const ctl = new AbortController();
    await expect(
      runBinaryAddition(be, config, {
        checkpoints: fileCheckpointer(paths),
        signal: ctl.signal,
        onEpoch: (e) => e.epoch === 1 && ctl.abort(),
      }),
    ).rejects.toBeInstanceOf(RunAborted);
    const progress = await readProgress(paths.last);
    expect(progress?.epochs).toHaveLength(2);
    const resumed = await runBinaryAddition(be, config, { checkpoints: fileCheckpointer(paths) });
    expect(resumed).toEqual(whole);
  });

  it('refuses a checkpoint that holds no run progress', async () => {
    const be = await getBackend('reference');
    const dir = await tempDir();
    const path = join(dir, 'bare.safetensors');
    const model = new SequenceModel(be, {
      cell: 'nBRC',
      inputSize: 2,
      hiddenSize: 6,
      numLayers: 2,
      readout: 'sequence',
      loss: 'bce',
    });
    await saveCheckpoint(path, model, new Adam(be, [model]));
    await expect(
      runBinaryAddition(be, config, { checkpoints: fileCheckpointer({ last: path }) }),
    ).rejects.toThrow(/holds no run progress/);
  });
});
