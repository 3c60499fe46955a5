import { Redis } from 'ioredis';
import { CliError } from '../exit-codes.js';
import { displayUrl } from './keys.js';

/** How long the first contact with Redis may take before it is reported unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A connection for BullMQ (which needs `maxRetriesPerRequest: null`: a blocked worker waits for
 * Redis to come back rather than failing its commands).
 */
export function connect(url: URL): Redis {
  return new Redis(url.href, {
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    lazyConnect: true,
  });
}

/**
 * Opens a connection and checks it answers, with no retries: an unreachable server, a refused
 * password or a wrong database is one line naming the URL, not endless reconnect noise.
 */
export async function connectChecked(url: URL): Promise<Redis> {
  const probe = new Redis(url.href, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis emits the socket's own error (ECONNREFUSED, ENOTFOUND) and rejects connect() with a
  // vaguer one; the first is the reason a user can act on
  let socketError: Error | null = null;
  probe.on('error', (err: Error) => {
    socketError ??= err;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    const reason = (socketError as Error | null)?.message || (err as Error).message || String(err);
    throw new CliError(`cannot reach Redis at ${displayUrl(url)}: ${reason}`);
  } finally {
    probe.disconnect();
  }
  const redis = connect(url);
  await redis.connect();
  return redis;
}
