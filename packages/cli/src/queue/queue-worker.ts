import { hostname } from 'node:os';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Piscina } from 'piscina';
import { describeMachine } from '../studies/provenance.js';
import type { JobOutput } from '../studies/run-job.js';
import { workerEnv } from '../studies/schedule.js';
import type { WorkerMessage } from '../studies/worker.js';
import { connect, connectChecked } from './connection.js';
import { type JobData, parseJobData } from './job-data.js';
import { displayUrl, runKeyPrefix } from './keys.js';
import type { JobProgress, JobReturn } from './progress-messages.js';

export interface QueueWorkerOptions {
  url: URL;
  queue: string;
  /** Used for jobs whose study asked for 'auto'. */
  backend: string;
  concurrency: number;
  /**
   * How long a job stays claimed by a worker that stopped answering (killed, machine gone): then
   * another worker takes it over from its last checkpoint.
   */
  lockMs: number;
  log?: (line: string) => void;
}

/** How often a run's step progress is sent to Redis (epochs and log lines go at once). */
const STEP_PROGRESS_MS = 500;

/** Errors that retrying cannot mend: bad settings, a backend this worker lacks, a model too big. */
const USER_ERRORS = new Set(['InputError', 'BackendUnavailableError', 'CliError']);

/**
 * `bistable worker`: takes a study's runs from the queue and trains each in a worker thread (so
 * this thread keeps the jobs' locks alive), with its checkpoints in Redis. Returns a function
 * that stops the worker: runs in progress are put back on the queue to resume elsewhere.
 */
export async function startQueueWorker(
  o: QueueWorkerOptions,
): Promise<{ closed: Promise<void>; stop(): Promise<void> }> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // one clear line if Redis is unreachable, before BullMQ's reconnect loop
  (await connectChecked(o.url)).disconnect();
  const me = `${hostname()} pid ${process.pid}`;
  const { Piscina } = await import('piscina');
  const pool: Piscina = new Piscina({
    filename: new URL('../studies/worker.js', import.meta.url).href,
    maxThreads: o.concurrency,
    minThreads: 1,
    idleTimeout: 60_000,
    env: workerEnv(o.concurrency),
  });
  const stopping = new AbortController();

  const processJob = async (job: Job, token?: string): Promise<JobReturn> => {
    let data: JobData;
    try {
      data = parseJobData(job.data);
    } catch (err) {
      // bad settings fail the same way on every worker: no retry, and the reason stays on the job
      const reason = `job ${job.id} rejected: ${(err as Error).message}`;
      log(reason);
      throw new UnrecoverableError(reason);
    }
    const id = data.spec.id;
    const backend = data.backend === 'auto' ? o.backend : data.backend;
    log(`[${id}] started (${data.studyLabel}), backend ${backend}, attempt ${job.attemptsMade + 1}`);
    const progress = (p: JobProgress) => job.updateProgress(p).catch(() => {});
    await progress({ kind: 'log', line: `running on ${me}, backend ${backend}` });
    const { MessageChannel } = await import('node:worker_threads');
    const { port1, port2 } = new MessageChannel();
    let lastStepSent = 0;
    port1.on('message', (m: WorkerMessage) => {
      if (m.kind === 'step') {
        const now = Date.now();
        if (now - lastStepSent < STEP_PROGRESS_MS && m.step < m.totalSteps) return;
        lastStepSent = now;
        void progress({ kind: 'step', step: m.step, totalSteps: m.totalSteps, loss: m.loss });
      } else if (m.kind === 'epoch') void progress({ kind: 'epoch', info: m.info });
      else {
        log(`[${id}] ${m.line}`);
        void progress({ kind: 'log', line: m.line });
      }
    });
    try {
      const [out] = (await pool.run(
        {
          inputs: [
            {
              spec: data.spec,
              backend,
              dir: '',
              queue: { url: o.url.href, key: runKeyPrefix(o.queue, String(job.id)) },
            },
          ],
          port: port2,
        },
        { transferList: [port2], signal: stopping.signal },
      )) as JobOutput[];
      const worker = `${me}, ${describeMachine()}`;
      log(`[${id}] done: ${out.result.steps} steps, ${out.timing?.stepsPerSecond.toFixed(2)} steps/s`);
      return { result: out.result, timing: out.timing ? { ...out.timing, worker } : null };
    } catch (err) {
      if (stopping.signal.aborted) {
        // back on the queue at once; whoever takes it resumes from the last checkpoint
        log(`[${id}] stopped; put back on the queue`);
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      const e = err as Error;
      log(`[${id}] failed: ${e.message}`);
      if (USER_ERRORS.has(e?.name)) throw new UnrecoverableError(e.message);
      throw err;
    } finally {
      port1.close();
    }
  };

  // BullMQ leaves a connection it was handed open; stop() closes it so the process can end
  const connection = connect(o.url);
  connection.on('error', () => {});
  const worker = new Worker(o.queue, processJob, {
    connection,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.lockMs,
    // each kill of a worker is one stall; a run survives many before it is given up
    maxStalledCount: 20,
  });
  worker.on('error', (err) => log(`worker: ${err.message}`));
  await worker.waitUntilReady();
  log(
    `worker ${me}: waiting for jobs on ${displayUrl(o.url)}, queue '${o.queue}', backend ${o.backend}, ${o.concurrency} at a time`,
  );
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  return {
    closed: done,
    async stop() {
      stopping.abort();
      await worker.close();
      await pool.destroy();
      await connection.quit().catch(() => connection.disconnect());
      closed();
    },
  };
}
