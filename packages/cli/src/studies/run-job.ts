import { getBackend } from '@bistable/core';
import {
  type EpochInfo,
  type RunHooks,
  type RunSpec,
  runBinaryAddition,
  runCopyFirstInput,
  runEnsemble,
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
    const run = await trackRun(spec, store, backend.name, hooks, 1);
    const result: RunResult =
      spec.task === 'copy-first-input'
        ? await runCopyFirstInput(backend, spec.config, run.hooks)
        : await runBinaryAddition(backend, spec.config, run.hooks);
    return await run.finish(result);
  } finally {
    await store.close();
  }
}

/**
 * Runs (or resumes) runs of one shape together as one ensemble (`reproduce --ensemble`), each in
 * its own folder with its own checkpoints, timing and outputs, as runJob would leave them; runs
 * finished earlier are skipped. `hooksFor(id)` follows each run.
 */
export async function runEnsembleJob(
  inputs: readonly JobInput[],
  hooksFor: (id: string) => JobHooks,
): Promise<JobOutput[]> {
  const stores: RunStore[] = [];
  try {
    for (const input of inputs) stores.push(await openStore(input));
    const out = new Map<string, JobOutput>();
    const pending: { input: JobInput; store: RunStore }[] = [];
    for (const [i, input] of inputs.entries()) {
      const done = await stores[i].finished();
      if (done) out.set(input.spec.id, { id: input.spec.id, ...done });
      else pending.push({ input, store: stores[i] });
    }
    if (pending.length > 0) {
      await discoverBackends();
      const backend = await getBackend(inputs[0].backend, { dtype: inputs[0].spec.config.dtype });
      const runs = [];
      for (const p of pending)
        runs.push(
          await trackRun(p.input.spec, p.store, backend.name, hooksFor(p.input.spec.id), pending.length),
        );
      const results = await runEnsemble(
        backend,
        pending.map((p) => p.input.spec),
        runs.map((r) => r.hooks),
      );
      for (const [i, r] of runs.entries()) out.set(pending[i].input.spec.id, await r.finish(results[i]));
    }
    return inputs.map((i) => out.get(i.spec.id)!);
  } finally {
    for (const s of stores) await s.close();
  }
}

/**
 * A run's hooks for its protocol, with its timing written after every checkpoint, and what writes
 * its timing and outputs at the end. `members` > 1: the run trains in an ensemble of that many,
 * whose wall time it shares.
 */
async function trackRun(
  spec: RunSpec,
  store: RunStore,
  backendName: string,
  hooks: JobHooks,
  members: number,
) {
  let firstStep: number | null = null;
  // a timing without its checkpoint belongs to a run that starts over
  const earlier = (await store.hasCheckpoint()) ? await store.readTiming() : null;
  const t0 = performance.now();
  let lastStep = 0;
  const timingNow = (steps: number): JobTiming => {
    const seconds = (performance.now() - t0) / 1000;
    const resumedAtStep = firstStep === null ? steps : firstStep - 1;
    return {
      backend: backendName,
      steps: steps - resumedAtStep,
      seconds,
      stepsPerSecond: (steps - resumedAtStep) / seconds,
      resumedAtStep,
      totalSeconds: (earlier?.totalSeconds ?? 0) + seconds,
      totalSteps: steps,
      sessions: (earlier?.sessions ?? 0) + 1,
      ...(members > 1 ? { ensembleMembers: members } : {}),
    };
  };
  const files = store.checkpoints;
  const protocolHooks: RunHooks = {
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
  return {
    hooks: protocolHooks,
    async finish(result: RunResult): Promise<JobOutput> {
      const timing = timingNow(result.steps);
      await store.writeTiming(timing);
      await store.writeOutputs(result);
      return { id: spec.id, result, timing };
    },
  };
}
