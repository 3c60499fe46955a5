import { CliError } from '../exit-codes.js';

/** The queue every study uses unless --queue-name says otherwise. */
export const DEFAULT_QUEUE_NAME = 'bistable';

/** BullMQ's own keys live under `bull:<queue>:`; bistable's run state beside them. */
const PREFIX = 'bistable';

/** What a worker thread needs to reach a run's state in Redis (plain data: it crosses threads). */
export interface QueueStoreRef {
  url: string;
  /** Key prefix of this run's state, e.g. `bistable:<queue>:run:<job id>`. */
  key: string;
}

export const runKeys = (ref: Pick<QueueStoreRef, 'key'>) => ({
  checkpoint: `${ref.key}:checkpoint`,
  best: `${ref.key}:best`,
  timing: `${ref.key}:timing`,
});

export const runKeyPrefix = (queue: string, jobId: string) => `${PREFIX}:${queue}:run:${jobId}`;

/** Which study a queue is serving: set by the first `reproduce --queue`, checked by the next. */
export const studyKey = (queue: string) => `${PREFIX}:${queue}:study`;

/** A job's id: the study's id and the run's, so that a run is never queued twice. */
export const jobId = (studyId: string, runId: string) => `${studyId}.${runId}`;

/**
 * `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS), checked before any
 * connection so that a typo is a one-line error, not a minute of reconnecting.
 */
export function parseQueueUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--queue must be a Redis URL like redis://127.0.0.1:6379, got '${text}'`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new CliError(
      `--queue must be a redis:// or rediss:// URL, got '${text}' (protocol '${url.protocol.replace(/:$/, '')}')`,
    );
  }
  if (!url.hostname) throw new CliError(`--queue '${text}' names no host`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new CliError(`--queue '${text}': the path must be a database number, got '/${db}'`);
  return url;
}

/** The URL with its password hidden, for messages and logs. */
export function displayUrl(url: URL): string {
  if (!url.password) return url.href.replace(/\/$/, '');
  const shown = new URL(url.href);
  shown.password = '***';
  return shown.href.replace(/\/$/, '');
}

export function queueName(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(text))
    throw new CliError(
      `--queue-name must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got '${text}'`,
    );
  return text;
}
