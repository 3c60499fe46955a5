import type { MessagePort } from 'node:worker_threads';
import { type JobInput, type JobOutput, runJob } from './run-job.js';

/** What the main thread hears from a worker while a run goes on. */
export type WorkerMessage =
  | { kind: 'step'; id: string; step: number; totalSteps: number; epoch: number; loss: number }
  | { kind: 'epoch'; id: string; info: import('@bistable/tasks').EpochInfo }
  | { kind: 'log'; id: string; line: string };

/** Piscina task: one run in this thread; progress goes back over `port`. */
export default async function work(task: { input: JobInput; port: MessagePort }): Promise<JobOutput> {
  const { input, port } = task;
  const id = input.spec.id;
  try {
    return await runJob(input, {
      onStep: (i) => port.postMessage({ kind: 'step', id, ...i } satisfies WorkerMessage),
      onEpoch: (info) => port.postMessage({ kind: 'epoch', id, info } satisfies WorkerMessage),
      onLog: (line) => port.postMessage({ kind: 'log', id, line } satisfies WorkerMessage),
    });
  } finally {
    port.close();
  }
}
