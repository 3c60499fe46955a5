import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@bistable/core';
import type { BinaryAdditionResult, CopyFirstInputResult } from '@bistable/tasks';
import { csv } from './csv.js';

export type RunResult = CopyFirstInputResult | BinaryAdditionResult;

export const RESULT_FILE = 'result.json';

/** Writes a run's result as JSON and every series as CSV (brc_pytorch's .npy files, readable). */
export async function writeRunOutputs(dir: string, r: RunResult): Promise<void> {
  const write = (name: string, text: string) => writeFileAtomic(join(dir, name), text);
  await write(
    'train_loss.csv',
    csv(
      ['step', 'loss'],
      r.trainLoss.map((l, i) => [i + 1, l]),
    ),
  );
  if (r.task === 'copy-first-input') {
    await write(
      'epochs.csv',
      csv(
        ['epoch', 'train_loss', 'test_loss'],
        r.validLoss.map((v, e) => [e + 1, r.trainEpochLoss[e], v]),
      ),
    );
    await write(
      'test_batch_loss.csv',
      csv(
        ['epoch', 'batch', 'loss'],
        r.validBatchLoss.flatMap((b, e) => b.map((l, i) => [e + 1, i + 1, l])),
      ),
    );
  } else {
    await write(
      'epochs.csv',
      csv(
        ['epoch', 'length', 'train_loss', 'train_accuracy', 'valid_loss', 'valid_accuracy'],
        r.epochs.map((e, i) => [i + 1, e.length, e.trainLoss, e.trainAccuracy, e.validLoss, e.validAccuracy]),
      ),
    );
    await write(
      'test.csv',
      csv(
        ['length', 'loss', 'accuracy'],
        r.test.map((t) => [t.length, t.loss, t.accuracy]),
      ),
    );
  }
  // last, so that a result.json on disk means every other file is complete
  await write(RESULT_FILE, `${JSON.stringify(r)}\n`);
}

export async function readRunResult(dir: string): Promise<RunResult | null> {
  try {
    return JSON.parse(await readFile(join(dir, RESULT_FILE), 'utf8')) as RunResult;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
