import { type Backend, getBackend, probeBackend, registeredBackends } from '@bistable/core';

/** A backend the demo can offer, and what the browser must load before asking core for it. */
export interface BackendChoice {
  name: string;
  /** Where it runs, for the picker. */
  note: string;
  /** A reason it cannot run in this browser, found without loading anything; null when it may. */
  precheck?: () => string | null;
  /** Imports the package that registers the backend with core. */
  load?: () => Promise<unknown>;
}

export interface ChoiceStatus {
  name: string;
  note: string;
  available: boolean;
  /** Why it is disabled; empty when available. */
  reason: string;
  /** Where the backend's GPU is emulated on the CPU (SwiftShader, lavapipe): its name. */
  softwareDevice?: string;
}

const hasWebGpu = () =>
  typeof navigator !== 'undefined' && 'gpu' in navigator
    ? null
    : 'this browser has no WebGPU (navigator.gpu is missing)';

export const BROWSER_CHOICES: readonly BackendChoice[] = [
  { name: 'reference', note: 'plain TypeScript, from @bistable/core; runs everywhere' },
  { name: 'cpu', note: 'WebAssembly SIMD kernels, from @bistable/core' },
  {
    name: 'tfjs-webgpu',
    note: 'TensorFlow.js on WebGPU, from @bistable/backend-tfjs',
    precheck: hasWebGpu,
    load: () => import('@bistable/backend-tfjs'),
  },
  {
    name: 'tfjs-webgl',
    note: 'TensorFlow.js on WebGL, from @bistable/backend-tfjs',
    load: () => import('@bistable/backend-tfjs'),
  },
  {
    name: 'gpujs-cpu',
    note: 'GPU.js kernels compiled to JavaScript, from @bistable/backend-gpujs',
    load: () => import('@bistable/backend-gpujs'),
  },
  {
    name: 'tfjs-cpu',
    note: 'TensorFlow.js in plain JavaScript, from @bistable/backend-tfjs',
    load: () => import('@bistable/backend-tfjs'),
  },
];

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** Whether each choice runs in this browser: its package loads and core can initialise it. */
export async function probeChoices(
  choices: readonly BackendChoice[] = BROWSER_CHOICES,
): Promise<ChoiceStatus[]> {
  const out: ChoiceStatus[] = [];
  // one after the other: two tfjs backends initialising at once would race for tfjs's active backend
  for (const c of choices) {
    const base = { name: c.name, note: c.note };
    const pre = c.precheck?.() ?? null;
    if (pre) {
      out.push({ ...base, available: false, reason: pre });
      continue;
    }
    try {
      await c.load?.();
    } catch (err) {
      out.push({ ...base, available: false, reason: `its package failed to load: ${message(err)}` });
      continue;
    }
    const probe = await probeBackend(c.name);
    if (!probe.ok) {
      out.push({ ...base, available: false, reason: probe.reason });
      continue;
    }
    const soft = (await getBackend(c.name)).softwareDevice;
    out.push({ ...base, available: true, reason: '', ...(soft ? { softwareDevice: soft } : {}) });
  }
  return out;
}

/** The initialised backend of a choice that probed available. */
export function backendFor(name: string): Promise<Backend> {
  return getBackend(name);
}

/**
 * The choice core's `auto` would take among those available here: the highest priority, with
 * backends whose GPU is emulated on the CPU after all others. Priorities follow measured speed
 * (see the guide's "Choosing a backend"), so this is the fastest backend this browser offers.
 */
export function defaultChoice(statuses: readonly ChoiceStatus[]): string | null {
  const priority = new Map(registeredBackends().map((r) => [r.name, r.priority]));
  const ranked = statuses
    .filter((s) => s.available && (priority.get(s.name) ?? -1) >= 0)
    .sort(
      (a, b) =>
        Number(Boolean(a.softwareDevice)) - Number(Boolean(b.softwareDevice)) ||
        (priority.get(b.name) ?? 0) - (priority.get(a.name) ?? 0),
    );
  return ranked[0]?.name ?? null;
}
