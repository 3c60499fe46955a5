import { afterEach, describe, expect, it } from 'vitest';
import {
  commandLine,
  formatDuration,
  type Provenance,
  provenanceLines,
  setCommandLine,
} from '../src/studies/provenance.js';

const invocation = (over: Partial<Provenance['invocations'][number]> = {}) => ({
  command: 'bistable reproduce copy-first-input --preset paper',
  started: '2026-12-02T16:11:23.751Z',
  finished: '2026-12-02T17:11:23.751Z',
  seconds: 3600,
  machine: 'AMD EPYC, 2 cores, 24 GiB, Linux 6.1, Node v20.20.2',
  backend: 'cpu',
  workers: 1,
  outcome: 'finished' as const,
  ...over,
});
const provenance = (...invocations: Provenance['invocations']): Provenance => ({
  format: 'bistable-provenance',
  version: 1,
  invocations,
});

describe('the command line a study records', () => {
  const saved = process.env.BISTABLE_CPU_THREADS;
  afterEach(() => {
    if (saved === undefined) delete process.env.BISTABLE_CPU_THREADS;
    else process.env.BISTABLE_CPU_THREADS = saved;
  });

  it('quotes what a shell would split, and leads with the BISTABLE_* settings in force', () => {
    process.env.BISTABLE_CPU_THREADS = '1';
    setCommandLine(['reproduce', 'copy-first-input', '--out', "my results/it's", '--lengths', '5,100']);
    expect(commandLine()).toBe(
      "BISTABLE_CPU_THREADS=1 bistable reproduce copy-first-input --out 'my results/it'\\''s' --lengths 5,100",
    );
    delete process.env.BISTABLE_CPU_THREADS;
    expect(commandLine()).toMatch(/^bistable reproduce/);
  });
});

it('never records a Redis password given on the command line', () => {
  setCommandLine(['reproduce', 'binary-addition', '--queue', 'redis://:s3cr3t@10.0.0.5:6379/2']);
  expect(commandLine()).toMatch(/ --queue 'redis:\/\/:\*\*\*@10\.0\.0\.5:6379\/2'$/);
  setCommandLine(['worker', '--queue=rediss://user:p@ss:w0rd@host:6380']);
  expect(commandLine()).not.toContain('w0rd');
  expect(commandLine()).toContain('rediss://user:***@host:6380');
  setCommandLine(['reproduce', 'binary-addition', '--queue', 'redis://10.0.0.5:6379']);
  expect(commandLine()).toMatch(/ --queue redis:\/\/10\.0\.0\.5:6379$/);
});

describe('the provenance lines of a figure', () => {
  it('states date, machine, backend, wall time and the command of a single invocation', () => {
    expect(provenanceLines(provenance(invocation()))).toEqual([
      'run 2026-12-02 on AMD EPYC, 2 cores, 24 GiB, Linux 6.1, Node v20.20.2',
      'backend cpu · wall time 1 h 00 min',
      'bistable reproduce copy-first-input --preset paper',
    ]);
  });

  it('adds up resumed invocations across days and names the killed ones it could not time', () => {
    const lines = provenanceLines(
      provenance(
        invocation({ seconds: 600 }),
        invocation({
          started: '2026-12-03T09:00:00.000Z',
          seconds: null,
          finished: null,
          outcome: 'running',
        }),
        invocation({ started: '2026-12-04T09:00:00.000Z', seconds: 125, backend: 'tfjs-wasm' }),
      ),
    );
    expect(lines[0]).toBe(
      'run 2026-12-02 to 2026-12-04 on AMD EPYC, 2 cores, 24 GiB, Linux 6.1, Node v20.20.2',
    );
    expect(lines.slice(1)).toEqual([
      'backend cpu, tfjs-wasm · wall time 12 min 05 s over 3 invocations (1 not ended, not counted)',
      'bistable reproduce copy-first-input --preset paper',
    ]);
  });

  it('puts each machine of a study run on several on a line of its own', () => {
    const lines = provenanceLines(
      provenance(
        invocation({ machine: 'AMD EPYC, 2 cores, 24 GiB, Linux 6.18.44-fc-v1098, Node v20.20.2' }),
        invocation({ machine: 'AMD EPYC, 2 cores, 24 GiB, Linux 6.18.44-fc-v1272, Node v20.20.2' }),
      ),
    );
    expect(lines.slice(0, 3)).toEqual([
      'run 2026-12-02 on 2 machines:',
      'AMD EPYC, 2 cores, 24 GiB, Linux 6.18.44-fc-v1098, Node v20.20.2',
      'AMD EPYC, 2 cores, 24 GiB, Linux 6.18.44-fc-v1272, Node v20.20.2',
    ]);
  });

  it('breaks a long command at spaces into lines of at most 110 characters', () => {
    const command = `bistable reproduce copy-first-input ${'--cells nBRC,BRC,GRU,LSTM '.repeat(8)}--resume`;
    const lines = provenanceLines(provenance(invocation({ command }))).slice(2);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(110);
    expect(lines.join(' ')).toBe(command);
  });

  it('says so when a folder has no provenance', () => {
    expect(provenanceLines(null)[0]).toMatch(/not recorded/);
  });

  it('formats durations from seconds to hours', () => {
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(65)).toBe('1 min 05 s');
    expect(formatDuration(3 * 3600 + 7 * 60 + 40)).toBe('3 h 07 min');
    expect(formatDuration(Number.NaN)).toBe('-');
  });
});
