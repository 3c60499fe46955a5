import { getBackend } from '@bistable/core';
import {
  type EpochInfo,
  type RunSpec,
  runBinaryAddition,
  runCopyFirstInput,
  type StepInfo,
} from '@bistable/tasks';
import { discoverBackends } from '../discover.js';
import type { QueueStoreRef } from '../queue/keys.js';
import type { RunResult } from './outputs.js';
import { fileRunStore, type JobTiming, type RunStore } from './run-store.js';

export type { JobTiming } from './run-store.js';

export interface JobInput {
  spec: RunSpec;
  /** A backend name, or 'auto' (resolved where the run trains). */
  backend: string;
  /** The run's folder; a queued run keeps its state in the queue's store instead. */
  dir: string;
  queue?: QueueStoreRef;
}

export interface JobOutput {
  id: string;
  result: RunResult;
  /** How fast the run went (for a run finished earlier, as measured then). */
  timing: JobTiming | null;
}

export interface JobHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(info: EpochInfo): void;
  onLog?(line: string): void;
  signal?: AbortSignal;
}

async function openStore(input: JobInput): Promise<RunStore> {
  if (!input.queue) return fileRunStore(input.dir);
  // only a queued run loads the Redis client
  const { redisRunStore } = await import('../queue/redis-run-store.js');
  return redisRunStore(input.queue);
}

/**
 * Runs (or resumes, or skips when finished) one run of a study: the checkpoint at every epoch
 * end, then its outputs. Used in-process, in worker threads and by queue workers.
 */
export async function runJob(input: JobInput, hooks: JobHooks = {}): Promise<JobOutput> {
  const { spec } = input;
  const store = await openStore(input);
  try {
    const done = await store.finished();
    if (done) return { id: spec.id, ...done };
    await discoverBackends();
    const backend = await getBackend(input.backend, { dtype: spec.config.dtype });
    let firstStep: number | null = null;
    // a timing without its checkpoint belongs to a run that starts over
    const earlier = (await store.hasCheckpoint()) ? await store.readTiming() : null;
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
    const files = store.checkpoints;
    const protocolHooks = {
      ...hooks,
      checkpoints: {
        ...files,
        // the timing follows every checkpoint, so a resumed run's wall time counts what it kept
        save: async (...args: Parameters<typeof files.save>) => {
          await files.save(...args);
          await store.writeTiming(timingNow(lastStep));
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
    await store.writeTiming(timing);
    await store.writeOutputs(result);
    return { id: spec.id, result, timing };
  } finally {
    await store.close();
  }
}
