/** Errors a user can act on. The CLI prints `message` alone, never a stack trace. */
export class BistableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BistableError';
  }
}

/** A named backend that cannot run here: says what is missing and how to get it. */
export class BackendUnavailableError extends BistableError {
  constructor(
    readonly backendName: string,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(`backend '${backendName}' is not available: ${reason}${hint ? ` (${hint})` : ''}`);
    this.name = 'BackendUnavailableError';
  }
}

/** Bad shapes, dtypes, NaN, unknown names: anything wrong with what the caller passed. */
export class InputError extends BistableError {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
