import { type BenchOptions, getBackend, probeBackend, type StepCounts, TrainingBench } from '@bistable/core';
import '../src/index.js';
import { WebgpuTfjsBackend } from '../src/webgpu/index.js';

/**
 * What the tfjs-webgpu test files share: whether a WebGPU adapter answers here (lavapipe in CI,
 * eval "$(bash scripts/lavapipe.sh)"), and the backend they run on. Files whose tests need the
 * adapter wrap them in describe.skipIf(!probe.ok).
 */
export const probe = await probeBackend('tfjs-webgpu');

/** Logs, where there is no adapter, that the tests named `what` are skipped and why. */
export function logSkip(what: string): void {
  if (!probe.ok) console.log(`[tfjs-webgpu] ${what} skipped: ${probe.reason}`);
}

let shared: WebgpuTfjsBackend | null = null;

/**
 * The registered tfjs-webgpu backend when it is the WGSL one, else a WGSL one of the same name:
 * one instance for the whole test file.
 */
export async function webgpuBackend(): Promise<WebgpuTfjsBackend> {
  if (!shared) {
    const reg = await getBackend('tfjs-webgpu');
    shared = reg instanceof WebgpuTfjsBackend ? reg : new WebgpuTfjsBackend();
  }
  return shared;
}

/**
 * The device work of two training steps of a TrainingBench of `size` on tfjs-webgpu, after a
 * first step that compiles (BenchResult.device's samples, one per step).
 */
export async function steadyStepCounts(size: BenchOptions): Promise<StepCounts[]> {
  const bench = new TrainingBench(await webgpuBackend(), size);
  try {
    await bench.step(false);
    await bench.step();
    await bench.step();
  } finally {
    bench.dispose();
  }
  return bench.stepCounts;
}
