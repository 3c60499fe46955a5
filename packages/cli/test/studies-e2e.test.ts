import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BinaryAdditionStudy,
  type CopyFirstInputStudy,
  type RunSpec,
  type Study,
  trailingMovingAverage,
} from '@bistable/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, start } from './cli-helpers.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

let root: string;

beforeAll(async () => {
  ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'bistable-e2e-'));
}, 120_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function waitFor(path: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await exists(path))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// 6 epochs of 40 steps; a threshold no run reaches, so every epoch runs
const TRAIN = [
  'train',
  'copy-first-input',
  '--cell',
  'nBRC',
  '--length',
  '10',
  '--hidden',
  '24',
  '--samples',
  '4100',
];
const SIZES = [
  ...TRAIN,
  '--test-samples',
  '100',
  '--batch',
  '100',
  '--epochs',
  '6',
  '--threshold',
  '1e-9',
  '--seed',
  '3',
];
const RUN = 'nBRC-T10-2L';
const result = async (out: string) =>
  JSON.parse(await readFile(join(out, 'runs', RUN, 'result.json'), 'utf8'));

describe('bistable train / plot as a child process', () => {
  let whole: Record<string, unknown>;

  beforeAll(async () => {
    const r = await start([...SIZES, '--out', join(root, 'whole'), '--json']).done;
    expect(r.code, r.err).toBe(0);
    whole = await result(join(root, 'whole'));
    const summary = JSON.parse(r.out);
    expect(summary.runs[0]).toMatchObject({ id: RUN, steps: 240, finished: true });
  }, 120_000);

  it.each(['SIGKILL', 'SIGINT'] as const)(
    'a run stopped by %s after its first epoch checkpoint resumes with --resume and ends as an uninterrupted one',
    async (signal) => {
      const out = join(root, `killed-${signal}`);
      const run = start([...SIZES, '--out', out]);
      // written right after each epoch's checkpoint
      await waitFor(join(out, 'runs', RUN, 'timing.json'));
      run.child.kill(signal);
      const stopped = await run.done;
      if (signal === 'SIGKILL') expect(stopped.signal).toBe('SIGKILL');
      else {
        expect(stopped.code).toBe(130);
        expect(stopped.err).toMatch(/interrupted; .* --resume/);
      }
      // it really stopped part-way
      expect(await exists(join(out, 'runs', RUN, 'result.json'))).toBe(false);
      const again = await start([...SIZES, '--out', out]).done;
      expect(again.code).toBe(2);
      const resumed = await start([...SIZES, '--out', out, '--resume']).done;
      expect(resumed.code, resumed.err).toBe(0);
      expect(await result(out)).toEqual(whole);
      const log = await readFile(join(out, 'log.txt'), 'utf8');
      expect(log).toMatch(/resumed after epoch [1-5] /);
      // the refused start wrote nothing; the stopped and the resumed invocations are both recorded
      const { invocations } = JSON.parse(await readFile(join(out, 'provenance.json'), 'utf8'));
      expect(invocations.map((i: { outcome: string }) => i.outcome)).toEqual([
        signal === 'SIGKILL' ? 'running' : 'interrupted',
        'finished',
      ]);
      expect(invocations[0].seconds === null).toBe(signal === 'SIGKILL');
      expect(invocations[1].command).toMatch(
        new RegExp(`(^|\\s)bistable ${[...SIZES, '--out', out, '--resume'].join(' ')}$`),
      );
      // the run's wall time covers both sessions up to the checkpoint it resumed from
      const timing = JSON.parse(await readFile(join(out, 'runs', RUN, 'timing.json'), 'utf8'));
      expect(timing).toMatchObject({ sessions: 2, totalSteps: 240 });
      expect(timing.resumedAtStep % 40).toBe(0);
      expect(timing.resumedAtStep).toBeGreaterThan(0);
      expect(timing.steps).toBe(240 - timing.resumedAtStep);
      expect(timing.totalSeconds).toBeGreaterThan(timing.seconds);
    },
    120_000,
  );

  it('SIGTERM stops a run in the middle of an epoch within seconds, not at its end', async () => {
    const out = join(root, 'long-epoch');
    // one epoch of 1 000 steps at T = 100: tens of seconds on any backend, so that a stop at the
    // epoch's end (as before) cannot pass for a prompt one, even on a loaded machine
    const args = ['train', 'copy-first-input', '--cell', 'GRU', '--length', '100', '--hidden', '64'];
    const run = start([...args, '--samples', '100100', '--test-samples', '100', '--out', out]);
    const log = join(out, 'log.txt');
    await waitFor(log);
    while (!(await readFile(log, 'utf8')).includes('Training network'))
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.err).toBe(130);
    // about 0.1 s on a quiet machine; 4.4 s seen with five processes on two cores
    expect(Date.now() - t0).toBeLessThan(10_000);
    // no epoch ended: nothing to resume from, nothing finished
    expect(await exists(join(out, 'runs', 'GRU-T100-2L', 'checkpoint.safetensors'))).toBe(false);
    const { invocations } = JSON.parse(await readFile(join(out, 'provenance.json'), 'utf8'));
    expect(invocations[0].outcome).toBe('interrupted');
  }, 60_000);

  it('plot draws the moving-average figure as SVG and PNG', async () => {
    const dir = join(root, 'whole');
    const r = await start(['plot', dir, '--json']).done;
    expect(r.code, r.err).toBe(0);
    const files: string[] = JSON.parse(r.out).figures;
    expect(files.map((f) => f.slice(dir.length))).toEqual([
      '/figures/copy-first-input.svg',
      '/figures/copy-first-input.png',
    ]);
    const svg = await readFile(files[0], 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('Training Loss of Various Recurrent Cells on Copy-First-Input Task');
    expect(svg).toContain('Gradient Iterations');
    // the figure states its date, machine, backend, wall time and command
    const { invocations } = JSON.parse(await readFile(join(dir, 'provenance.json'), 'utf8'));
    expect(invocations).toHaveLength(1);
    expect(invocations[0]).toMatchObject({ outcome: 'finished', workers: 1 });
    expect(invocations[0].machine).toMatch(/\d+ cores, \d+ GiB, .*Node v\d+/);
    expect(svg).toContain(`run ${invocations[0].started.slice(0, 10)} on`);
    expect(svg).toContain(`backend ${invocations[0].backend} · wall time`);
    expect(svg).not.toContain('not ended');
    expect(svg).toContain(`bistable ${TRAIN.slice(0, 4).join(' ')}`);
    const png = await readFile(files[1]);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // the curve drawn is the trailing moving average (window 100 for T = 10) of the per-step loss
    const ma = trailingMovingAverage(whole.trainLoss as number[], 100);
    expect(ma).toHaveLength(240);
    const csv = (await readFile(join(dir, 'runs', RUN, 'train_loss.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(241);
    expect(Number(csv[240].split(',')[1])).toBe((whole.trainLoss as number[])[239]);
  });
});

/** executeRuns (from dist, as the CLI runs it) on `reference`, quietly, into `out`. */
async function executeQuietly(
  runs: RunSpec[],
  out: string,
  o: { workers: number; ensemble?: number; backend?: string },
) {
  const { executeRuns } = await import(join(pkg, 'dist', 'studies', 'schedule.js'));
  const { LogFile, createReporter } = await import(join(pkg, 'dist', 'studies', 'progress.js'));
  const reporter = createReporter({
    log: new LogFile(join(out, 'log.txt')),
    ids: [],
    tty: false,
    quiet: true,
  });
  return (await executeRuns(runs, {
    out,
    backend: 'reference',
    ...o,
    reporter,
    signal: new AbortController().signal,
  })) as { id: string; result: unknown; timing: { ensembleMembers?: number } }[];
}

/** Every run's checkpoint in study folder `b` has the bytes of its checkpoint in `a`. */
async function expectSameCheckpoints(a: string, b: string, runs: readonly RunSpec[]) {
  for (const r of runs) {
    const [x, y] = await Promise.all(
      [a, b].map((dir) => readFile(join(dir, 'runs', r.id, 'checkpoint.safetensors'))),
    );
    expect(y.equals(x), `${b}: ${r.id}`).toBe(true);
  }
}

describe('bistable reproduce --workers', () => {
  it('runs independent runs in worker threads with the same results as one thread', async () => {
    const { planRuns, preset } = await import('@bistable/tasks');
    const study: Study = {
      ...(preset('copy-first-input', 'quick') as CopyFirstInputStudy),
      cells: ['GRU', 'nBRC'],
      lengths: [4],
      hidden: 8,
      samples: 300,
      testSamples: 100,
      maxEpochs: 2,
    };
    const runs = planRuns(study);
    const results = [];
    for (const workers of [1, 2]) {
      const outputs = await executeQuietly(runs, join(root, `workers-${workers}`), { workers });
      results.push(outputs.map((o) => o.result));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]).toHaveLength(2);
  }, 120_000);

  it("trains a study's runs of one shape as ensembles, in one thread or in workers, each to its solo result", async () => {
    const { planRuns, preset } = await import('@bistable/tasks');
    const study: Study = {
      ...(preset('binary-addition', 'quick') as BinaryAdditionStudy),
      cells: ['GRU', 'nBRC'],
      repeats: 3,
      hidden: 8,
      trainMin: 3,
      trainMax: 4,
      epochsPerLength: 2,
      trainSamples: 100,
      validSamples: 50,
      testMax: 6,
      testSamples: 50,
    };
    const runs = planRuns(study);
    const results = [];
    for (const [name, workers, ensemble] of [
      ['alone', 1, undefined],
      ['ensembles', 1, Number.POSITIVE_INFINITY],
      ['pairs-in-workers', 2, 2],
    ] as const) {
      const out = join(root, `ensemble-${name}`);
      const outputs = await executeQuietly(runs, out, { workers, ensemble });
      expect(outputs.map((o) => o.id)).toEqual(runs.map((r) => r.id));
      const members = outputs.map((o) => o.timing.ensembleMembers);
      expect(members, name).toEqual(
        ensemble === undefined
          ? runs.map(() => undefined)
          : ensemble === 2
            ? // pairs of each cell's repeats 0 and 1; each repeat 2 is left alone
              [2, 2, 2, 2, undefined, undefined]
            : runs.map(() => 3),
      );
      results.push(outputs.map((o) => o.result));
      // each run's files are its own, as a solo run leaves them
      const saved = JSON.parse(await readFile(join(out, 'runs', runs[1].id, 'result.json'), 'utf8'));
      expect(saved).toEqual(results.at(-1)![1]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    for (const name of ['ensembles', 'pairs-in-workers'])
      await expectSameCheckpoints(join(root, 'ensemble-alone'), join(root, `ensemble-${name}`), runs);
    // again in the same folder: finished runs are kept, and runs whose outputs are gone are
    // taken up from their checkpoints beside them, as one ensemble of those runs only
    const out = join(root, 'ensemble-ensembles');
    for (const r of [runs[0], runs[4]]) await rm(join(out, 'runs', r.id, 'result.json'));
    const again = await executeQuietly(runs, out, { workers: 1, ensemble: Number.POSITIVE_INFINITY });
    expect(again.map((o) => o.result)).toEqual(results[0]);
    expect(again.map((o) => o.timing.ensembleMembers)).toEqual([2, 3, 3, 3, 2, 3]);
    const log = await readFile(join(out, 'log.txt'), 'utf8');
    for (const r of [runs[0], runs[4]]) expect(log).toMatch(new RegExp(`\\[${r.id}\\] resumed after epoch`));
  }, 120_000);
});

// tfjs-webgpu where a WebGPU adapter answers (lavapipe in CI): there an ensemble's members run
// each layer's passes as one dispatch
await import('@bistable/backend-tfjs');
const webgpu = await (await import('@bistable/core')).probeBackend('tfjs-webgpu');
if (!webgpu.ok) console.log(`[tfjs-webgpu] the batched-ensemble study is skipped: ${webgpu.reason}`);

describe.skipIf(!webgpu.ok)('bistable reproduce --ensemble on tfjs-webgpu', () => {
  it('leaves every run the results and checkpoint bytes of its solo run', async () => {
    const { planRuns, preset } = await import('@bistable/tasks');
    const study: Study = {
      ...(preset('binary-addition', 'quick') as BinaryAdditionStudy),
      cells: ['GRU', 'BRC'],
      repeats: 2,
      hidden: 8,
      trainMin: 3,
      trainMax: 4,
      epochsPerLength: 1,
      trainSamples: 100,
      validSamples: 50,
      testMax: 5,
      testSamples: 50,
    };
    const runs = planRuns(study);
    const [alone, together] = [join(root, 'webgpu-alone'), join(root, 'webgpu-ensembles')];
    const a = await executeQuietly(runs, alone, { workers: 1, backend: 'tfjs-webgpu' });
    const b = await executeQuietly(runs, together, {
      workers: 1,
      backend: 'tfjs-webgpu',
      ensemble: Number.POSITIVE_INFINITY,
    });
    expect(b.map((o) => o.timing.ensembleMembers)).toEqual(runs.map(() => 2));
    expect(b.map((o) => o.result)).toEqual(a.map((o) => o.result));
    await expectSameCheckpoints(alone, together, runs);
  }, 120_000);
});
