import { BistableError } from '../backend/errors.js';
import type { History } from './history.js';

/**
 * Thrown by `fit` (and `evaluateData`) when their AbortSignal fires: between two steps, never in
 * the middle of one, so the model and optimiser are left at a step boundary.
 */
export class TrainingAborted extends BistableError {
  /** What the fit recorded up to the abort (absent from evaluateData). */
  history?: History;

  constructor(reason?: unknown) {
    super('training aborted');
    this.name = 'TrainingAborted';
    if (reason !== undefined) this.cause = reason;
  }
}

const YIELD_EVERY_MS = 100;
let lastYield = 0;
const macrotask: (f: () => void) => void =
  typeof setImmediate === 'function' ? (f) => setImmediate(f) : (f) => setTimeout(f, 0);

/**
 * Between two steps: lets the event loop run about every 100 ms, then throws TrainingAborted if
 * the signal fired. On a host backend every await of a step resolves as a microtask, so without
 * this a timer, Ctrl-C or a progress display would wait for the whole fit and the signal could
 * never fire in time.
 */
export async function betweenSteps(signal: AbortSignal | undefined): Promise<void> {
  const now = performance.now();
  if (now - lastYield >= YIELD_EVERY_MS) {
    lastYield = now;
    await new Promise<void>((resolve) => macrotask(resolve));
  }
  if (signal?.aborted) throw new TrainingAborted(signal.reason);
}
