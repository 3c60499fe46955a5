/**
 * How the demo shares the main thread with the page. `setTimeout(0)` after every step costs at
 * least 4 ms (browsers clamp nested timers), more than a whole step on the fast backends. Here
 * steps run back to back for a time slice, then the loop yields through a MessageChannel message:
 * a task that the browser queues with no clamp, so the page paints and answers clicks between
 * slices and the slices waste almost nothing.
 */

/** Resolves in a new task (after any pending paint and input), without the timer clamp. */
export function yieldToPage(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

export interface SliceOptions {
  /** Longest stretch of steps between two yields, in ms (a click waits at most this long). */
  sliceMs: number;
  /** Whether to go on: checked before every step. */
  keepGoing: () => boolean;
  /** Called once per slice, after its steps: refresh what the page shows. */
  afterSlice?: () => void;
}

/**
 * Runs `step` until `keepGoing` says stop, in slices of at most `sliceMs` (at least one step per
 * slice, however long a step takes), yielding to the page between slices.
 */
export async function runInSlices(step: () => Promise<void>, o: SliceOptions): Promise<SliceStats> {
  const stats: SliceStats = { slices: 0, stepMs: 0, afterSliceMs: 0, yieldMs: 0 };
  while (o.keepGoing()) {
    const t0 = performance.now();
    const end = t0 + o.sliceMs;
    do {
      await step();
    } while (o.keepGoing() && performance.now() < end);
    const t1 = performance.now();
    o.afterSlice?.();
    const t2 = performance.now();
    await yieldToPage();
    const t3 = performance.now();
    stats.slices++;
    stats.stepMs += t1 - t0;
    stats.afterSliceMs += t2 - t1;
    stats.yieldMs += t3 - t2;
  }
  return stats;
}

/** Where a run's wall time went: steps, the page's updates between slices, and the yields. */
export interface SliceStats {
  slices: number;
  stepMs: number;
  afterSliceMs: number;
  /** Time the page took between slices (painting, input, other tasks). */
  yieldMs: number;
}

/**
 * Steps per second over a trailing window of wall time: what the page shows while training.
 * `mark(steps)` records the step count now; `rate()` is the slope over the last `windowMs`.
 */
export class RateMeter {
  private readonly marks: { t: number; steps: number }[] = [];

  constructor(private readonly windowMs = 1000) {}

  mark(steps: number, t = performance.now()): void {
    this.marks.push({ t, steps });
    while (this.marks.length > 2 && t - this.marks[1].t >= this.windowMs) this.marks.shift();
  }

  /** Steps per second over the window; 0 before two marks. */
  rate(): number {
    if (this.marks.length < 2) return 0;
    const a = this.marks[0];
    const b = this.marks[this.marks.length - 1];
    return b.t > a.t ? ((b.steps - a.steps) * 1000) / (b.t - a.t) : 0;
  }

  reset(): void {
    this.marks.length = 0;
  }
}
