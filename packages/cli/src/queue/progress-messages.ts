import type { EpochInfo } from '@bistable/tasks';
import type { RunResult } from '../studies/outputs.js';
import type { JobTiming } from '../studies/run-store.js';

/** What a worker reports on a job while it runs (BullMQ's job progress, relayed to the study). */
export type JobProgress =
  | { kind: 'step'; step: number; totalSteps: number; loss: number }
  | { kind: 'epoch'; info: EpochInfo }
  | { kind: 'log'; line: string };

/** A finished job's return value: what the study writes into the run's folder. */
export interface JobReturn {
  result: RunResult;
  timing: JobTiming | null;
}
