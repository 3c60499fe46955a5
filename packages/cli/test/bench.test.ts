import { describe, expect, it } from 'vitest';
import { bistable } from './cli-helpers.js';

const tiny = ['--batch', '3', '--hidden', '5', '--layers', '2', '--steps', '2', '--warmup', '1'];

describe('bistable bench', () => {
  it('times every cell × length on one backend against another, in one process', () => {
    const r = bistable(
      'bench',
      '--cell',
      'nbrc,GRU',
      '--seq-len',
      '4,7',
      '--backend',
      'cpu',
      '--compare',
      'reference',
      ...tiny,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.backend).toBe('cpu');
    expect(out.compare).toBe('reference');
    expect(out.threads).toBeGreaterThanOrEqual(1);
    expect([4, 6]).toContain(out.tileRows);
    expect(out.rows.map((x: { cell: string; seqLen: number }) => `${x.cell}/${x.seqLen}`)).toEqual([
      'nBRC/4',
      'nBRC/7',
      'GRU/4',
      'GRU/7',
    ]);
    for (const row of out.rows) {
      expect(row.result.backend).toBe('cpu');
      expect(row.compare.backend).toBe('reference');
      expect(row.result.train.samples).toHaveLength(2);
      // host backends count no device work
      expect(row.result.device).toBeUndefined();
      expect(row.trainSpeedup).toBeCloseTo(row.compare.train.median / row.result.train.median, 10);
    }
  });

  it('times several backends in one run, and says when, where and how it ran', () => {
    const r = bistable(
      'bench',
      '--cell',
      'GRU',
      '--seq-len',
      '3',
      '--backend',
      'cpu',
      '--compare',
      'reference,tfjs-cpu',
      ...tiny,
      '--no-inference',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.backends).toEqual(['cpu', 'reference', 'tfjs-cpu']);
    expect(out.compare).toBe('reference');
    expect(Date.parse(out.date)).toBeGreaterThan(Date.parse('2026-01-01'));
    expect(out.machine).toMatch(/cores, .* GiB, .*Node v\d+/);
    expect(out.command).toMatch(/^bistable bench --cell GRU .*--compare reference,tfjs-cpu/);
    expect(out.loadAverage).toHaveLength(3);
    expect(out.softwareDevices).toEqual({});
    const [row] = out.rows;
    expect(row.results.map((x: { backend: string }) => x.backend)).toEqual(['cpu', 'reference', 'tfjs-cpu']);
    expect(row.compare.backend).toBe('reference');
    const table = bistable(
      'bench',
      '--cell',
      'GRU',
      '--seq-len',
      '3',
      '--backend',
      'cpu',
      '--compare',
      'reference,tfjs-cpu',
      ...tiny,
    );
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/cpu train .*reference train .*speed-up .*tfjs-cpu train .*speed-up/);
    expect(table.stderr).toMatch(/on cpu, reference and tfjs-cpu, steps alternating/);
  });

  it('times an ensemble against its models one after another (--ensemble), in JSON and as a table', () => {
    const args = ['bench', '--cell', 'GRU', '--seq-len', '4', '--backend', 'cpu', '--ensemble', '3', ...tiny];
    const r = bistable(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ensemble).toBe(3);
    const [row] = out.rows;
    expect([row.result.members, row.result.together, row.compare.members, row.compare.together]).toEqual([
      3,
      true,
      3,
      false,
    ]);
    expect(row.result.train.samples).toHaveLength(2);
    expect(row.trainSpeedup).toBeCloseTo(row.compare.train.median / row.result.train.median, 10);
    const t = bistable(...args);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/ensemble of 3 +3 one after another +speed-up/);
    expect(t.stdout).toMatch(/^GRU +4 +\d/m);
    expect(t.stdout).toMatch(/this backend runs each model's sequence passes on its own/);
    const bad = bistable(...args, '--compare', 'reference');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ensemble times one backend.*leave out --compare/);
  });

  it('refuses a backend named twice', () => {
    const r = bistable('bench', ...tiny, '--backend', 'cpu', '--compare', 'reference,cpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backend 'cpu' is timed twice/);
  });

  it('prints a table with the speed-up column', () => {
    const r = bistable(
      'bench',
      '--cell',
      'BRC',
      '--seq-len',
      '3',
      '--backend',
      'cpu',
      '--compare',
      'reference',
      ...tiny,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cpu train .*reference train .*train speed-up/);
    expect(r.stdout).toMatch(/^backend: cpu \(\d+ threads?, (fused multiply-add, )?[46]×8 tile\)/m);
    expect(r.stdout).toMatch(/^BRC +3 +\d/m);
    expect(r.stderr).toMatch(/bench: BRC T=3 on cpu and reference, steps alternating/);
  });

  it('reports the micro-batch each size ran with, in JSON and under the table', () => {
    const args = ['bench', '--cell', 'GRU', '--seq-len', '3', '--backend', 'reference', ...tiny];
    const json = bistable(...args, '--micro-batch', '2', '--json');
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.microBatch).toBe(2);
    expect(out.rows[0].result).toMatchObject({ batch: 3, microBatch: 2, microBatches: 2 });
    const table = bistable(...args, '--micro-batch', '2');
    expect(table.stdout).toMatch(
      /micro-batches \(--micro-batch 2; .*\): GRU T=3 on reference: 2 passes of 2 rows/,
    );
    const whole = bistable(...args);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).not.toMatch(/micro-batches/);
  });

  it.each([
    [['--cell', 'RNN'], /unknown cell 'RNN'/],
    [['--seq-len', '10,x'], /--seq-len must be a positive integer, got 'x'/],
    [['--backend', 'nope'], /unknown backend 'nope'/],
    [['--dtype', 'float16'], /unknown dtype 'float16'/],
    [['--micro-batch', '0'], /--micro-batch must be a positive integer, got '0'/],
    [['--micro-batch', 'x'], /--micro-batch must be a positive integer, got 'x'/],
  ])('exits 2 with a one-line error for %j', (args, message) => {
    const r = bistable('bench', ...tiny, ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
