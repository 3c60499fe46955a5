import { describe, expect, it } from 'vitest';
import { CliError, EXIT_USAGE } from '../src/exit-codes.js';
import { dtypeOption } from '../src/studies/options.js';

describe('dtypeOption', () => {
  it('accepts float32 and float64', () => {
    expect(dtypeOption('--dtype', 'float32')).toBe('float32');
    expect(dtypeOption('--dtype', 'float64')).toBe('float64');
  });

  it('refuses anything else with a usage error naming the flag and the value', () => {
    for (const bad of ['float16', 'Float32', '']) {
      let err: unknown;
      try {
        dtypeOption('--dtype', bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).code).toBe(EXIT_USAGE);
      expect((err as CliError).message).toBe(`--dtype: unknown dtype '${bad}'; expected float32 or float64`);
    }
  });
});

describe('reproduce: size options', () => {
  const base = {
    preset: 'quick',
    backend: 'auto',
    workers: '1',
    seed: '0',
    plot: false,
    queueName: 'bistable',
  };

  it("changes the preset's budget and data, keeping every other setting", async () => {
    const { studyFromOptions } = await import('../src/commands/reproduce.js');
    const { preset } = await import('@bistable/tasks');
    const study = studyFromOptions('copy-first-input', {
      ...base,
      samples: '2100',
      testSamples: '100',
      epochs: '3',
      threshold: '0.05',
      hidden: '16',
    });
    expect(study).toEqual({
      ...preset('copy-first-input', 'quick'),
      samples: 2100,
      testSamples: 100,
      maxEpochs: 3,
      threshold: 0.05,
      hidden: 16,
    });
    const ba = studyFromOptions('binary-addition', {
      ...base,
      trainLengths: '3..6',
      epochs: '2',
      samples: '300',
    });
    expect(ba).toMatchObject({ trainMin: 3, trainMax: 6, epochsPerLength: 2, trainSamples: 300 });
  });

  it("refuses the other task's settings and bad values, naming the flag", async () => {
    const { studyFromOptions } = await import('../src/commands/reproduce.js');
    expect(() => studyFromOptions('binary-addition', { ...base, threshold: '0.1' })).toThrow(
      '--threshold applies to copy-first-input only',
    );
    expect(() => studyFromOptions('copy-first-input', { ...base, trainLengths: '3..5' })).toThrow(
      '--train-lengths applies to binary-addition only',
    );
    expect(() => studyFromOptions('copy-first-input', { ...base, samples: '1e9.5' })).toThrow(
      "--samples must be a positive integer, got '1e9.5'",
    );
    expect(() => studyFromOptions('binary-addition', { ...base, trainLengths: '9..3' })).toThrow(
      '--train-lengths: 3 is below 9',
    );
  });
});
