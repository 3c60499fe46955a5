import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { InputError } from '@bistable/core';
import {
  type EpochInfo,
  ensembleGroups,
  plannedSteps,
  RunAborted,
  type RunSpec,
  type StepInfo,
  stepWork,
} from '@bistable/tasks';
import { CliError, EXIT_USAGE } from '../exit-codes.js';
import { runDir } from './out-dir.js';
import type { Reporter } from './progress.js';
import { type JobInput, type JobOutput, runEnsembleJob, runJob } from './run-job.js';
import type { WorkerMessage } from './worker.js';

export interface ScheduleOptions {
  out: string;
  backend: string;
  workers: number;
  /**
   * Train runs of one shape together, at most this many to an ensemble (ensembleGroups);
   * undefined trains every run on its own.
   */
  ensemble?: number;
  reporter: Reporter;
  signal: AbortSignal;
}

/** Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export function summaryLine(o: JobOutput): string {
  const r = o.result;
  const speed = o.timing
    ? `, ${o.timing.stepsPerSecond.toFixed(2)} steps/s on ${o.timing.backend}`
    : ' (already done)';
  if (r.task === 'copy-first-input') {
    const last = r.validLoss.at(-1);
    const solved = r.solvedAtStep === null ? 'not solved' : `solved at step ${r.solvedAtStep}`;
    return `done: ${r.steps} steps, test MSE ${last?.toPrecision(4)}, ${solved}${speed}`;
  }
  const acc = r.test.map((t) => t.accuracy);
  return `done: ${r.steps} steps, test accuracy ${acc[0]?.toFixed(3)} (L=${r.config.testMin}) .. ${acc.at(-1)?.toFixed(3)} (L=${r.config.testMax})${speed}`;
}

/**
 * Core's cpu backend starts its own threads, one per core by default; with several runs at once
 * each gets its share of the cores instead (unless BISTABLE_CPU_THREADS is set).
 */
export function workerEnv(workers: number): Record<string, string | undefined> {
  if (process.env.BISTABLE_CPU_THREADS) return { ...process.env };
  const share = Math.max(1, Math.floor(availableParallelism() / workers));
  return { ...process.env, BISTABLE_CPU_THREADS: String(share) };
}

/** Errors from a worker thread arrive as plain errors; user errors keep their one-line form. */
export function asUserError(err: unknown): unknown {
  const e = err as Error;
  if (e instanceof CliError || e instanceof InputError) return e;
  if (e?.name === 'InputError' || e?.name === 'BackendUnavailableError')
    return new CliError(e.message, EXIT_USAGE);
  return err;
}

/**
 * Runs every run of a study, in this thread or in `workers` worker threads, each into its own
 * folder. Finished runs are skipped, unfinished ones resume from their checkpoint. On abort the
 * runs stop (threads are terminated) and the checkpoints on disk stay resumable.
 */
export async function executeRuns(runs: RunSpec[], opts: ScheduleOptions): Promise<JobOutput[]> {
  const { reporter, signal } = opts;
  const input = (spec: RunSpec): JobInput => ({
    spec,
    backend: opts.backend,
    dir: runDir(opts.out, spec.id),
  });
  const finish = (o: JobOutput) => {
    reporter.runFinished(o.id, summaryLine(o), o.result.steps);
    return o;
  };
  for (const spec of runs) reporter.runStarted(spec.id, plannedSteps(spec));
  // a job is one run, or the runs of one ensemble
  const jobs = opts.ensemble === undefined ? runs.map((r) => [r]) : ensembleGroups(runs, opts.ensemble);

  try {
    if (opts.workers <= 1 || jobs.length <= 1) {
      const out: JobOutput[] = [];
      for (const job of jobs) {
        const hooksFor = (id: string) => ({
          signal,
          onStep: (i: StepInfo) => reporter.step(id, i.step, i.totalSteps, i.loss),
          onEpoch: (e: EpochInfo) => reporter.epoch(id, e),
          onLog: (line: string) => reporter.log(id, line),
        });
        const outputs =
          job.length === 1
            ? [await runJob(input(job[0]), hooksFor(job[0].id))]
            : await runEnsembleJob(job.map(input), hooksFor);
        for (const o of outputs) out.push(finish(o));
      }
      return inOrder(runs, out);
    }

    const { Piscina } = await import('piscina');
    const pool = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      maxThreads: opts.workers,
      minThreads: 1,
      idleTimeout: 1000,
      env: workerEnv(opts.workers),
    });
    try {
      // longest first, so that no long job starts last and leaves the other workers idle
      const work = (job: RunSpec[]) => job.reduce((a, r) => a + stepWork(r) * plannedSteps(r), 0);
      const longestFirst = [...jobs].sort((a, b) => work(b) - work(a));
      const outputs = await Promise.all(
        longestFirst.map(async (job) => {
          const { port1, port2 } = new MessageChannel();
          port1.on('message', (m: WorkerMessage) => {
            if (m.kind === 'step') reporter.step(m.id, m.step, m.totalSteps, m.loss);
            else if (m.kind === 'epoch') reporter.epoch(m.id, m.info);
            else reporter.log(m.id, m.line);
          });
          try {
            const os = (await pool.run(
              { inputs: job.map(input), port: port2 },
              { transferList: [port2], signal },
            )) as JobOutput[];
            return os.map(finish);
          } finally {
            port1.close();
          }
        }),
      );
      return inOrder(runs, outputs.flat());
    } finally {
      await pool.destroy();
    }
  } catch (err) {
    if (signal.aborted || err instanceof RunAborted || (err as Error)?.name === 'AbortError') {
      throw new CliError(
        `interrupted; the last epoch checkpoints are kept: rerun with --resume --out ${opts.out}`,
        EXIT_INTERRUPTED,
      );
    }
    throw asUserError(err);
  }
}

/** The outputs in the study's order, whatever order the jobs ended in. */
function inOrder(runs: RunSpec[], outputs: JobOutput[]): JobOutput[] {
  const byId = new Map(outputs.map((o) => [o.id, o]));
  return runs.map((r) => byId.get(r.id)!);
}
