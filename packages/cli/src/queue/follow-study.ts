import { join } from 'node:path';
import { writeFileAtomic } from '@bistable/core';
import { plannedSteps, type RunSpec } from '@bistable/tasks';
import { type Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { CliError, EXIT_FAILED } from '../exit-codes.js';
import { runDir } from '../studies/out-dir.js';
import { writeRunOutputs } from '../studies/outputs.js';
import type { Reporter } from '../studies/progress.js';
import type { JobOutput } from '../studies/run-job.js';
import { fileRunStore, writeTimingFile } from '../studies/run-store.js';
import { EXIT_INTERRUPTED, summaryLine } from '../studies/schedule.js';
import { connect, connectChecked } from './connection.js';
import { JOB_FORMAT, JOB_VERSION, type JobData } from './job-data.js';
import { displayUrl, jobId, runKeyPrefix, runKeys, studyKey } from './keys.js';
import type { JobProgress, JobReturn } from './progress-messages.js';

export interface QueuedStudyOptions {
  url: URL;
  queue: string;
  /** The study's id and a label for messages (which study a queue serves). */
  study: { id: string; label: string };
  out: string;
  backend: string;
  reporter: Reporter;
  signal: AbortSignal;
}

/** Every state a job can be in while BullMQ holds it. */
const ANY_STATE = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'paused',
  'completed',
  'failed',
  'waiting-children',
] as const;

/** Retries for a run that fails on a worker for reasons other than its settings (a crash, Redis). */
const ATTEMPTS = 3;

/**
 * A queue serves one study at a time: a queue still holding another study's jobs is refused, so
 * that two studies' runs (and results) never mix.
 */
async function checkQueueFree(
  redis: Redis,
  queue: Queue,
  o: Pick<QueuedStudyOptions, 'url' | 'queue' | 'study'>,
): Promise<void> {
  const text = await redis.get(studyKey(o.queue));
  const current = text ? (JSON.parse(text) as { id: string; label: string }) : null;
  if (current && current.id !== o.study.id) {
    const counts = await queue.getJobCounts(...ANY_STATE);
    const held = Object.values(counts).reduce((a, b) => a + b, 0);
    if (held > 0) {
      throw new CliError(
        `queue '${o.queue}' on ${displayUrl(o.url)} holds ${held} job(s) of another study (${current.label}); ` +
          `collect them by rerunning that study's command with --resume, or give this study its own --queue-name`,
      );
    }
  }
}

/**
 * Checks, before anything is written, that Redis answers and that the queue is free for this
 * study: an unreachable server or a busy queue is a one-line error and no results folder.
 */
export async function preflightQueue(o: Pick<QueuedStudyOptions, 'url' | 'queue' | 'study'>): Promise<void> {
  const redis = await connectChecked(o.url);
  redis.on('error', () => {});
  const queue = new Queue(o.queue, { connection: redis });
  try {
    await checkQueueFree(redis, queue, o);
  } finally {
    await queue.close().catch(() => {});
    redis.disconnect();
  }
}

/** Writes a finished job's outputs into the run's folder, result.json last as for a local run. */
async function collect(redis: Redis, dir: string, jobKey: string, value: JobReturn): Promise<void> {
  const keys = runKeys({ key: jobKey });
  const best = await redis.getBuffer(keys.best);
  if (best) await writeFileAtomic(join(dir, 'best.safetensors'), new Uint8Array(best));
  if (value.timing) await writeTimingFile(dir, value.timing);
  await writeRunOutputs(dir, value.result);
}

async function forget(redis: Redis, job: Job | undefined, jobKey: string): Promise<void> {
  const keys = runKeys({ key: jobKey });
  await redis.del(keys.checkpoint, keys.best, keys.timing);
  await job?.remove().catch(() => {});
}

/**
 * `reproduce --queue`: queues every unfinished run of a study (one job per run, never twice),
 * follows them with the same progress display as a local study, and writes each finished run
 * into its folder as it arrives. Ctrl-C stops following; the jobs go on, and the same command
 * with --resume collects them.
 */
export async function runQueuedStudy(runs: RunSpec[], o: QueuedStudyOptions): Promise<JobOutput[]> {
  const { reporter } = o;
  const redis = await connectChecked(o.url);
  redis.on('error', () => {});
  const queue = new Queue(o.queue, { connection: redis });
  const eventsConnection = connect(o.url);
  eventsConnection.on('error', () => {});
  const events = new QueueEvents(o.queue, { connection: eventsConnection });
  events.on('error', () => {});
  try {
    // checked again as it is claimed: another study may have queued since preflightQueue
    await checkQueueFree(redis, queue, o);
    await redis.set(studyKey(o.queue), JSON.stringify(o.study));
    await events.waitUntilReady();
    const byJob = new Map<string, RunSpec>();
    const outputs = new Map<string, JobOutput>();
    const waiting: { spec: RunSpec; job: Job }[] = [];
    for (const spec of runs) reporter.runStarted(spec.id, plannedSteps(spec));
    for (const spec of runs) {
      const id = jobId(o.study.id, spec.id);
      const dir = runDir(o.out, spec.id);
      const store = await fileRunStore(dir);
      const done = await store.finished();
      const existing = await queue.getJob(id);
      if (done) {
        // finished and collected earlier; a job left over from then is dropped
        if (existing) await forget(redis, existing, runKeyPrefix(o.queue, id));
        outputs.set(spec.id, { id: spec.id, ...done });
        reporter.runFinished(spec.id, summaryLine({ id: spec.id, ...done, timing: null }), done.result.steps);
        continue;
      }
      byJob.set(id, spec);
      let job = existing;
      if (job && (await job.isFailed())) {
        // a run that failed on an earlier try gets a new start (from its checkpoint, if any)
        await job.retry('failed');
        reporter.log(spec.id, 'failed on an earlier try; queued again');
      }
      if (!job) {
        const data: JobData = {
          format: JOB_FORMAT,
          version: JOB_VERSION,
          study: o.study.id,
          studyLabel: o.study.label,
          spec,
          backend: o.backend,
        };
        job = await queue.add(spec.id, data, {
          jobId: id,
          attempts: ATTEMPTS,
          backoff: { type: 'exponential', delay: 5_000 },
          removeOnComplete: false,
          removeOnFail: false,
        });
      }
      waiting.push({ spec, job });
    }
    if (waiting.length > 0) {
      process.stderr.write(
        `${waiting.length} run(s) queued on ${displayUrl(o.url)}, queue '${o.queue}'; ` +
          `they start when a worker takes them (bistable worker --queue ${displayUrl(o.url)}${o.queue === 'bistable' ? '' : ` --queue-name ${o.queue}`})\n`,
      );
    }
    events.on('progress', ({ jobId: id, data }) => {
      const spec = byJob.get(id);
      if (!spec || typeof data !== 'object' || data === null) return;
      const p = data as JobProgress;
      if (p.kind === 'step') reporter.step(spec.id, p.step, p.totalSteps, p.loss);
      else if (p.kind === 'epoch') reporter.epoch(spec.id, p.info);
      else if (p.kind === 'log') reporter.log(spec.id, p.line);
    });
    const aborted = new Promise<never>((_, reject) => {
      const stop = () =>
        reject(
          new CliError(
            `stopped following the queue; its jobs go on on the workers: rerun with --resume --out ${o.out} to collect them`,
            EXIT_INTERRUPTED,
          ),
        );
      if (o.signal.aborted) stop();
      o.signal.addEventListener('abort', stop, { once: true });
    });
    aborted.catch(() => {});
    const failures: string[] = [];
    const follow = async ({ spec, job }: { spec: RunSpec; job: Job }) => {
      try {
        const value = (await job.waitUntilFinished(events)) as JobReturn;
        const dir = runDir(o.out, spec.id);
        const key = runKeyPrefix(o.queue, String(job.id));
        await collect(redis, dir, key, value);
        await forget(redis, job, key);
        const out: JobOutput = { id: spec.id, result: value.result, timing: value.timing };
        outputs.set(spec.id, out);
        reporter.runFinished(
          spec.id,
          `${summaryLine(out)}${value.timing?.worker ? ` (${value.timing.worker})` : ''}`,
          value.result.steps,
        );
      } catch (err) {
        const reason = (err as Error).message;
        failures.push(`${spec.id}: ${reason}`);
        reporter.log(spec.id, `failed: ${reason}`);
      }
    };
    await Promise.race([Promise.all(waiting.map(follow)), aborted]);
    if (failures.length > 0) {
      throw new CliError(
        `${failures.length} run(s) failed on the workers (fix the cause and rerun with --resume): ${failures.join('; ')}`,
        EXIT_FAILED,
      );
    }
    return runs.map((r) => outputs.get(r.id)!);
  } finally {
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
    // connections handed to BullMQ stay open until closed here
    eventsConnection.disconnect();
    redis.disconnect();
  }
}
