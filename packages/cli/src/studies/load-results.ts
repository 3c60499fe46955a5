import { access, readFile } from 'node:fs/promises';
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

/** How far an unfinished run got, in a folder published without checkpoints. */
export const PROGRESS_FILE = 'progress.json';

/** Whether a path exists (a missing file is an answer, not an error). */
export const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function readJsonIfAny(path: string): Promise<Record<string, unknown> | null> {
  if (!(await exists(path))) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new CliError(`'${path}' is not valid JSON`);
  }
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
    const progress = (await exists(ckpt))
      ? await readProgress(ckpt)
      : // a published folder keeps an unfinished run's progress without its checkpoint
        await readJsonIfAny(join(rd, PROGRESS_FILE));
    if (progress) runs.push({ id, result: progress as unknown as RunResult, finished: false });
  }
  return { manifest, runs };
}
