/** 0: success; 1: the run worked but found a failure (a case out of tolerance); 2: bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error whose message is the whole story: printed as one line, then exit with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT_USAGE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
