import type { MessagePort } from 'node:worker_threads';
import type { EpochInfo, StepInfo } from '@bistable/tasks';
import { type JobInput, type JobOutput, runEnsembleJob, runJob } from './run-job.js';

/** What the main thread hears from a worker while a run goes on. */
export type WorkerMessage =
  | { kind: 'step'; id: string; step: number; totalSteps: number; epoch: number; loss: number }
  | { kind: 'epoch'; id: string; info: EpochInfo }
  | { kind: 'log'; id: string; line: string };

/** Piscina task: one run, or the runs of one ensemble, in this thread; progress goes back over `port`. */
export default async function work(task: { inputs: JobInput[]; port: MessagePort }): Promise<JobOutput[]> {
  const { inputs, port } = task;
  const hooksFor = (id: string) => ({
    onStep: (i: StepInfo) => port.postMessage({ kind: 'step', id, ...i } satisfies WorkerMessage),
    onEpoch: (info: EpochInfo) => port.postMessage({ kind: 'epoch', id, info } satisfies WorkerMessage),
    onLog: (line: string) => port.postMessage({ kind: 'log', id, line } satisfies WorkerMessage),
  });
  try {
    return inputs.length === 1
      ? [await runJob(inputs[0], hooksFor(inputs[0].spec.id))]
      : await runEnsembleJob(inputs, hooksFor);
  } finally {
    port.close();
  }
}
