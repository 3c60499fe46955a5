import { BistableError } from '@bistable/core';
import { CommanderError } from 'commander';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { buildProgram } from './program.js';
import { setCommandLine } from './studies/provenance.js';

/** Runs the CLI; user errors are one line on stderr and exit 2, never a stack trace. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  setCommandLine(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (help, version, or a usage error)
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof CliError) {
      console.error(`bistable: ${err.message}`);
      return err.code;
    }
    if (err instanceof BistableError) {
      console.error(`bistable: ${err.message}`);
      return EXIT_USAGE;
    }
    console.error(`bistable: internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 70;
  }
}
