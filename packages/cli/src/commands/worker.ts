import type { Command } from 'commander';
import { CliError } from '../exit-codes.js';
import { DEFAULT_QUEUE_NAME, parseQueueUrl, queueName } from '../queue/keys.js';
import { positiveInt } from '../studies/options.js';

interface WorkerOptions {
  queue: string;
  queueName: string;
  backend: string;
  concurrency: string;
  lockMs: string;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'take runs from a Redis job queue filled by `reproduce --queue` and train them here, until stopped (Ctrl-C, SIGTERM)',
    )
    .requiredOption('--queue <url>', 'the Redis server, e.g. redis://10.0.0.5:6379')
    .option('--queue-name <name>', 'the queue within Redis', DEFAULT_QUEUE_NAME)
    .option('--backend <name>', "backend for runs whose study asked for 'auto'", 'auto')
    .option('--concurrency <n>', 'runs at once on this machine, each in its own thread', '1')
    .option(
      '--lock-ms <ms>',
      'how long a run stays claimed by a worker that stopped answering (killed, machine lost) before another takes it over from its last checkpoint',
      '30000',
    )
    .action(async (o: WorkerOptions) => {
      const url = parseQueueUrl(o.queue);
      const name = queueName(o.queueName);
      const concurrency = positiveInt('--concurrency', o.concurrency);
      const lockMs = positiveInt('--lock-ms', o.lockMs);
      if (lockMs < 1000) throw new CliError(`--lock-ms must be at least 1000, got ${lockMs}`);
      const { startQueueWorker } = await import('../queue/queue-worker.js');
      const worker = await startQueueWorker({ url, queue: name, backend: o.backend, concurrency, lockMs });
      const stop = () => {
        process.stderr.write('stopping: runs in progress go back on the queue\n');
        void worker.stop();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await worker.closed;
    });
}
