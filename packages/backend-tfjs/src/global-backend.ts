import * as tf from '@tensorflow/tfjs-core';
import { restoresTfjsBackend } from './global-policy.js';

/**
 * tfjs keeps one active backend per process, and it belongs to the user: a bistable tfjs backend
 * makes its own tfjs backend active while it works (every method starts with `activate()`), then
 * puts the user's back. The switch back is queued as one microtask per stretch of synchronous
 * work, so a training step's many kernel calls switch once and the user's next line of code, which
 * runs after that microtask, finds tfjs as it left it.
 */

/** tfjs-core 4.22's Engine fields read and written here (the public setBackend cannot unset). */
interface EngineFields {
  backendName: string | null;
  backendInstance: unknown;
}

const engine = () => tf.engine() as unknown as EngineFields;

let pending = false;
let saved: string | null = null;

/** The user's active tfjs backend (null when none was chosen yet), without initialising one. */
export function activeTfjsBackend(): string | null {
  return engine().backendName ?? null;
}

/** Makes `name` tfjs's active backend again; null: none chosen, tfjs picks its best on the next op. */
function restore(name: string | null): void {
  if (!restoresTfjsBackend() || engine().backendName === name) return;
  if (name === null) {
    engine().backendName = null;
    engine().backendInstance = null;
  } else {
    // initialised already, so this switches synchronously; the promise only carries failures
    tf.setBackend(name).catch(() => {});
  }
}

function putBack(): void {
  pending = false;
  restore(saved);
}

/**
 * Makes `tfName` (initialised already) the active tfjs backend until the current synchronous work
 * ends. An initialised backend switches synchronously; the promise only carries failures.
 */
export function switchTfjsBackend(tfName: string): void {
  const current = activeTfjsBackend();
  if (current === tfName) return;
  if (!pending) {
    pending = true;
    saved = current;
    queueMicrotask(putBack);
  }
  tf.setBackend(tfName).catch(() => {});
}

/**
 * Runs a backend's asynchronous start-up (which selects its tfjs backend) and puts the user's
 * active backend back afterwards.
 */
export async function startingTfjsBackend<T>(start: () => Promise<T>): Promise<T> {
  const before = activeTfjsBackend();
  try {
    return await start();
  } finally {
    restore(before);
  }
}
