/** Process memory where the platform reports it (Node); null elsewhere. */
export interface MemorySample {
  rss: number;
  arrayBuffers: number;
}

interface NodeProcess {
  memoryUsage(): { rss: number; arrayBuffers: number };
}

export function memorySample(): MemorySample | null {
  const proc = (globalThis as { process?: Partial<NodeProcess> }).process;
  if (typeof proc?.memoryUsage !== 'function') return null;
  const m = proc.memoryUsage();
  return { rss: m.rss, arrayBuffers: m.arrayBuffers };
}

/** Tracks the highest resident set size and array-buffer total seen since `start`. */
export class MemoryPeak {
  private readonly start = memorySample();
  private peak: MemorySample | null = this.start ? { ...this.start } : null;

  sample(): void {
    const m = memorySample();
    if (!m || !this.peak) return;
    this.peak.rss = Math.max(this.peak.rss, m.rss);
    this.peak.arrayBuffers = Math.max(this.peak.arrayBuffers, m.arrayBuffers);
  }

  /** Peak minus the value at construction, in bytes (null where unavailable). */
  deltas(): { rssDelta: number | null; arrayBuffersDelta: number | null; peakRss: number | null } {
    if (!this.start || !this.peak) return { rssDelta: null, arrayBuffersDelta: null, peakRss: null };
    return {
      rssDelta: this.peak.rss - this.start.rss,
      arrayBuffersDelta: this.peak.arrayBuffers - this.start.arrayBuffers,
      peakRss: this.peak.rss,
    };
  }
}
