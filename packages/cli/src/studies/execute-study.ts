import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { checkMemoryFits, getBackend, InputError } from '@bistable/core';
import { ensembleGroups, type RunSpec, runModelSize, type Study } from '@bistable/tasks';
import { discoverBackends } from '../discover.js';
import { plotResults } from '../figures/plot-dir.js';
import { displayUrl } from '../queue/keys.js';
import { loadResults } from './load-results.js';
import { manifestFor, prepareOutDir, studyId } from './out-dir.js';
import { createReporter, LogFile } from './progress.js';
import { recordInvocation } from './provenance.js';
import { executeRuns } from './schedule.js';

import { writeSummary } from './summary.js';

// the queue's client (BullMQ, ioredis) loads only for a queued study
const runQueuedStudy: typeof import('../queue/follow-study.js').runQueuedStudy = async (...args) =>
  (await import('../queue/follow-study.js')).runQueuedStudy(...args);
const preflightQueue: typeof import('../queue/follow-study.js').preflightQueue = async (...args) =>
  (await import('../queue/follow-study.js')).preflightQueue(...args);

export interface ExecuteOptions {
  command: 'train' | 'reproduce';
  preset: string;
  study: Study;
  runs: RunSpec[];
  out: string;
  backend: string;
  workers: number;
  /** Most runs of one shape trained together (`--ensemble`); undefined: each run alone. */
  ensemble?: number;
  resume: boolean;
  plot: boolean;
  json: boolean;
  /** Run through a Redis job queue instead of on this machine (`--queue`). */
  queue?: { url: URL; name: string };
}

/**
 * Resolves 'auto' once, here: an unavailable backend is a one-line error before anything runs,
 * and a run that surely cannot fit is refused before its folder or any buffer exists.
 */
async function checkedBackend(o: ExecuteOptions): Promise<string> {
  await discoverBackends();
  const be = await getBackend(o.backend, { dtype: o.study.dtype });
  const limitBytes = be.memoryLimits?.[o.study.dtype] ?? totalmem();
  if (o.ensemble === undefined) {
    for (const run of o.runs) checkMemoryFits(be, runModelSize(run), { limitBytes });
    return be.name;
  }
  // an ensemble's members hold their weights and a step's activations at once: each gets its share
  for (const group of ensembleGroups(o.runs, o.ensemble)) {
    for (const run of group) {
      try {
        checkMemoryFits(be, runModelSize(run), { limitBytes: limitBytes / group.length });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        throw new InputError(
          `an ensemble of ${group.length} runs does not fit at once (each gets 1/${group.length} of the memory): ${err.message}; use a smaller --ensemble`,
        );
      }
    }
  }
  return be.name;
}

/** How the log states `--ensemble`. */
function ensembleNote(o: ExecuteOptions): string {
  if (o.ensemble === undefined) return '';
  const groups = ensembleGroups(o.runs, o.ensemble);
  return `, as ${groups.length} ensemble(s) of ${groups.map((g) => g.length).join(', ')} runs`;
}

/**
 * The body of `train` and `reproduce`: checks the output folder, resolves the backend, runs
 * everything with progress and Ctrl-C handling, then writes the summary (and figures).
 */
export async function executeStudy(o: ExecuteOptions): Promise<Record<string, unknown>> {
  const out = resolve(o.out);
  const queueStudy = {
    id: studyId(o.study),
    label: `${o.command} ${o.study.task}, preset ${o.preset}, ${o.runs.length} runs`,
  };
  // a queued study's backend is the workers' to resolve, and its memory theirs to check; Redis
  // and the queue are checked before the results folder is touched
  if (o.queue) await preflightQueue({ url: o.queue.url, queue: o.queue.name, study: queueStudy });
  const backend = o.queue ? o.backend : await checkedBackend(o);
  const state = await prepareOutDir(out, manifestFor(o.command, o.preset, o.study, o.runs), o.resume);
  const log = new LogFile(join(out, 'log.txt'));
  log.write(
    'study',
    `${state === 'resumed' ? 'resuming' : 'starting'} ${o.command} ${o.study.task}, preset ${o.preset}, ${o.runs.length} runs, backend ${backend}, ${o.workers} worker(s)${ensembleNote(o)}`,
  );
  const ended = await recordInvocation(out, {
    backend,
    workers: o.queue ? 0 : o.workers,
    ...(o.queue ? { queue: `${displayUrl(o.queue.url)} (queue '${o.queue.name}')` } : {}),
  });
  const reporter = createReporter({ log, ids: o.runs.map((r) => r.id) });
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let outputs: Awaited<ReturnType<typeof executeRuns>>;
  try {
    outputs = o.queue
      ? await runQueuedStudy(o.runs, {
          url: o.queue.url,
          queue: o.queue.name,
          study: queueStudy,
          out,
          backend,
          reporter,
          signal: controller.signal,
        })
      : await executeRuns(o.runs, {
          out,
          backend,
          workers: o.workers,
          ensemble: o.ensemble,
          reporter,
          signal: controller.signal,
        });
  } catch (err) {
    log.write('study', `stopped: ${(err as Error).message}`);
    await ended(controller.signal.aborted ? 'interrupted' : 'failed');
    throw err;
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // before the figures, which state the wall time
  await ended('finished');
  const { runs } = await loadResults(out);
  const summary = await writeSummary(out, o.study.task, runs, new Map(outputs.map((x) => [x.id, x.timing])));
  const figures = o.plot ? await plotResults(out) : [];
  log.write(
    'study',
    `finished; summary.json${figures.length ? ` and ${figures.length} figure files` : ''} written`,
  );
  return { out, backend, preset: o.preset, ...summary, figures };
}
