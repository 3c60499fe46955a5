/**
 * Serialises every backend operation. Core's storage and GEMM calls are synchronous, but a
 * WebGPU kernel call resolves later; queueing all of them keeps their order on every mode with
 * one code path. A failed operation skips the rest of the queue until an awaited call (read,
 * sync, a step kernel) reports it, so the error surfaces once, where the caller is waiting.
 */
export class OpQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;

  constructor(private readonly label: string) {}

  /** Fire and forget: errors are kept for the next awaited call. */
  post(what: string, op: () => unknown): void {
    this.tail = this.tail.then(async () => {
      if (this.failure) return;
      try {
        await op();
      } catch (err) {
        this.failure = this.wrap(what, err);
      }
    });
  }

  /** Runs after everything queued before it; rejects with its own or an earlier failure. */
  call<T>(what: string, op: () => T | Promise<T>): Promise<T> {
    const p = this.tail.then(async () => {
      this.throwFailure();
      try {
        return await op();
      } catch (err) {
        throw this.wrap(what, err);
      }
    });
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Resolves once the queue is empty. */
  drain(): Promise<void> {
    return this.call('sync', () => undefined);
  }

  private throwFailure(): void {
    const f = this.failure;
    if (f) {
      this.failure = null;
      throw f;
    }
  }

  private wrap(what: string, err: unknown): Error {
    if (err instanceof Error && err.message.startsWith(`${this.label}:`)) return err;
    const msg = err instanceof Error ? err.message : String(err);
    const e = new Error(`${this.label}: ${what} failed: ${msg}`);
    if (err instanceof Error) e.cause = err;
    return e;
  }
}
