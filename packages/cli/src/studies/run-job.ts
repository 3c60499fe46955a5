import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getBackend, writeFileAtomic } from '@bistable/core';
import {
  type EpochInfo,
  fileCheckpointer,
  type RunSpec,
  runBinaryAddition,
  runCopyFirstInput,
  type StepInfo,
} from '@bistable/tasks';
import { discoverBackends } from '../discover.js';
import { exists } from './load-results.js';
import { type RunResult, readRunResult, writeRunOutputs } from './outputs.js';

export interface JobInput {
  spec: RunSpec;
  /** A concrete backend name (the main thread has resolved 'auto'). */
  backend: string;
  dir: string;
}

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
}

export interface JobOutput {
  id: string;
  result: RunResult;
  /** How fast the run went (for a run finished earlier, as measured then). */
  timing: JobTiming | null;
}

async function readTiming(dir: string): Promise<JobTiming | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'timing.json'), 'utf8')) as JobTiming;
  } catch {
    return null;
  }
}

export interface JobHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(info: EpochInfo): void;
  onLog?(line: string): void;
  signal?: AbortSignal;
}

/**
 * Runs (or resumes, or skips when finished) one run of a study into its folder: the checkpoint
 * at every epoch end, then result.json and the CSV series. Used in-process and in worker threads.
 */
export async function runJob(input: JobInput, hooks: JobHooks = {}): Promise<JobOutput> {
  const { spec, dir } = input;
  const done = await readRunResult(dir);
  if (done?.finished) return { id: spec.id, result: done, timing: await readTiming(dir) };
  await mkdir(dir, { recursive: true });
  await discoverBackends();
  const backend = await getBackend(input.backend);
  let firstStep: number | null = null;
  // a timing without its checkpoint belongs to a run that starts over
  const earlier = (await exists(join(dir, 'checkpoint.safetensors'))) ? await readTiming(dir) : null;
  const t0 = performance.now();
  let lastStep = 0;
  const timingNow = (steps: number): JobTiming => {
    const seconds = (performance.now() - t0) / 1000;
    const resumedAtStep = firstStep === null ? steps : firstStep - 1;
    return {
      backend: backend.name,
      steps: steps - resumedAtStep,
      seconds,
      stepsPerSecond: (steps - resumedAtStep) / seconds,
      resumedAtStep,
      totalSeconds: (earlier?.totalSeconds ?? 0) + seconds,
      totalSteps: steps,
      sessions: (earlier?.sessions ?? 0) + 1,
    };
  };
  const writeTiming = (t: JobTiming) =>
    writeFileAtomic(join(dir, 'timing.json'), `${JSON.stringify(t, null, 2)}\n`);
  const files = fileCheckpointer({
    last: join(dir, 'checkpoint.safetensors'),
    best: join(dir, 'best.safetensors'),
  });
  const protocolHooks = {
    ...hooks,
    checkpoints: {
      ...files,
      // the timing follows every checkpoint, so a resumed run's wall time counts what it kept
      save: async (...args: Parameters<typeof files.save>) => {
        await files.save(...args);
        await writeTiming(timingNow(lastStep));
      },
    },
    onStep: (info: StepInfo) => {
      firstStep ??= info.step;
      lastStep = info.step;
      hooks.onStep?.(info);
    },
  };
  const result: RunResult =
    spec.task === 'copy-first-input'
      ? await runCopyFirstInput(backend, spec.config, protocolHooks)
      : await runBinaryAddition(backend, spec.config, protocolHooks);
  const timing = timingNow(result.steps);
  await writeTiming(timing);
  await writeRunOutputs(dir, result);
  return { id: spec.id, result, timing };
}
