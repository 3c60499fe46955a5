import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@bistable/core';
import { type Checkpointer, fileCheckpointer } from '@bistable/tasks';
import { exists } from './load-results.js';
import { type RunResult, readRunResult, writeRunOutputs } from './outputs.js';

export interface JobTiming {
  backend: string;
  /** Steps taken in this session (a resumed run counts only the new ones). */
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  resumedAtStep: number;
  /**
   * Wall time and steps over every session that worked on the run, up to its last epoch end (a
   * killed session's steps after that are redone and not counted).
   */
  totalSeconds: number;
  totalSteps: number;
  sessions: number;
  /**
   * Runs trained together in the ensemble of the last session (`--ensemble`), when more than one:
   * its wall time is theirs together, not this run's alone.
   */
  ensembleMembers?: number;
  /** For a queued run: the worker that finished it (`host pid N`, and its machine). */
  worker?: string;
}

/**
 * Where one run keeps its state while it trains: a folder on this machine, or (for a queued
 * study) a store that every worker reaches. The run's code is the same either way, which is what
 * makes a queued run's result equal a local one.
 */
export interface RunStore {
  /** A run finished earlier, with its timing; null when it still has to run. */
  finished(): Promise<{ result: RunResult; timing: JobTiming | null } | null>;
  checkpoints: Checkpointer;
  hasCheckpoint(): Promise<boolean>;
  readTiming(): Promise<JobTiming | null>;
  writeTiming(t: JobTiming): Promise<void>;
  /** Keeps the finished run's outputs (a queued run hands them back to the study instead). */
  writeOutputs(result: RunResult): Promise<void>;
  close(): Promise<void>;
}

export async function readTimingFile(dir: string): Promise<JobTiming | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'timing.json'), 'utf8')) as JobTiming;
  } catch {
    return null;
  }
}

export const writeTimingFile = (dir: string, t: JobTiming) =>
  writeFileAtomic(join(dir, 'timing.json'), `${JSON.stringify(t, null, 2)}\n`);

/** A run in its own folder: checkpoint.safetensors, best.safetensors, timing.json, outputs. */
export async function fileRunStore(dir: string): Promise<RunStore> {
  await mkdir(dir, { recursive: true });
  const last = join(dir, 'checkpoint.safetensors');
  return {
    async finished() {
      const result = await readRunResult(dir);
      return result?.finished ? { result, timing: await readTimingFile(dir) } : null;
    },
    checkpoints: fileCheckpointer({ last, best: join(dir, 'best.safetensors') }),
    hasCheckpoint: () => exists(last),
    readTiming: () => readTimingFile(dir),
    writeTiming: (t) => writeTimingFile(dir, t),
    writeOutputs: (result) => writeRunOutputs(dir, result),
    close: async () => {},
  };
}
