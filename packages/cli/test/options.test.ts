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
