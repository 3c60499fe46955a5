import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../src/run.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bistable-cli-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Runs the CLI in-process; returns its exit code and what it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; err: string; out: string }> {
  const err: string[] = [];
  const out: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const w = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err.push(String(s));
    return true;
  });
  try {
    const code = await runCli(args);
    return { code, err: err.join('\n'), out: out.join('\n') };
  } finally {
    w.mockRestore();
    process.exitCode = undefined;
  }
}

describe('bad input is a one-line error and exit 2', () => {
  it.each([
    [['reproduce', 'copy-last-input', '--preset', 'quick'], /unknown task 'copy-last-input'/],
    [['reproduce', 'copy-first-input', '--cells', 'nBRC,RNN'], /unknown cell 'RNN'/],
    [['reproduce', 'copy-first-input', '--lengths', '5,1'], /T >= 2/],
    [['reproduce', 'copy-first-input', '--lengths', '5,x'], /--lengths must be a comma-separated list/],
    [['reproduce', 'binary-addition', '--lengths', '5'], /--lengths applies to copy-first-input/],
    [['reproduce', 'copy-first-input', '--hidden', '0'], /--hidden must be a positive integer/],
    [['reproduce', 'copy-first-input', '--workers', '0'], /--workers must be a positive integer/],
    [['reproduce', 'copy-first-input', '--preset', 'huge'], /unknown preset 'huge'/],
    [['reproduce', 'binary-addition', '--ensemble', '0'], /--ensemble must be a positive integer/],
    [
      ['reproduce', 'binary-addition', '--ensemble', '--queue', 'redis://127.0.0.1:1'],
      /--ensemble trains on this machine; with --queue every run is its own job/,
    ],
    [['train', 'binary-addition', '--cell', 'nBRC', '--train-lengths', '2..20'], /L >= 3/],
    [['train', 'copy-first-input', '--cell', 'nBRC', '--length', '1'], /T >= 2/],
    [
      ['train', 'copy-first-input', '--cell', 'nBRC', '--samples', '-5'],
      /--samples must be a positive integer/,
    ],
    [['train', 'copy-first-input', '--cell', 'nBRC', '--backend', 'nonesuch'], /unknown backend 'nonesuch'/],
    [['train', 'copy-first-input', '--cell', 'XYZ'], /unknown cell 'XYZ'/],
    [
      ['train', 'copy-first-input', '--cell', 'GRU', '--micro-batch', '0'],
      /--micro-batch must be a positive integer/,
    ],
    [
      ['train', 'binary-addition', '--cell', 'GRU', '--micro-batch', '1.5'],
      /--micro-batch must be a positive integer/,
    ],
    [['plot', '/nonexistent/bistable'], /not a bistable results folder/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.each([
    [
      ['--cell', 'nBRC', '--hidden', '1e9', '--length', '5'],
      /nBRC model with hidden size 1000000000: .*more than backend 'cpu' can hold \(4\.0 GiB\)/,
    ],
    [
      ['--cell', 'GRU', '--hidden', '2000', '--length', '5000', '--batch', '1000'],
      /hidden size 2000 × batch 1000 × sequence length 5000: the saved activations need .*'cpu' can hold/,
    ],
  ])('a model that cannot fit (%j) is refused before anything is written', async (args, message) => {
    const out = join(await tempDir(), 'never');
    const r = await cli(['train', 'copy-first-input', ...args, '--backend', 'cpu', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(message);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an output folder that holds another run unless --resume, and one that is not a run', async () => {
    const out = await tempDir();
    const args = [
      'train',
      'copy-first-input',
      '--cell',
      'GRU',
      '--length',
      '3',
      '--hidden',
      '4',
      '--samples',
      '60',
    ];
    const small = [...args, '--test-samples', '20', '--batch', '20', '--epochs', '1', '--out', out];
    const first = await cli(small);
    expect(first.code).toBe(0);
    const again = await cli(small);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/holds another run .* pass --resume/);
    // --resume with the same settings finds the run finished and redoes nothing
    const resumed = await cli([...small, '--resume', '--json']);
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.out);
    expect(summary.runs[0].steps).toBe(2);
    // --resume with other settings names them
    const other = await cli([...small.map((a) => (a === '4' ? '5' : a)), '--resume']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/other settings \(hidden: 4 there, 5 now\)/);
    const foreign = await tempDir();
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    const r = await cli([...small.slice(0, -1), foreign]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not empty and holds no bistable run/);
  });
});

describe('train --micro-batch', () => {
  it('trains in micro-batches to the same losses as whole batches (float64)', async () => {
    const args = ['train', 'copy-first-input', '--cell', 'BRC', '--length', '4', '--hidden', '3'];
    const sizes = [
      '--samples',
      '50',
      '--test-samples',
      '10',
      '--batch',
      '20',
      '--epochs',
      '2',
      '--dtype',
      'float64',
    ];
    const losses: number[][] = [];
    for (const extra of [[], ['--micro-batch', '7']]) {
      const out = await tempDir();
      const r = await cli([...args, ...sizes, ...extra, '--out', out]);
      expect(r.code, r.err).toBe(0);
      const [run] = await readdir(join(out, 'runs'));
      const result = JSON.parse(await readFile(join(out, 'runs', run, 'result.json'), 'utf8'));
      expect(result.config.microBatch).toBe(extra.length > 0 ? 7 : undefined);
      losses.push([...result.trainLoss, ...result.validLoss]);
    }
    expect(losses[1]).toHaveLength(losses[0].length);
    for (const [i, l] of losses[1].entries()) expect(Math.abs(l - losses[0][i])).toBeLessThan(1e-12);
  });
});
