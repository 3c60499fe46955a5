import { InputError } from '../backend/errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import { readFileBytes, writeFileAtomic } from './atomic-write.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './format.js';
import type { CheckpointModel } from './model-config.js';
import { captureCheckpoint, restoreCheckpoint } from './state.js';

/**
 * Saves model parameters (and optimiser state, and `extra`) atomically to `path` (Node only).
 *
 * @example
 * ```ts
 * import { Adam, getBackend, SequenceModel, saveCheckpoint } from '@bistable/core';
 *
 * const backend = await getBackend('auto');
 * const model = new SequenceModel(backend, {
 *   cell: 'BRC', inputSize: 1, hiddenSize: 16, readout: 'last', loss: 'mse', seed: 1,
 * });
 * const adam = new Adam(backend, [model]);
 * // … train …
 * // one safetensors file: the parameters, Adam's moments and step, and any JSON you add
 * await saveCheckpoint('brc.safetensors', model, adam, { epoch: 3 });
 * ```
 */
export async function saveCheckpoint(
  path: string,
  model: CheckpointModel,
  optimizer?: Optimizer,
  extra?: Record<string, unknown>,
): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(await captureCheckpoint(model, optimizer, extra)));
}

/** Reads and verifies a checkpoint file without loading it into anything (Node only). */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const bytes = await readFileBytes(path, 'checkpoint file');
  try {
    return decodeCheckpoint(bytes);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`checkpoint '${path}': ${err.message}`);
    throw err;
  }
}

/**
 * Loads a checkpoint file into `model` (and `optimizer`), after checking that it was saved from a
 * model of the same configuration. Returns the checkpoint, for its `extra` and optimiser step.
 *
 * @example
 * ```ts
 * import { Adam, getBackend, loadCheckpoint, SequenceModel } from '@bistable/core';
 *
 * const backend = await getBackend('auto');
 * // a model of the same configuration (any seed) takes up exactly where the saved one stopped
 * const model = new SequenceModel(backend, {
 *   cell: 'BRC', inputSize: 1, hiddenSize: 16, readout: 'last', loss: 'mse', seed: 99,
 * });
 * const adam = new Adam(backend, [model]);
 * const saved = await loadCheckpoint('brc.safetensors', model, adam);
 * console.log(saved.extra, adam.stepCount); // { epoch: 3 } and the step it was saved at
 * ```
 */
export async function loadCheckpoint(
  path: string,
  model: CheckpointModel,
  optimizer?: Optimizer,
): Promise<Checkpoint> {
  const c = await readCheckpoint(path);
  await restoreCheckpoint(c, model, optimizer, `checkpoint '${path}'`);
  return c;
}
