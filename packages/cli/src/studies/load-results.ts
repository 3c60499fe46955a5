import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { readProgress } from '@bistable/tasks';
import { CliError } from '../exit-codes.js';
import { type Manifest, readManifest, runDir } from './out-dir.js';
import { type RunResult, readRunResult } from './outputs.js';

export interface LoadedRun {
  id: string;
  result: RunResult;
  /** False for a run still going (its state comes from the last checkpoint). */
  finished: boolean;
}

/** The manifest and every run's result (or, for an unfinished run, its last checkpoint's progress). */
export async function loadResults(dir: string): Promise<{ manifest: Manifest; runs: LoadedRun[] }> {
  const manifest = await readManifest(dir);
  if (!manifest) throw new CliError(`'${dir}' is not a bistable results folder (it has no study.json)`);
  const runs: LoadedRun[] = [];
  for (const id of manifest.runs) {
    const rd = runDir(dir, id);
    const done = await readRunResult(rd);
    if (done) {
      runs.push({ id, result: done, finished: done.finished });
      continue;
    }
    const ckpt = join(rd, 'checkpoint.safetensors');
    const exists = await access(ckpt).then(
      () => true,
      () => false,
    );
    if (!exists) continue;
    const progress = await readProgress(ckpt);
    if (progress) runs.push({ id, result: progress as unknown as RunResult, finished: false });
  }
  return { manifest, runs };
}
