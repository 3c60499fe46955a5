import { checkBinaryAdditionConfig, checkCopyFirstInputConfig, type RunSpec } from '@bistable/tasks';
import { z } from 'zod';

export const JOB_FORMAT = 'bistable-job';
export const JOB_VERSION = 1;

/** One run of a study, as a job: everything a worker on another machine needs to train it. */
export interface JobData {
  format: typeof JOB_FORMAT;
  version: typeof JOB_VERSION;
  /** The study's id (a hash of its settings): which study a queued job belongs to. */
  study: string;
  /** What the study is, for messages: `copy-first-input, preset quick, 8 runs`. */
  studyLabel: string;
  spec: RunSpec;
  /** The backend the study asked for; 'auto' lets each worker use its own --backend. */
  backend: string;
}

const Envelope = z.object({
  format: z.literal(JOB_FORMAT),
  version: z.literal(JOB_VERSION),
  study: z.string().min(1),
  studyLabel: z.string(),
  spec: z.object({
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a run id of letters, digits, . _ -'),
    task: z.enum(['copy-first-input', 'binary-addition']),
    config: z.record(z.string(), z.unknown()),
  }),
  backend: z.string().min(1),
});

/**
 * A job's data checked as the worker receives it: the envelope's shape, then the run's settings
 * by the task's own checks. A job that fails is not worth retrying; the message says why.
 */
export function parseJobData(raw: unknown): JobData {
  const parsed = Envelope.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'job data';
    throw new Error(
      `not a bistable job (format '${JOB_FORMAT}' version ${JOB_VERSION}): ${where}: ${issue?.message}`,
    );
  }
  const data = parsed.data as unknown as JobData;
  if (data.spec.task === 'copy-first-input') checkCopyFirstInputConfig(data.spec.config);
  else checkBinaryAdditionConfig(data.spec.config);
  return data;
}
