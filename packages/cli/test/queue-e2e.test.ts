import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRuns, preset, type Study } from '@bistable/tasks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, start } from './cli-helpers.js';
import { type RedisServer, redisMissing, startRedis } from './redis-fixture.js';

/**
 * `reproduce --queue` and `bistable worker` as users run them: separate processes around a real
 * redis-server. CI installs it; without it (and outside CI) these tests skip, saying why.
 */
const missing = redisMissing();
if (missing && process.env.CI) throw new Error(`the queue tests need Redis under CI: ${missing}`);
const suite = missing ? describe.skip : describe;
if (missing) console.warn(`queue tests skipped: ${missing}`);

// 6 epochs of 40 steps per run, each long enough that a worker can be killed part-way
const STUDY = [
  'reproduce',
  'copy-first-input',
  '--preset',
  'quick',
  '--cells',
  'nBRC,GRU',
  '--lengths',
  '40',
  '--hidden',
  '32',
  '--samples',
  '4100',
  '--test-samples',
  '100',
  '--epochs',
  '6',
  '--threshold',
  '1e-9',
  '--backend',
  'cpu',
  '--seed',
  '4',
  '--no-plot',
];
const RUNS = ['nBRC-T40-2L', 'GRU-T40-2L'];
// one thread per process everywhere: two workers share two cores, and the local run matches them
const env = { ...process.env, BISTABLE_CPU_THREADS: '1' };

let root: string;
let redis: RedisServer;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => Promise<T | null | undefined> | T | null | undefined) {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > 90_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const result = async (out: string, run: string) =>
  JSON.parse(await readFile(join(out, 'runs', run, 'result.json'), 'utf8'));

suite('studies through a Redis queue', () => {
  beforeAll(async () => {
    ensureBuilt();
    root = await mkdtemp(join(tmpdir(), 'bistable-queue-'));
    redis = await startRedis();
  }, 120_000);
  afterAll(async () => {
    await redis?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('two workers, one killed with SIGKILL mid-run: every run ends once, equal to a local run', async () => {
    const local = join(root, 'local');
    const alone = await start([...STUDY, '--out', local], env).done;
    expect(alone.code, alone.err).toBe(0);

    const workers = [0, 1].map(() => start(['worker', '--queue', redis.url, '--lock-ms', '2000'], env));
    for (const w of workers)
      await until('a worker to start', () => w.output.err.includes('waiting for jobs'));
    const queued = join(root, 'queued');
    const study = start([...STUDY, '--out', queued, '--queue', redis.url, '--json'], env);

    // the first run with an epoch end in Redis (its timing follows each checkpoint): its worker
    // is killed
    const client = new Redis(redis.url);
    const key = await until('a checkpoint in Redis', async () => {
      const keys = await client.keys('bistable:bistable:run:*:timing');
      return keys[0];
    });
    const run = RUNS.find((r) => key.includes(`.${r}:`))!;
    expect(run).toBeDefined();
    const victim = workers.find((w) => w.output.err.includes(`[${run}] started`))!;
    expect(victim).toBeDefined();
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.err).not.toContain(`[${run}] done`);

    const finished = await study.done;
    expect(finished.code, finished.err).toBe(0);
    const survivor = workers.find((w) => w !== victim)!;
    survivor.child.kill('SIGTERM');
    const stopped = await survivor.done;
    expect(stopped.code, stopped.err).toBe(0);

    // each run trained to its end exactly once, and the killed one resumed on the other worker
    for (const r of RUNS) {
      const ends = [killed.err, stopped.err].join('\n').split(`[${r}] done:`).length - 1;
      expect(ends, r).toBe(1);
    }
    expect(stopped.err).toMatch(new RegExp(`\\[${run}\\] resumed after epoch [1-5] `));

    // results equal run by run; the summary lists both as finished
    for (const r of RUNS) expect(await result(queued, r), r).toEqual(await result(local, r));
    const summary = JSON.parse(finished.out);
    expect(summary.runs.map((x: { id: string; finished: boolean }) => [x.id, x.finished]).sort()).toEqual(
      RUNS.map((r) => [r, true]).sort(),
    );

    // the killed run lost at most the epoch in progress: it resumed from an epoch end at or after
    // the checkpoint seen before the kill
    const timing = JSON.parse(await readFile(join(queued, 'runs', run, 'timing.json'), 'utf8'));
    expect(timing.sessions).toBe(2);
    expect(timing.totalSteps).toBe(240);
    expect(timing.resumedAtStep).toBeGreaterThanOrEqual(40);
    expect(timing.resumedAtStep % 40).toBe(0);
    expect(timing.worker).toMatch(/pid \d+/);

    // finished jobs and their state are gone from Redis
    expect(await client.keys('bistable:bistable:run:*')).toEqual([]);
    client.disconnect();
  }, 240_000);

  it('refuses an unreachable Redis and a wrong URL in one line, writing nothing', async () => {
    const out = join(root, 'never');
    const port = redis.port === 1 ? 2 : 1; // nothing listens on port 1 here
    for (const [url, message] of [
      [
        `redis://127.0.0.1:${port}`,
        new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
      ],
      ['http://127.0.0.1:6379', /^--queue must be a redis:\/\/ or rediss:\/\/ URL, got 'http:/],
      [
        'redis://127.0.0.1:6379/x',
        /^--queue 'redis:\/\/127\.0\.0\.1:6379\/x': the path must be a database number/,
      ],
    ] as const) {
      const r = await start([...STUDY, '--out', out, '--queue', url], env).done;
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err.replace(/^bistable: /, '')).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const w = await start(['worker', '--queue', `redis://127.0.0.1:${port}`], env).done;
    expect(w.code).toBe(2);
    expect(w.err.trim().split('\n')).toHaveLength(1);
    expect(w.err).toMatch(/cannot reach Redis/);
  }, 60_000);

  it("refuses a queue that holds another study's jobs, before writing anything", async () => {
    const name = ['--queue-name', 'shared'];
    const first = start([...STUDY, '--out', join(root, 'first'), '--queue', redis.url, ...name], env);
    await until('the runs to be queued', () => first.output.err.includes('run(s) queued'));
    first.child.kill('SIGINT');
    const interrupted = await first.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.err).toMatch(/its jobs go on on the workers: rerun with --resume/);

    const other = join(root, 'other');
    const r = await start([...STUDY, '--seed', '5', '--out', other, '--queue', redis.url, ...name], env).done;
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/queue 'shared' on redis:\/\/127\.0\.0\.1:\d+ holds 2 job\(s\) of another study/);
    expect(existsSync(other)).toBe(false);

    // the first study's jobs are untouched: still two, waiting for a worker
    const queue = new Queue('shared', { connection: { host: '127.0.0.1', port: redis.port } });
    expect(await queue.getWaitingCount()).toBe(2);
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);

  it('fails a job whose settings do not validate once, with the reason, and runs nothing', async () => {
    const study = { ...preset('copy-first-input', 'quick'), cells: ['nBRC'], lengths: [5] } as Study;
    const spec = planRuns(study)[0];
    (spec.config as { hidden: number }).hidden = 0;
    const queue = new Queue('badjobs', { connection: { host: '127.0.0.1', port: redis.port } });
    const job = await queue.add(
      spec.id,
      { format: 'bistable-job', version: 1, study: 'x', studyLabel: 'hand-made', spec, backend: 'cpu' },
      { attempts: 3 },
    );
    const worker = start(['worker', '--queue', redis.url, '--queue-name', 'badjobs'], env);
    const failed = await until('the job to fail', async () =>
      (await job.isFailed()) ? await queue.getJob(job.id!) : null,
    );
    expect(failed!.attemptsMade).toBe(1);
    expect(failed!.failedReason).toMatch(/rejected: hidden must be a positive integer/);
    worker.child.kill('SIGTERM');
    const w = await worker.done;
    expect(w.code).toBe(0);
    expect(w.err).toMatch(/rejected: hidden must be a positive integer/);
    expect(w.err).not.toContain('started');
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);
});
